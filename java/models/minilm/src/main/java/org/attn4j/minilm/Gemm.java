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
        for (int g = 0; g < count; g += group) {
            int gEnd = Math.min(count, g + group);
            for (int p = 0; p < w.n / NR; p++) {
                long panel = (long) p * w.k * NR * Float.BYTES;
                int col = p * NR;
                int j = g;
                for (; j + MR <= gEnd; j += MR) {
                    block6(a, aRow, aFrom + j, w, panel, c, cRow, cFrom + j, col);
                }
                for (; j < gEnd; j++) {
                    block1(a, aRow[aFrom + j], w, panel, c, cRow[cFrom + j] + col, col);
                }
            }
        }
    }

    private static void block6(MemorySegment a, long[] aRow, int i, PackedMatrix w, long panel,
            MemorySegment c, long[] cRow, int ci, int col) {
        MemorySegment b = w.panels;
        long a0 = aRow[i] * 4, a1 = aRow[i + 1] * 4, a2 = aRow[i + 2] * 4;
        long a3 = aRow[i + 3] * 4, a4 = aRow[i + 4] * 4, a5 = aRow[i + 5] * 4;
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
        store(c, cRow[ci] + col, c00.add(bias0), c01.add(bias1));
        store(c, cRow[ci + 1] + col, c10.add(bias0), c11.add(bias1));
        store(c, cRow[ci + 2] + col, c20.add(bias0), c21.add(bias1));
        store(c, cRow[ci + 3] + col, c30.add(bias0), c31.add(bias1));
        store(c, cRow[ci + 4] + col, c40.add(bias0), c41.add(bias1));
        store(c, cRow[ci + 5] + col, c50.add(bias0), c51.add(bias1));
    }

    private static void block1(MemorySegment a, long aRow, PackedMatrix w, long panel, MemorySegment c, long cAt, int biasCol) {
        MemorySegment b = w.panels;
        FloatVector c0 = FloatVector.zero(S), c1 = FloatVector.zero(S);
        long bp = panel;
        long a0 = aRow * 4;
        for (int k = 0; k < w.k; k++, bp += NR * 4) {
            FloatVector x = FloatVector.broadcast(S, a.get(F, a0 + (long) k * 4));
            c0 = x.fma(FloatVector.fromMemorySegment(S, b, bp, LE), c0);
            c1 = x.fma(FloatVector.fromMemorySegment(S, b, bp + L * 4, LE), c1);
        }
        store(c, cAt, c0.add(FloatVector.fromMemorySegment(S, w.bias, (long) biasCol * 4, LE)),
                c1.add(FloatVector.fromMemorySegment(S, w.bias, (long) (biasCol + L) * 4, LE)));
    }

    private static void store(MemorySegment c, long at, FloatVector v0, FloatVector v1) {
        v0.intoMemorySegment(c, at * 4, LE);
        v1.intoMemorySegment(c, (at + L) * 4, LE);
    }
}
