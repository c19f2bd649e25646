package org.attn4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.util.Random;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.attn4j.reference.LightningReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** LightningAttention from Java against the fp64 quadratic reference, and the state across calls. */
class LightningAttentionTest {

    static Stream<Integer> configurations() {
        return IntStream.range(0, 30).boxed();
    }

    @ParameterizedTest(name = "random configuration {0}")
    @MethodSource("configurations")
    void matchesFp64Reference(int index) {
        Random rng = new Random(TestInputs.SEED * 17 + index);
        long b = 1 + rng.nextInt(2), hkv = 1 + rng.nextInt(2), hq = hkv * (1 + rng.nextInt(3));
        long n = 1 + rng.nextInt(200);
        long[] dims = {8, 16, 32, 48, 64};
        long d = dims[rng.nextInt(dims.length)], dv = dims[rng.nextInt(dims.length)];
        DType dtype = rng.nextInt(3) == 0 ? DType.BF16 : DType.F32;
        boolean decay = rng.nextInt(4) != 0, withState = rng.nextBoolean(), bnhd = rng.nextBoolean();
        LightningAttention lightning = LightningAttention.builder()
                .slopes(decay ? LightningAttention.transNormerSlopes((int) hq, rng.nextInt(4), 4) : null)
                .blockSize(rng.nextInt(3) == 0 ? 1 + rng.nextInt(100) : 0)
                .threads(rng.nextInt(3))
                .build();
        String what = TestInputs.seedNote() + ", config " + index + ": q=[" + b + "," + hq + "," + n + "," + d + "] kv heads "
                + hkv + " dv " + dv + " " + dtype + (decay ? " decay" : "") + (withState ? " state" : "") + (bnhd ? " BNHD" : "");
        try (Arena arena = Arena.ofConfined(); LightningState state = LightningState.allocate(b, hq, d, dv)) {
            float std = (float) Math.pow(d, -0.25);
            Tensor q = TestInputs.random(arena, rng, dtype, bnhd, std, b, hq, n, d);
            Tensor k = TestInputs.random(arena, rng, dtype, bnhd, std, b, hkv, n, d);
            Tensor v = TestInputs.random(arena, rng, dtype, bnhd, 1f, b, hkv, n, dv);
            Tensor out = Tensor.allocate(arena, DType.F32, b, hq, n, dv);
            Tensor state0 = null;
            if (withState) {
                float[] init = new float[(int) state.tensor().elementCount()];
                for (int i = 0; i < init.length; i++) init[i] = (float) rng.nextGaussian();
                state.tensor().copyFrom(init);
                state0 = Tensor.of(arena, init, b, hq, d, dv);
            }
            out.fill(Float.NaN);
            double[] want = LightningReference.forward(q, k, v, state0, lightning.options());
            double[] wantState = LightningReference.finalState(k, v, hq, state0, lightning.options());
            lightning.forward(q, k, v, out, withState ? state : null);
            double tol = dtype == DType.BF16 ? 1e-2 : 1e-5;
            double err = TestInputs.relL2(out, want);
            assertTrue(err <= tol, what + ": relative L2 error of out " + err);
            if (withState) {
                double serr = TestInputs.relL2(state.tensor(), wantState);
                assertTrue(serr <= tol, what + ": relative L2 error of the state " + serr);
            }
        }
    }

    @Test
    void prefillThenDecodeEqualsOneLongerPrefill() {
        long b = 1, h = 4, n = 100, m = 7, d = 32;
        LightningAttention lightning = LightningAttention.builder().slopes(LightningAttention.transNormerSlopes(4, 0, 1)).build();
        try (Arena arena = Arena.ofConfined(); LightningState state = LightningState.allocate(b, h, d, d)) {
            Random rng = new Random(TestInputs.SEED);
            Tensor q = TestInputs.random(arena, rng, DType.F32, false, 0.4f, b, h, n + m, d);
            Tensor k = TestInputs.random(arena, rng, DType.F32, false, 0.4f, b, h, n + m, d);
            Tensor v = TestInputs.random(arena, rng, DType.F32, false, 1f, b, h, n + m, d);
            Tensor whole = lightning.forward(arena, q, k, v);

            lightning.forward(rows(q, 0, n), rows(k, 0, n), rows(v, 0, n), Tensor.allocate(arena, DType.F32, b, h, n, d), state);
            for (long t = n; t < n + m; t++) {
                Tensor out = Tensor.allocate(arena, DType.F32, b, h, 1, d);
                lightning.decode(rows(q, t, 1), rows(k, t, 1), rows(v, t, 1), out, state);
                for (int hh = 0; hh < h; hh++)
                    for (int e = 0; e < d; e++)
                        assertEquals(whole.get(0, hh, t, e), out.get(0, hh, 0, e), 1e-5 * (1 + Math.abs(whole.get(0, hh, t, e))),
                                TestInputs.seedNote() + " token " + t);
            }
        }
    }

    @Test
    void slopesFollowAlibi() {
        float[] s = LightningAttention.transNormerSlopes(8, 0, 1);
        for (int h = 0; h < 8; h++) assertEquals(Math.pow(2, -(h + 1)), s[h], 1e-7);
        assertArrayEquals(new float[] {0.25f, 0.0625f, 0.015625f, 0.00390625f, 0.5f, 0.125f},
                LightningAttention.transNormerSlopes(6, 0, 1));
    }

    @Test
    void badArgumentsAreNamed() {
        try (Arena arena = Arena.ofConfined(); LightningState state = LightningState.allocate(1, 2, 16, 16)) {
            Tensor q = Tensor.allocate(arena, DType.F32, 1, 2, 8, 16), k = Tensor.allocate(arena, DType.F32, 1, 2, 8, 16);
            Tensor v = Tensor.allocate(arena, DType.F32, 1, 2, 8, 16), out = Tensor.allocate(arena, DType.F32, 1, 2, 8, 16);
            LightningAttention plain = LightningAttention.builder().build();
            assertMessage(() -> plain.forward(q, Tensor.allocate(arena, DType.F32, 1, 2, 9, 16), Tensor.allocate(arena, DType.F32, 1, 2, 9, 16), out, null),
                    "k.shape[2] = 9, expected 8");
            assertMessage(() -> plain.decode(q, k, v, out, null), "state must not be null");
            assertMessage(() -> LightningAttention.builder().slopes(1f, 2f, 3f).build().forward(q, k, v, out, null),
                    "params.num_slopes = 3, expected 2");
            assertMessage(() -> LightningAttention.builder().slopes(-1f).build(), "slopes[0] = -1.0");
            assertMessage(() -> LightningAttention.builder().blockSize(300).build(), "blockSize = 300");
            assertMessage(() -> LightningAttention.transNormerSlopes(4, 5, 3), "layer = 5");
            try (LightningState wrong = LightningState.allocate(1, 2, 16, 8)) {
                assertMessage(() -> plain.forward(q, k, v, out, wrong), "state_in.shape[3] = 8, expected 16");
            }
            LightningState closed = LightningState.allocate(1, 2, 16, 16);
            closed.close();
            assertMessage(() -> plain.forward(q, k, v, out, closed), "state is closed");
            assertMessage(() -> plain.forward(q, k, v, q, state), "out overlaps q");
        }
    }

    private static Tensor rows(Tensor t, long t0, long n) {
        long es = t.dtype().byteSize();
        long[] shape = t.shape();
        shape[2] = n;
        return Tensor.wrap(t.segment().asSlice(t0 * t.stride(2) * es), t.dtype(), shape, t.strides());
    }

    private static void assertMessage(Runnable r, String message) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, r::run);
        assertTrue(e.getMessage().contains(message), "message '" + e.getMessage() + "' lacks '" + message + "'");
    }
}
