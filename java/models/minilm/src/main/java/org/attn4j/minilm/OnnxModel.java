package org.attn4j.minilm;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The parts of an ONNX {@code ModelProto} a fixed architecture needs: the graph's nodes (to find which
 * initializer feeds which MatMul) and its initializers, whose data stay slices of the model's segment.
 * Field numbers are onnx.proto's; everything else in the file is skipped.
 */
final class OnnxModel {
    static final int FLOAT = 1;
    static final int INT64 = 7;

    record Node(String name, String opType, List<String> inputs, List<String> outputs) {}

    /** An initializer: little-endian elements, possibly unaligned inside the file. */
    record Initializer(String name, int dataType, long[] dims, MemorySegment data) {
        long elementCount() {
            long n = 1;
            for (long d : dims) {
                n *= d;
            }
            return n;
        }
    }

    private final Map<String, Node> nodes = new HashMap<>();
    private final Map<String, Initializer> initializers = new HashMap<>();

    private OnnxModel() {}

    static OnnxModel read(MemorySegment file) {
        OnnxModel model = new OnnxModel();
        ProtoReader r = new ProtoReader(file);
        boolean graph = false;
        while (r.next()) {
            if (r.field() == 7) {          // ModelProto.graph
                model.readGraph(r.message());
                graph = true;
            } else {
                r.skip();
            }
        }
        if (!graph) {
            throw new IllegalStateException("ONNX file has no graph");
        }
        return model;
    }

    private void readGraph(ProtoReader r) {
        while (r.next()) {
            switch (r.field()) {
                case 1 -> {                 // GraphProto.node
                    Node n = readNode(r.message());
                    nodes.put(n.name(), n);
                }
                case 5 -> {                 // GraphProto.initializer
                    Initializer t = readTensor(r.message());
                    initializers.put(t.name(), t);
                }
                default -> r.skip();
            }
        }
    }

    private static Node readNode(ProtoReader r) {
        List<String> inputs = new ArrayList<>(), outputs = new ArrayList<>();
        String name = "", op = "";
        while (r.next()) {
            switch (r.field()) {
                case 1 -> inputs.add(r.string());
                case 2 -> outputs.add(r.string());
                case 3 -> name = r.string();
                case 4 -> op = r.string();
                default -> r.skip();
            }
        }
        return new Node(name, op, List.copyOf(inputs), List.copyOf(outputs));
    }

    private static Initializer readTensor(ProtoReader r) {
        List<Long> dims = new ArrayList<>();
        String name = "";
        int type = 0;
        MemorySegment data = null;
        boolean external = false;
        while (r.next()) {
            switch (r.field()) {
                case 1 -> {                 // dims: repeated int64, plain or packed
                    if (r.wireType() == ProtoReader.LEN) {
                        ProtoReader packed = r.message();
                        while (!packed.atEnd()) {
                            dims.add(packed.varint());
                        }
                    } else {
                        dims.add(r.varint());
                    }
                }
                case 2 -> type = (int) r.varint();
                // float_data (4) packed is the same little-endian bytes as raw_data (9)
                case 4, 9 -> data = r.bytes();
                case 8 -> name = r.string();
                case 14 -> external = r.varint() == 1;  // data_location EXTERNAL
                default -> r.skip();
            }
        }
        if (external) {
            throw new IllegalStateException("initializer " + name + " keeps its data in an external file; only inline weights are read");
        }
        long[] d = dims.stream().mapToLong(Long::longValue).toArray();
        return new Initializer(name, type, d, data == null ? MemorySegment.NULL : data);
    }

    Node node(String name) {
        Node n = nodes.get(name);
        if (n == null) {
            throw new IllegalStateException("ONNX graph has no node " + name);
        }
        return n;
    }

    Initializer initializer(String name) {
        Initializer t = initializers.get(name);
        if (t == null) {
            throw new IllegalStateException("ONNX graph has no initializer " + name);
        }
        return t;
    }

    /** The initializer feeding input {@code index} of node {@code nodeName}. */
    Initializer input(String nodeName, int index) {
        return initializer(node(nodeName).inputs().get(index));
    }

    int nodeCount() {
        return nodes.size();
    }
}
