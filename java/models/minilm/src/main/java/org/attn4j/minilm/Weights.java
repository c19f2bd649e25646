package org.attn4j.minilm;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * all-MiniLM-L6-v2's parameters, read from its ONNX graph. The embedding tables stay slices of the
 * mapped file (zero copy); the projections are repacked for {@link Gemm} (query, key and value side by
 * side), the layer-norm vectors copied aligned. The graph names its MatMul weights {@code onnx::MatMul_N},
 * so each is found through the node that consumes it.
 */
final class Weights {
    static final int HIDDEN = 384;
    static final int HEADS = 12;
    static final int HEAD_DIM = 32;
    static final int FFN = 1536;
    static final int LAYERS = 6;
    static final int VOCAB = 30522;
    static final int POSITIONS = 512;

    record Layer(PackedMatrix qkv, PackedMatrix out, MemorySegment ln1Gamma, MemorySegment ln1Beta,
            PackedMatrix ffn1, PackedMatrix ffn2, MemorySegment ln2Gamma, MemorySegment ln2Beta) {}

    final MemorySegment wordEmbeddings;      // [VOCAB, HIDDEN], unaligned slice of the file
    final MemorySegment positionEmbeddings;  // [POSITIONS, HIDDEN]
    final MemorySegment tokenTypeEmbedding;  // [HIDDEN]: type 0, the only one a single sentence uses
    final MemorySegment embGamma;
    final MemorySegment embBeta;
    final Layer[] layers = new Layer[LAYERS];

    Weights(OnnxModel m, Arena arena) {
        wordEmbeddings = floats(m.initializer("embeddings.word_embeddings.weight"), VOCAB, HIDDEN);
        positionEmbeddings = copy(arena, floats(m.initializer("embeddings.position_embeddings.weight"), POSITIONS, HIDDEN));
        tokenTypeEmbedding = copy(arena, floats(m.initializer("embeddings.token_type_embeddings.weight"), 2, HIDDEN)
                .asSlice(0, HIDDEN * 4L));
        embGamma = vector(m, arena, "embeddings.LayerNorm.weight");
        embBeta = vector(m, arena, "embeddings.LayerNorm.bias");
        for (int l = 0; l < LAYERS; l++) {
            String node = "/encoder/layer." + l + "/";
            String param = "encoder.layer." + l + ".";
            PackedMatrix qkv = PackedMatrix.packColumns(arena,
                    new MemorySegment[] {
                        matmul(m, node + "attention/self/query/MatMul", HIDDEN, HIDDEN),
                        matmul(m, node + "attention/self/key/MatMul", HIDDEN, HIDDEN),
                        matmul(m, node + "attention/self/value/MatMul", HIDDEN, HIDDEN)},
                    new int[] {HIDDEN, HIDDEN, HIDDEN},
                    new MemorySegment[] {
                        bias(m, param + "attention.self.query.bias", HIDDEN),
                        bias(m, param + "attention.self.key.bias", HIDDEN),
                        bias(m, param + "attention.self.value.bias", HIDDEN)},
                    HIDDEN);
            PackedMatrix out = PackedMatrix.pack(arena, matmul(m, node + "attention/output/dense/MatMul", HIDDEN, HIDDEN),
                    bias(m, param + "attention.output.dense.bias", HIDDEN), HIDDEN, HIDDEN);
            PackedMatrix ffn1 = PackedMatrix.pack(arena, matmul(m, node + "intermediate/dense/MatMul", HIDDEN, FFN),
                    bias(m, param + "intermediate.dense.bias", FFN), HIDDEN, FFN);
            PackedMatrix ffn2 = PackedMatrix.pack(arena, matmul(m, node + "output/dense/MatMul", FFN, HIDDEN),
                    bias(m, param + "output.dense.bias", HIDDEN), FFN, HIDDEN);
            layers[l] = new Layer(qkv, out,
                    vector(m, arena, param + "attention.output.LayerNorm.weight"),
                    vector(m, arena, param + "attention.output.LayerNorm.bias"),
                    ffn1, ffn2,
                    vector(m, arena, param + "output.LayerNorm.weight"),
                    vector(m, arena, param + "output.LayerNorm.bias"));
        }
    }

    private static MemorySegment matmul(OnnxModel m, String node, int k, int n) {
        return floats(m.input(node, 1), k, n);
    }

    private static MemorySegment bias(OnnxModel m, String name, int n) {
        return floats(m.initializer(name), n);
    }

    private static MemorySegment vector(OnnxModel m, Arena arena, String name) {
        return copy(arena, floats(m.initializer(name), HIDDEN));
    }

    /** The initializer's data, checked to be fp32 of exactly this shape. */
    private static MemorySegment floats(OnnxModel.Initializer t, long... shape) {
        if (t.dataType() != OnnxModel.FLOAT || !Arrays.equals(t.dims(), shape)) {
            throw new IllegalStateException("initializer " + t.name() + " is type " + t.dataType() + " " + Arrays.toString(t.dims())
                    + ", expected fp32 " + Arrays.toString(shape));
        }
        if (t.data().byteSize() != t.elementCount() * Float.BYTES) {
            throw new IllegalStateException("initializer " + t.name() + " holds " + t.data().byteSize() + " bytes, expected "
                    + t.elementCount() * Float.BYTES);
        }
        return t.data();
    }

    private static MemorySegment copy(Arena arena, MemorySegment src) {
        MemorySegment dst = arena.allocate(src.byteSize(), 64);
        dst.copyFrom(src);
        return dst;
    }
}
