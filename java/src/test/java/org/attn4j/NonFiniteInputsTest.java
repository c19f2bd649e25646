package org.attn4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The NaN/Inf policy seen from Java: an infinite input is never hidden as a finite result. */
class NonFiniteInputsTest {
    @Test
    void anInfiniteQueryWhoseScoresAreAllMinusInfinityGivesNaN() {
        try (Arena arena = Arena.ofConfined()) {
            Random rng = new Random(TestInputs.SEED);
            Tensor q = TestInputs.random(arena, rng, DType.F32, false, 1f, 1, 1, 16, 8);
            Tensor k = TestInputs.random(arena, rng, DType.F32, false, 1f, 1, 1, 40, 8);
            Tensor v = TestInputs.random(arena, rng, DType.F32, false, 1f, 1, 1, 40, 8);
            for (long j = 0; j < 40; j++) k.set(0, 0, j, 0, -1f - Math.abs(k.get(0, 0, j, 0)));
            q.set(0, 0, 3, 0, Float.POSITIVE_INFINITY);
            Tensor out = Tensor.allocate(arena, DType.F32, 1, 1, 16, 8), lse = Tensor.allocate(arena, DType.F32, 1, 1, 16, 1);
            FlashAttention.builder().build().forward(q, k, v, out, lse);
            for (long i = 0; i < 16; i++) {
                assertEquals(i == 3, Float.isNaN(lse.get(0, 0, i, 0)), "lse of row " + i + ", " + TestInputs.seedNote());
                for (long e = 0; e < 8; e++) {
                    assertEquals(i == 3, Float.isNaN(out.get(0, 0, i, e)), "row " + i);
                    assertTrue(i == 3 || Float.isFinite(out.get(0, 0, i, e)), "row " + i);
                }
            }
        }
    }
}
