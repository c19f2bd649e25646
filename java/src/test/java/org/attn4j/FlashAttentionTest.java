package org.attn4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.util.Random;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.attn4j.reference.FlashReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** FlashAttention from Java against the pure-Java fp64 reference on fresh seeded random configurations. */
class FlashAttentionTest {

    static Stream<Integer> configurations() {
        return IntStream.range(0, 60).boxed();
    }

    @ParameterizedTest(name = "random configuration {0}")
    @MethodSource("configurations")
    void matchesFp64Reference(int index) {
        Random rng = new Random(TestInputs.SEED * 31 + index);
        long batch = 1 + rng.nextInt(2), hkv = 1 + rng.nextInt(3), hq = hkv * (1 + rng.nextInt(3));
        long nq = 1 + rng.nextInt(150), nk = rng.nextBoolean() ? nq : 1 + rng.nextInt(200);
        long[] dims = {1, 16, 32, 48, 64, 96, 128};
        long d = dims[rng.nextInt(dims.length)], dv = rng.nextInt(4) == 0 ? dims[rng.nextInt(dims.length)] : d;
        DType dtype = rng.nextInt(3) == 0 ? DType.BF16 : DType.F32;
        DType outType = rng.nextInt(4) == 0 ? DType.BF16 : DType.F32;
        boolean bnhd = rng.nextBoolean();
        FlashAttention attention = FlashAttention.builder()
                .causal(rng.nextBoolean())
                .window(rng.nextInt(3) == 0 ? rng.nextInt(40) : -1, rng.nextInt(4) == 0 ? rng.nextInt(10) : -1)
                .softcap(rng.nextInt(4) == 0 ? 2 + rng.nextFloat() * 20 : 0)
                .scale(rng.nextInt(4) == 0 ? 0.05f + rng.nextFloat() : 0)
                .threads(rng.nextInt(3))
                .build();
        String what = TestInputs.seedNote() + ", config " + index + ": q=[" + batch + "," + hq + "," + nq + "," + d
                + "] kv=[" + hkv + "," + nk + "," + dv + "] " + dtype + "->" + outType + (bnhd ? " BNHD " : " ") + attention.options();

        try (Arena arena = Arena.ofConfined()) {
            Tensor q = TestInputs.random(arena, rng, dtype, bnhd, 1.5f, batch, hq, nq, d);
            Tensor k = TestInputs.random(arena, rng, dtype, bnhd, 1.5f, batch, hkv, nk, d);
            Tensor v = TestInputs.random(arena, rng, dtype, bnhd, 1f, batch, hkv, nk, dv);
            Tensor out = TestInputs.random(arena, rng, outType, bnhd, 1f, batch, hq, nq, dv);
            Tensor lse = Tensor.allocate(arena, DType.F32, batch, hq, nq, 1);
            out.fill(Float.NaN);
            lse.fill(Float.NaN);
            attention.forward(q, k, v, out, lse);

            double tolerance = dtype == DType.BF16 || outType == DType.BF16 ? 1e-2 : 1e-5;
            double err = TestInputs.relL2(out, FlashReference.forward(q, k, v, attention.options()));
            assertTrue(err <= tolerance, what + ": relative L2 error " + err + " > " + tolerance);
            double[] refLse = FlashReference.logSumExp(q, k, v, attention.options());
            float[] gotLse = lse.toFloatArray();
            for (int i = 0; i < refLse.length; i++) {
                if (Double.isInfinite(refLse[i])) {
                    assertEquals(Float.NEGATIVE_INFINITY, gotLse[i], what + ": lse of fully masked row " + i);
                } else {
                    assertEquals(refLse[i], gotLse[i], 1e-4 * (1 + Math.abs(refLse[i])), what + ": lse row " + i);
                }
            }
        }
    }

    @Test
    void convenienceOverloadAllocatesTheOutput() {
        try (Arena arena = Arena.ofConfined()) {
            Random rng = new Random(TestInputs.SEED);
            Tensor q = TestInputs.random(arena, rng, DType.F32, false, 1f, 2, 4, 33, 64);
            Tensor k = TestInputs.random(arena, rng, DType.F32, false, 1f, 2, 2, 40, 64);
            Tensor v = TestInputs.random(arena, rng, DType.F32, false, 1f, 2, 2, 40, 32);
            FlashAttention attention = FlashAttention.builder().causal(true).build();
            Tensor out = attention.forward(arena, q, k, v);
            assertEquals(DType.F32, out.dtype());
            assertEquals(java.util.List.of(2L, 4L, 33L, 32L), java.util.Arrays.stream(out.shape()).boxed().toList());
            double err = TestInputs.relL2(out, FlashReference.forward(q, k, v, attention.options()));
            assertTrue(err <= 1e-5, TestInputs.seedNote() + ": relative L2 error " + err);
        }
    }

    @Test
    void fullyMaskedRowsAreZeroNotNaN() {
        try (Arena arena = Arena.ofConfined()) {
            Random rng = new Random(TestInputs.SEED);
            Tensor q = TestInputs.random(arena, rng, DType.F32, false, 1f, 1, 1, 20, 32);
            Tensor k = TestInputs.random(arena, rng, DType.F32, false, 1f, 1, 1, 5, 32);
            Tensor v = TestInputs.random(arena, rng, DType.F32, false, 1f, 1, 1, 5, 32);
            Tensor out = Tensor.allocate(arena, DType.F32, 1, 1, 20, 32);
            Tensor lse = Tensor.allocate(arena, DType.F32, 1, 1, 20, 1);
            out.fill(Float.NaN);
            FlashAttention.builder().causal(true).build().forward(q, k, v, out, lse);
            for (int i = 0; i < 15; i++) {  // rows 0..14 sit left of every key
                assertEquals(Float.NEGATIVE_INFINITY, lse.get(0, 0, i, 0), "lse row " + i);
                for (int e = 0; e < 32; e++) assertEquals(0f, out.get(0, 0, i, e), "row " + i);
            }
            assertTrue(Float.isFinite(lse.get(0, 0, 15, 0)));
        }
    }

    @Test
    void everyIsaGivesTheSameAnswer() {
        Attn4j.Isa saved = Attn4j.cpuIsa();
        try (Arena arena = Arena.ofConfined()) {
            Random rng = new Random(TestInputs.SEED);
            Tensor q = TestInputs.random(arena, rng, DType.F32, false, 1f, 1, 4, 100, 64);
            Tensor k = TestInputs.random(arena, rng, DType.F32, false, 1f, 1, 2, 120, 64);
            Tensor v = TestInputs.random(arena, rng, DType.F32, false, 1f, 1, 2, 120, 64);
            FlashAttention attention = FlashAttention.builder().causal(true).build();
            double[] ref = FlashReference.forward(q, k, v, attention.options());
            for (Attn4j.Isa isa : Attn4j.Isa.values()) {
                if (isa.ordinal() > Attn4j.bestCpuIsa().ordinal()) continue;
                Attn4j.setCpuIsa(isa);
                Tensor out = attention.forward(arena, q, k, v);
                double err = TestInputs.relL2(out, ref);
                assertTrue(err <= 1e-5, TestInputs.seedNote() + ", isa " + isa + ": relative L2 error " + err);
            }
        } finally {
            Attn4j.setCpuIsa(saved);
        }
    }
}
