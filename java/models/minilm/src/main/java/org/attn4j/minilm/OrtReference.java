package org.attn4j.minilm;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.LongBuffer;
import java.nio.file.Files;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * ONNX Runtime on the same ONNX file and the same token ids, padded as ORT wants them: the reference
 * for parity (tests, {@code --check}) and the baseline for speed ({@code --bench}), with its best CPU
 * settings (intra-op threads as asked, graph optimizations ALL, sequential execution, arena allocator,
 * memory patterns). With {@code taps}, the session also returns those intermediate values, added to the
 * graph's outputs. Only this class touches ONNX Runtime, a {@code provided} dependency.
 */
final class OrtReference implements AutoCloseable {
    private final OrtEnvironment env = OrtEnvironment.getEnvironment();
    private final OrtSession session;

    OrtReference(int threads, List<String> taps) throws IOException, OrtException {
        byte[] model = Files.readAllBytes(ModelFiles.onnxFile());
        if (!taps.isEmpty()) {
            model = withOutputs(model, taps);
        }
        OrtSession.SessionOptions options = new OrtSession.SessionOptions();
        options.setIntraOpNumThreads(threads);
        options.setInterOpNumThreads(1);
        options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
        options.setExecutionMode(OrtSession.SessionOptions.ExecutionMode.SEQUENTIAL);
        options.setCPUArenaAllocator(true);
        options.setMemoryPatternOptimization(true);
        session = env.createSession(model, options);
    }

    OrtReference(int threads) throws IOException, OrtException {
        this(threads, List.of());
    }

    /** Every output by name: last_hidden_state and any taps, each {@code [batch, seq, 384]}. */
    Map<String, float[][][]> run(Batch batch) throws OrtException {
        long[][] ids = batch.paddedIds();
        long[][] mask = batch.attentionMask();
        long[] shape = {batch.size(), batch.paddedLength()};
        try (OnnxTensor idsT = OnnxTensor.createTensor(env, flat(ids), shape);
                OnnxTensor maskT = OnnxTensor.createTensor(env, flat(mask), shape);
                OnnxTensor typesT = OnnxTensor.createTensor(env, LongBuffer.allocate(batch.paddedTokens()), shape);
                OrtSession.Result result = session.run(Map.of("input_ids", idsT, "attention_mask", maskT, "token_type_ids", typesT))) {
            Map<String, float[][][]> out = new HashMap<>();
            result.forEach(e -> {
                try {
                    out.put(e.getKey(), (float[][][]) e.getValue().getValue());
                } catch (OrtException ex) {
                    throw new IllegalStateException(ex);
                }
            });
            return out;
        }
    }

    /** sentence-transformers' pooling of ORT's last hidden state, in double: masked mean, then L2 normalized. */
    float[][] embed(Batch batch) throws OrtException {
        float[][][] h = run(batch).get("last_hidden_state");
        float[][] out = new float[batch.size()][];
        for (int b = 0; b < batch.size(); b++) {
            double[] sum = new double[MiniLm.DIMENSION];
            for (int i = 0; i < batch.length(b); i++) {
                for (int c = 0; c < sum.length; c++) {
                    sum[c] += h[b][i][c];
                }
            }
            double norm = 0;
            for (int c = 0; c < sum.length; c++) {
                sum[c] /= batch.length(b);
                norm += sum[c] * sum[c];
            }
            norm = Math.max(Math.sqrt(norm), 1e-12);
            out[b] = new float[sum.length];
            for (int c = 0; c < sum.length; c++) {
                out[b][c] = (float) (sum[c] / norm);
            }
        }
        return out;
    }

    String version() {
        return env.getVersion();
    }

    private static LongBuffer flat(long[][] rows) {
        LongBuffer b = LongBuffer.allocate(rows.length * rows[0].length);
        for (long[] r : rows) {
            b.put(r);
        }
        return b.flip();
    }

    /**
     * The model with more graph outputs: protobuf merges a repeated embedded message field, so a second
     * {@code graph} field holding only {@code output} entries (ValueInfoProto: name, fp32 tensor type)
     * appends them to the graph's outputs.
     */
    static byte[] withOutputs(byte[] model, List<String> names) {
        ByteArrayOutputStream graph = new ByteArrayOutputStream();
        for (String name : names) {
            byte[] nameBytes = name.getBytes(java.nio.charset.StandardCharsets.UTF_8);
            byte[] tensorType = {0x08, 0x01};                       // TypeProto.Tensor.elem_type = FLOAT
            byte[] type = concat(new byte[] {0x0a}, varint(tensorType.length), tensorType);   // TypeProto.tensor_type
            byte[] info = concat(new byte[] {0x0a}, varint(nameBytes.length), nameBytes,     // ValueInfoProto.name
                    new byte[] {0x12}, varint(type.length), type);                         // ValueInfoProto.type
            graph.writeBytes(concat(new byte[] {0x62}, varint(info.length), info));        // GraphProto.output (12)
        }
        byte[] g = graph.toByteArray();
        return concat(model, new byte[] {0x3a}, varint(g.length), g);                      // ModelProto.graph (7)
    }

    private static byte[] varint(long v) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        while ((v & ~0x7fL) != 0) {
            out.write((int) ((v & 0x7f) | 0x80));
            v >>>= 7;
        }
        out.write((int) v);
        return out.toByteArray();
    }

    private static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }

    @Override
    public void close() throws OrtException {
        session.close();
    }
}
