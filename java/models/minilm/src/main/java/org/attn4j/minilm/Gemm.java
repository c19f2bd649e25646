package org.attn4j.minilm;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@code C[r, :] = A[r, :] W + bias} for a list of rows given by their offsets: the rows of a padded
 * batch that hold tokens (so padding costs no multiplication), or the rows of a small scratch buffer.
 * Written with the Vector API: a 4 x {@link #NR} register block (16 accumulators, four panel loads and
 * four broadcasts per step of k) over weights pre-packed in panels ({@link PackedMatrix}); 6 x 32 ran
 * 20% slower at K = 384 and no faster at K = 1536.
 */
final class Gemm {
    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    static final int L = S.length();
    /** Panel width: four vectors. */
    static final int NR = 4 * L;
    static final int MR = 4;
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;   // no alignment test per load

    private Gemm() {}

    /**
     * For {@code j < count}: the row of {@code w.k} floats at element offset {@code aRow[aFrom + j]} of
     * {@code a}, times {@code w}, plus its bias, into the {@code w.n} floats at {@code cRow[cFrom + j]} of
     * {@code c}. Rows go through in groups whose part of A stays in L2 while every panel passes over it.
     */
    static void multiply(MemorySegment a, long[] aRow, int aFrom, MemorySegment c, long[] cRow, int cFrom, int count,
            PackedMatrix w) {
        multiply(a, aRow, aFrom, c, cRow, cFrom, count, w, 0, w.n / NR);
    }

    /** The same for the output columns of panels {@code [p0, p1)} only (a thread's share of the columns). */
    static void multiply(MemorySegment a, long[] aRow, int aFrom, MemorySegment c, long[] cRow, int cFrom, int count,
            PackedMatrix w, int p0, int p1) {
        int group = Math.max(MR, (96 * 384 / w.k) / MR * MR);   // A's part of a group stays in L2
        long[] aAt = new long[MR], cAt = new long[MR];
        for (int g = 0; g < count; g += group) {
            int gEnd = Math.min(count, g + group);
            for (int p = p0; p < p1; p++) {
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

    /** {@link #MR} rows (byte offsets {@code aAt}) times one panel; the first {@code rows} stored at {@code cAt}. */
    private static void block(MemorySegment a, long[] aAt, PackedMatrix w, long panel, MemorySegment c, long[] cAt, int rows,
            int col) {
        MemorySegment b = w.panels;
        long a0 = aAt[0], a1 = aAt[1], a2 = aAt[2], a3 = aAt[3];
        FloatVector z = FloatVector.zero(S);
        FloatVector c00 = z, c01 = z, c02 = z, c03 = z, c10 = z, c11 = z, c12 = z, c13 = z;
        FloatVector c20 = z, c21 = z, c22 = z, c23 = z, c30 = z, c31 = z, c32 = z, c33 = z;
        long bp = panel;
        for (int k = 0; k < w.k; k++, bp += NR * 4) {
            FloatVector b0 = FloatVector.fromMemorySegment(S, b, bp, LE);
            FloatVector b1 = FloatVector.fromMemorySegment(S, b, bp + L * 4, LE);
            FloatVector b2 = FloatVector.fromMemorySegment(S, b, bp + 2 * L * 4, LE);
            FloatVector b3 = FloatVector.fromMemorySegment(S, b, bp + 3 * L * 4, LE);
            long ak = (long) k * 4;
            FloatVector x = FloatVector.broadcast(S, a.get(F, a0 + ak));
            c00 = x.fma(b0, c00);
            c01 = x.fma(b1, c01);
            c02 = x.fma(b2, c02);
            c03 = x.fma(b3, c03);
            x = FloatVector.broadcast(S, a.get(F, a1 + ak));
            c10 = x.fma(b0, c10);
            c11 = x.fma(b1, c11);
            c12 = x.fma(b2, c12);
            c13 = x.fma(b3, c13);
            x = FloatVector.broadcast(S, a.get(F, a2 + ak));
            c20 = x.fma(b0, c20);
            c21 = x.fma(b1, c21);
            c22 = x.fma(b2, c22);
            c23 = x.fma(b3, c23);
            x = FloatVector.broadcast(S, a.get(F, a3 + ak));
            c30 = x.fma(b0, c30);
            c31 = x.fma(b1, c31);
            c32 = x.fma(b2, c32);
            c33 = x.fma(b3, c33);
        }
        MemorySegment bias = w.bias;
        long bb = (long) col * 4;
        FloatVector bias0 = FloatVector.fromMemorySegment(S, bias, bb, LE);
        FloatVector bias1 = FloatVector.fromMemorySegment(S, bias, bb + L * 4, LE);
        FloatVector bias2 = FloatVector.fromMemorySegment(S, bias, bb + 2 * L * 4, LE);
        FloatVector bias3 = FloatVector.fromMemorySegment(S, bias, bb + 3 * L * 4, LE);
        store(c, cAt[0], c00.add(bias0), c01.add(bias1), c02.add(bias2), c03.add(bias3));
        if (rows > 1) {
            store(c, cAt[1], c10.add(bias0), c11.add(bias1), c12.add(bias2), c13.add(bias3));
        }
        if (rows > 2) {
            store(c, cAt[2], c20.add(bias0), c21.add(bias1), c22.add(bias2), c23.add(bias3));
        }
        if (rows > 3) {
            store(c, cAt[3], c30.add(bias0), c31.add(bias1), c32.add(bias2), c33.add(bias3));
        }
    }

    private static void store(MemorySegment c, long at, FloatVector v0, FloatVector v1, FloatVector v2, FloatVector v3) {
        v0.intoMemorySegment(c, at * 4, LE);
        v1.intoMemorySegment(c, (at + L) * 4, LE);
        v2.intoMemorySegment(c, (at + 2 * L) * 4, LE);
        v3.intoMemorySegment(c, (at + 3 * L) * 4, LE);
    }
}
