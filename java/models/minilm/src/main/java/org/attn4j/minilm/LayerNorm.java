package org.attn4j.minilm;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;

/**
 * {@code x = LayerNorm(residual + x) * gamma + beta} over rows of {@link Weights#HIDDEN} floats, in
 * place, as the graph writes it: mean, then the mean of squared deviations, divided by
 * {@code sqrt(var + 1e-12)}.
 */
final class LayerNorm {
    static final float EPS = 1e-12f;
    private static final int H = Weights.HIDDEN;
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    private LayerNorm() {}

    /** One row: {@code x} at byte offset {@code xAt}; {@code residual} at {@code rAt}, or null for none. */
    static void row(MemorySegment x, long xAt, MemorySegment residual, long rAt, MemorySegment gamma, MemorySegment beta) {
        var s = Gemm.S;
        int l = Gemm.L;
        FloatVector sum = FloatVector.zero(s);
        for (int i = 0; i < H; i += l) {
            FloatVector v = FloatVector.fromMemorySegment(s, x, xAt + i * 4L, LE);
            if (residual != null) {
                v = v.add(FloatVector.fromMemorySegment(s, residual, rAt + i * 4L, LE));
                v.intoMemorySegment(x, xAt + i * 4L, LE);
            }
            sum = sum.add(v);
        }
        float mean = laneSum(sum) / H;
        FloatVector squares = FloatVector.zero(s);
        for (int i = 0; i < H; i += l) {
            FloatVector d = FloatVector.fromMemorySegment(s, x, xAt + i * 4L, LE).sub(mean);
            squares = d.fma(d, squares);
        }
        float std = (float) Math.sqrt(laneSum(squares) / H + EPS);
        for (int i = 0; i < H; i += l) {
            FloatVector d = FloatVector.fromMemorySegment(s, x, xAt + i * 4L, LE).sub(mean).div(std);
            FloatVector g = FloatVector.fromMemorySegment(s, gamma, i * 4L, LE);
            FloatVector b = FloatVector.fromMemorySegment(s, beta, i * 4L, LE);
            d.fma(g, b).intoMemorySegment(x, xAt + i * 4L, LE);
        }
    }

    /**
     * The lanes added in order. reduceLanes may add in another order when compiled than when interpreted,
     * and a row's result must not depend on the JIT's state (nor on the rest of the batch).
     */
    private static float laneSum(FloatVector v) {
        float s = 0;
        for (int i = 0; i < v.length(); i++) {
            s += v.lane(i);
        }
        return s;
    }
}
