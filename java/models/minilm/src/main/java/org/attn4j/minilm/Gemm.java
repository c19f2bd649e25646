package org.attn4j.minilm;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@code C[r, :] = A[r, :] W + bias} for a list of rows given by their offsets: the rows of a padded
 * batch that hold tokens (so padding costs no multiplication), or the rows of a small scratch buffer.
 * Written with the Vector API: a 6 x {@link #NR} register block (12 accumulators) over weights
 * pre-packed in panels ({@link PackedMatrix}).
 */
final class Gemm {
    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    static final int L = S.length();
    /** Panel width: two vectors. */
    static final int NR = 2 * L;
    static final int MR = 6;
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT;

    private Gemm() {}

    /**
     * For {@code j < count}: the row of {@code w.k} floats at element offset {@code aRow[aFrom + j]} of
     * {@code a}, times {@code w}, plus its bias, into the {@code w.n} floats at {@code cRow[cFrom + j]} of
     * {@code c}. Rows go through in groups whose part of A stays in L2 while every panel passes over it.
     */
    static void multiply(MemorySegment a, long[] aRow, int aFrom, MemorySegment c, long[] cRow, int cFrom, int count,
            PackedMatrix w) {
        int group = Math.max(MR, (96 * 384 / w.k) / MR * MR);
        long[] aAt = new long[MR], cAt = new long[MR];
        for (int g = 0; g < count; g += group) {
            int gEnd = Math.min(count, g + group);
            for (int p = 0; p < w.n / NR; p++) {
                long panel = (long) p * w.k * NR * Float.BYTES;
                int col = p * NR;
                for (int j = g; j < gEnd; j += MR) {
                    // a last block of fewer rows repeats its last row: one pass over the panel, and every
                    // row's arithmetic the same wherever it falls
                    int rows = Math.min(MR, gEnd - j);
                    for (int r = 0; r < MR; r++) {
                        int src = j + Math.min(r, rows - 1);
                        aAt[r] = aRow[aFrom + src] * 4;
                        cAt[r] = cRow[cFrom + src] + col;
                    }
                    block(a, aAt, w, panel, c, cAt, rows, col);
                }
            }
        }
    }

    /** Six rows (byte offsets {@code aAt}) times one panel; the first {@code rows} stored at {@code cAt}. */
    private static void block(MemorySegment a, long[] aAt, PackedMatrix w, long panel, MemorySegment c, long[] cAt, int rows,
            int col) {
        MemorySegment b = w.panels;
        long a0 = aAt[0], a1 = aAt[1], a2 = aAt[2], a3 = aAt[3], a4 = aAt[4], a5 = aAt[5];
        FloatVector c00 = FloatVector.zero(S), c01 = FloatVector.zero(S), c10 = FloatVector.zero(S), c11 = FloatVector.zero(S);
        FloatVector c20 = FloatVector.zero(S), c21 = FloatVector.zero(S), c30 = FloatVector.zero(S), c31 = FloatVector.zero(S);
        FloatVector c40 = FloatVector.zero(S), c41 = FloatVector.zero(S), c50 = FloatVector.zero(S), c51 = FloatVector.zero(S);
        long bp = panel;
        for (int k = 0; k < w.k; k++, bp += NR * 4) {
            FloatVector b0 = FloatVector.fromMemorySegment(S, b, bp, LE);
            FloatVector b1 = FloatVector.fromMemorySegment(S, b, bp + L * 4, LE);
            long ak = (long) k * 4;
            FloatVector x = FloatVector.broadcast(S, a.get(F, a0 + ak));
            c00 = x.fma(b0, c00);
            c01 = x.fma(b1, c01);
            x = FloatVector.broadcast(S, a.get(F, a1 + ak));
            c10 = x.fma(b0, c10);
            c11 = x.fma(b1, c11);
            x = FloatVector.broadcast(S, a.get(F, a2 + ak));
            c20 = x.fma(b0, c20);
            c21 = x.fma(b1, c21);
            x = FloatVector.broadcast(S, a.get(F, a3 + ak));
            c30 = x.fma(b0, c30);
            c31 = x.fma(b1, c31);
            x = FloatVector.broadcast(S, a.get(F, a4 + ak));
            c40 = x.fma(b0, c40);
            c41 = x.fma(b1, c41);
            x = FloatVector.broadcast(S, a.get(F, a5 + ak));
            c50 = x.fma(b0, c50);
            c51 = x.fma(b1, c51);
        }
        FloatVector bias0 = FloatVector.fromMemorySegment(S, w.bias, (long) col * 4, LE);
        FloatVector bias1 = FloatVector.fromMemorySegment(S, w.bias, (long) (col + L) * 4, LE);
        store(c, cAt[0], c00.add(bias0), c01.add(bias1));
        if (rows > 1) {
            store(c, cAt[1], c10.add(bias0), c11.add(bias1));
        }
        if (rows > 2) {
            store(c, cAt[2], c20.add(bias0), c21.add(bias1));
        }
        if (rows > 3) {
            store(c, cAt[3], c30.add(bias0), c31.add(bias1));
        }
        if (rows > 4) {
            store(c, cAt[4], c40.add(bias0), c41.add(bias1));
        }
        if (rows > 5) {
            store(c, cAt[5], c50.add(bias0), c51.add(bias1));
        }
    }

    private static void store(MemorySegment c, long at, FloatVector v0, FloatVector v1) {
        v0.intoMemorySegment(c, at * 4, LE);
        v1.intoMemorySegment(c, (at + L) * 4, LE);
    }
}
