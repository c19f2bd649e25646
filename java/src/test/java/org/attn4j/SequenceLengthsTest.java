package org.attn4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.util.Random;
import org.attn4j.reference.FlashReference;
import org.junit.jupiter.api.Test;

/**
 * Batches of sequences of different lengths from Java: the padded form (lengths, an attention mask with
 * right or left padding) == the packed form == each sequence alone == the fp64 reference.
 */
class SequenceLengthsTest {
    private static final int[] LENS = {37, 0, 1, 130, 64};
    private static final long H = 4, HKV = 2, D = 32, N = 130;

    /** Rows [r0, r0 + n) of batch entry b, as a tensor of its own (a strided view, no copy). */
    private static Tensor rows(Tensor t, long b, long r0, long n) {
        long es = t.dtype().byteSize();
        long[] shape = {1, t.shape(1), n, t.shape(3)};
        return Tensor.wrap(t.segment().asSlice((b * t.stride(0) + r0 * t.stride(2)) * es), t.dtype(), shape, t.strides());
    }

    private static Tensor random(Arena arena, Random rng, long b, long h, long n, long d) {
        return TestInputs.random(arena, rng, DType.F32, false, 1f, b, h, n, d);
    }

    @Test
    void paddedPackedAloneAndReferenceAgree() {
        for (boolean causal : new boolean[] {false, true}) {
            for (boolean left : new boolean[] {false, true}) {
                try (Arena arena = Arena.ofConfined()) {
                    Random rng = new Random(TestInputs.SEED);
                    int B = LENS.length;
                    Tensor q = random(arena, rng, B, H, N, D), k = random(arena, rng, B, HKV, N, D), v = random(arena, rng, B, HKV, N, D);
                    Tensor out = Tensor.allocate(arena, DType.F32, B, H, N, D), lse = Tensor.allocate(arena, DType.F32, B, H, N, 1);
                    out.fill(Float.NaN);
                    long[][] mask = new long[B][(int) N];
                    int[] starts = new int[B];
                    for (int b = 0; b < B; b++) {
                        starts[b] = left ? (int) N - LENS[b] : 0;
                        for (int s = starts[b]; s < starts[b] + LENS[b]; s++) mask[b][s] = 1;
                    }
                    FlashAttention fa = FlashAttention.builder().causal(causal).build();
                    fa.forward(q, k, v, out, lse, SequenceLengths.fromAttentionMask(mask));

                    int total = 0;
                    for (int len : LENS) total += len;
                    Tensor pq = Tensor.allocate(arena, DType.F32, 1, H, total, D), pk = Tensor.allocate(arena, DType.F32, 1, HKV, total, D);
                    Tensor pv = Tensor.allocate(arena, DType.F32, 1, HKV, total, D), pout = Tensor.allocate(arena, DType.F32, 1, H, total, D);
                    for (int b = 0, at = 0; b < B; at += LENS[b], b++)
                        for (long h = 0; h < H; h++)
                            for (long i = 0; i < LENS[b]; i++)
                                for (long e = 0; e < D; e++) {
                                    pq.set(0, h, at + i, e, q.get(b, h, starts[b] + i, e));
                                    if (h < HKV) {
                                        pk.set(0, h, at + i, e, k.get(b, h, starts[b] + i, e));
                                        pv.set(0, h, at + i, e, v.get(b, h, starts[b] + i, e));
                                    }
                                }
                    pout.fill(Float.NaN);
                    fa.forward(pq, pk, pv, pout, null, SequenceLengths.packedLengths(LENS));

                    for (int b = 0, at = 0; b < B; at += LENS[b], b++) {
                        String where = "causal " + causal + ", left " + left + ", sequence " + b + ", " + TestInputs.seedNote();
                        Tensor qb = rows(q, b, starts[b], LENS[b]), kb = rows(k, b, starts[b], LENS[b]), vb = rows(v, b, starts[b], LENS[b]);
                        double[] ref = FlashReference.forward(qb, kb, vb, fa.options());
                        assertTrue(TestInputs.relL2(rows(out, b, starts[b], LENS[b]), ref) <= 1e-5, "padded vs reference, " + where);
                        assertTrue(TestInputs.relL2(rows(pout, 0, at, LENS[b]), ref) <= 1e-5, "packed vs reference, " + where);
                        if (LENS[b] > 0) {
                            Tensor alone = fa.forward(arena, qb, kb, vb);
                            assertTrue(TestInputs.relL2(alone, ref) <= 1e-5, "alone vs reference, " + where);
                        }
                        // Padded rows see every valid key, unmasked.
                        long padStart = left ? 0 : LENS[b], padEnd = left ? starts[b] : N;
                        if (padEnd > padStart) {
                            Tensor padRows = rows(q, b, padStart, padEnd - padStart);
                            double[] want = FlashReference.forward(padRows, kb, vb, FlashAttention.Options.DEFAULT);
                            assertTrue(TestInputs.relL2(rows(out, b, padStart, padEnd - padStart), want) <= 1e-5,
                                    "padded rows, " + where);
                        }
                    }
                }
            }
        }
    }

    @Test
    void lightningPackedEqualsEachSequenceAlone() {
        int[] lens = {50, 0, 1, 77};
        int total = 128;
        try (Arena arena = Arena.ofConfined(); LightningState states = LightningState.allocate(lens.length, H, D, D)) {
            Random rng = new Random(TestInputs.SEED);
            Tensor q = TestInputs.random(arena, rng, DType.F32, false, 0.3f, 1, H, total, D);
            Tensor k = TestInputs.random(arena, rng, DType.F32, false, 0.3f, 1, HKV, total, D);
            Tensor v = random(arena, rng, 1, HKV, total, D), out = Tensor.allocate(arena, DType.F32, 1, H, total, D);
            LightningAttention la = LightningAttention.builder().slopes(LightningAttention.transNormerSlopes((int) H, 0, 1)).build();
            la.forward(q, k, v, out, states, SequenceLengths.packedLengths(lens));
            for (int b = 0, at = 0; b < lens.length; at += lens[b], b++) {
                if (lens[b] == 0) continue;
                try (LightningState alone = LightningState.allocate(1, H, D, D)) {
                    Tensor o = Tensor.allocate(arena, DType.F32, 1, H, lens[b], D);
                    la.forward(rows(q, 0, at, lens[b]), rows(k, 0, at, lens[b]), rows(v, 0, at, lens[b]), o, alone);
                    float[] a = o.toFloatArray(), p = new float[a.length];
                    Tensor packedRows = rows(out, 0, at, lens[b]);
                    for (int h = 0, x = 0; h < H; h++)
                        for (int i = 0; i < lens[b]; i++)
                            for (int e = 0; e < D; e++) p[x++] = packedRows.get(0, h, i, e);
                    org.junit.jupiter.api.Assertions.assertArrayEquals(a, p, "sequence " + b);
                    for (int h = 0; h < H; h++)
                        for (int i = 0; i < D; i++)
                            for (int e = 0; e < D; e++)
                                assertEquals(alone.tensor().get(0, h, i, e), states.tensor().get(b, h, i, e), "state " + b);
                }
            }
            assertMessage(() -> la.forward(q, k, v, out, states, SequenceLengths.ofKeys(3)), "Lightning takes packed sequences");
        }
    }

    @Test
    void badLengthsNameTheArgument() {
        try (Arena arena = Arena.ofConfined()) {
            Tensor q = Tensor.allocate(arena, DType.F32, 2, 2, 16, 8), out = Tensor.allocate(arena, DType.F32, 2, 2, 16, 8);
            FlashAttention fa = FlashAttention.builder().build();
            assertMessage(() -> fa.forward(q, q, q, out, null, SequenceLengths.ofKeys(3, 4, 5)),
                    "lengths describe 3 sequences but q.shape[0] = 2");
            assertMessage(() -> fa.forward(q, q, q, out, null, SequenceLengths.ofKeys(3, -1)), "params.kv_lens[1] = -1");
            assertMessage(() -> fa.forward(q, q, q, out, null, SequenceLengths.ofKeys(3, 17)), "params.kv_lens[1] = 17 exceeds 16");
            assertMessage(() -> fa.forward(q, q, q, out, null, SequenceLengths.packedLengths(16)), "the packed form");
            Tensor p = Tensor.allocate(arena, DType.F32, 1, 2, 16, 8), pout = Tensor.allocate(arena, DType.F32, 1, 2, 16, 8);
            assertMessage(() -> fa.forward(p, p, p, pout, null, SequenceLengths.packedLengths(10, 5)),
                    "params.cu_seqlens_q[2] = 15 must equal 16");
            assertMessage(() -> fa.forward(p, p, p, pout, null, SequenceLengths.packed(new int[] {0, 9, 4, 16}, new int[] {0, 1, 2, 16})),
                    "params.cu_seqlens_q[2] = 4 is less than");
            assertMessage(() -> SequenceLengths.fromAttentionMask(new long[][] {{1, 0, 1}}), "more than one run");
            assertMessage(() -> SequenceLengths.fromAttentionMask(new long[][] {{1, 2}}), "mask[0][1] = 2");
            assertMessage(() -> SequenceLengths.packed(new int[] {0, 1}, new int[] {0}), "same number of entries");
            assertMessage(() -> SequenceLengths.padded(new int[] {1}, new int[] {1, 2}, null, null), "one entry per sequence");
            assertMessage(() -> SequenceLengths.packedLengths(3, -2), "lengths[1] = -2");
        }
    }

    @Test
    void describesItself() {
        SequenceLengths s = SequenceLengths.packedLengths(3, 9, 4);
        assertEquals(3, s.count());
        assertTrue(s.isPacked());
        assertEquals(9, s.maxQueryLength());
        assertEquals(9, s.maxKeyLength());
    }

    private static void assertMessage(Runnable r, String message) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, r::run);
        assertTrue(e.getMessage().contains(message), "message '" + e.getMessage() + "' lacks '" + message + "'");
    }
}
