package org.attn4j.minilm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The projection kernel against a double-precision product, on scattered rows and counts that are not whole register blocks. */
class GemmTest {
    @Test
    void scatteredRowsAgainstDouble() {
        int k = 96, n1 = 2 * Gemm.NR, n2 = Gemm.NR, n = n1 + n2, rows = 29, stride = 3;
        SplittableRandom r = new SplittableRandom(3);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment w1 = random(arena, k * n1, r), w2 = random(arena, k * n2, r);
            MemorySegment b1 = random(arena, n1, r), b2 = random(arena, n2, r);
            PackedMatrix w = PackedMatrix.packColumns(arena, new MemorySegment[] {w1, w2}, new int[] {n1, n2},
                    new MemorySegment[] {b1, b2}, k);
            // A's rows every third row of a bigger matrix (padding between), C's rows dense
            MemorySegment a = random(arena, rows * stride * k, r);
            MemorySegment c = arena.allocate((long) rows * n * 4);
            c.fill((byte) 0x7f);  // poison: every element must be written
            long[] aRow = new long[rows], cRow = new long[rows];
            for (int i = 0; i < rows; i++) {
                aRow[i] = (long) i * stride * k;
                cRow[i] = (long) i * n;
            }
            for (int count : new int[] {rows, 1, 7}) {
                Gemm.multiply(a, aRow, 0, c, cRow, 0, count, w);
            }
            double worst = 0;
            for (int i = 0; i < rows; i++) {
                for (int j = 0; j < n; j++) {
                    boolean first = j < n1;
                    MemorySegment wm = first ? w1 : w2;
                    int width = first ? n1 : n2, col = first ? j : j - n1;
                    double ref = (first ? b1 : b2).getAtIndex(ValueLayout.JAVA_FLOAT, col);
                    for (int kk = 0; kk < k; kk++) {
                        ref += (double) a.getAtIndex(ValueLayout.JAVA_FLOAT, aRow[i] + kk)
                                * wm.getAtIndex(ValueLayout.JAVA_FLOAT, (long) kk * width + col);
                    }
                    float got = c.getAtIndex(ValueLayout.JAVA_FLOAT, cRow[i] + j);
                    worst = Math.max(worst, Math.abs(got - ref));
                }
            }
            assertTrue(worst < 1e-5, "max error " + worst);
        }
    }

    @Test
    void panelWidthDividesTheModel() {
        assertEquals(0, Weights.HIDDEN % Gemm.NR);
        assertEquals(0, Weights.FFN % Gemm.NR);
    }

    private static MemorySegment random(Arena arena, int count, SplittableRandom r) {
        MemorySegment s = arena.allocate((long) count * 4, 64);
        for (int i = 0; i < count; i++) {
            s.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) (r.nextDouble() * 2 - 1));
        }
        return s;
    }
}
