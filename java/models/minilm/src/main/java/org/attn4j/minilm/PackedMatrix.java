package org.attn4j.minilm;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * A {@code [K, N]} weight matrix repacked once for {@link Gemm}: column panels of {@link Gemm#NR}
 * floats, each panel {@code K} rows of {@code NR} contiguous floats, so the kernel streams one panel
 * with aligned full-vector loads. Bias kept beside it.
 */
final class PackedMatrix {
    final int k;
    final int n;
    final MemorySegment panels;   // [N / NR][K][NR] floats, 64-byte aligned
    final MemorySegment bias;     // [N] floats

    private PackedMatrix(int k, int n, MemorySegment panels, MemorySegment bias) {
        this.k = k;
        this.n = n;
        this.panels = panels;
        this.bias = bias;
    }

    /**
     * Packs row-major {@code [K, N]} little-endian floats starting at {@code weights} (any alignment), with
     * {@code bias} of {@code N} floats.
     */
    static PackedMatrix pack(Arena arena, MemorySegment weights, MemorySegment bias, int k, int n) {
        return packColumns(arena, new MemorySegment[] {weights}, new int[] {n}, new MemorySegment[] {bias}, k);
    }

    /**
     * Packs matrices of the same {@code K} side by side, {@code [K, n0 | n1 | ...]}: one product computes
     * several projections of the same input (query, key and value).
     */
    static PackedMatrix packColumns(Arena arena, MemorySegment[] weights, int[] widths, MemorySegment[] biases, int k) {
        int n = 0;
        for (int w : widths) {
            n += w;
        }
        if (n % Gemm.NR != 0) {
            throw new IllegalArgumentException("N = " + n + " must be a multiple of " + Gemm.NR);
        }
        MemorySegment panels = arena.allocate((long) k * n * Float.BYTES, 64);
        MemorySegment bias = arena.allocate((long) n * Float.BYTES, 64);
        int col0 = 0;
        for (int m = 0; m < weights.length; m++) {
            int w = widths[m];
            for (int kk = 0; kk < k; kk++) {
                for (int j = 0; j < w; j++) {
                    float x = weights[m].getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, (long) kk * w + j);
                    int col = col0 + j;
                    long at = ((long) (col / Gemm.NR) * k + kk) * Gemm.NR + col % Gemm.NR;
                    panels.setAtIndex(ValueLayout.JAVA_FLOAT, at, x);
                }
            }
            MemorySegment.copy(biases[m], 0, bias, (long) col0 * Float.BYTES, (long) w * Float.BYTES);
            col0 += w;
        }
        return new PackedMatrix(k, n, panels, bias);
    }
}
