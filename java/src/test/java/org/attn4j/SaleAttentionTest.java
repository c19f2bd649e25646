package org.attn4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Random;
import org.attn4j.bindings.Attn4jNative;
import org.attn4j.bindings.attn4j_tensor;
import org.attn4j.reference.FlashReference;
import org.attn4j.reference.SaleReference;
import org.attn4j.reference.StructuredInputs;
import org.junit.jupiter.api.Test;

/** SALE and block-sparse attention from Java: against fp64 references, dense at tau 0, calibration, bad arguments. */
class SaleAttentionTest {

    private static Tensor[] structured(Arena arena, StructuredInputs.Pattern p, long seed, DType dt, long b, long hq,
            long hkv, long nq, long nk, long d, long dv) {
        Tensor q = Tensor.allocate(arena, dt, b, hq, nq, d);
        Tensor k = Tensor.allocate(arena, dt, b, hkv, nk, d);
        Tensor v = Tensor.allocate(arena, dt, b, hkv, nk, dv);
        StructuredInputs.fill(p, seed, q, k, v);
        return new Tensor[] {q, k, v};
    }

    @Test
    void blockSparseMatchesTheMaskedReference() {
        Random rng = new Random(TestInputs.SEED);
        SaleAttention sale = SaleAttention.builder().causal(true).blocks(32, 48).build();
        try (Arena arena = Arena.ofConfined()) {
            Tensor[] t = structured(arena, StructuredInputs.Pattern.RANDOM, rng.nextLong(), DType.F32, 1, 4, 2, 150, 200, 40, 24);
            SaleMask mask = SaleMask.allocate(arena, t[0], t[1], sale.options());
            for (long h = 0; h < 4; h++)
                for (long i = 0; i < mask.queryBlocks(); i++)
                    for (long j = 0; j < mask.keyBlocks(); j++) mask.set(0, h, i, j, rng.nextBoolean());
            Tensor out = Tensor.allocate(arena, DType.F32, 1, 4, 150, 24);
            out.fill(Float.NaN);
            sale.blockSparse(t[0], t[1], t[2], out, null, mask);
            double err = TestInputs.relL2(out, SaleReference.forward(t[0], t[1], t[2], sale.options(), mask));
            assertTrue(err <= 1e-5, "rel. L2 " + err + ", " + TestInputs.seedNote());
            assertTrue(mask.density() > 0.2 && mask.density() < 0.8, "density " + mask.density());
        }
    }

    @Test
    void thresholdZeroIsDenseFlashAttention() {
        SaleAttention sale = SaleAttention.builder().causal(true).threshold(0f).build();
        FlashAttention flash = FlashAttention.builder().causal(true).build();
        try (Arena arena = Arena.ofConfined()) {
            Tensor[] t = structured(arena, StructuredInputs.Pattern.MIXED, TestInputs.SEED, DType.F32, 1, 2, 2, 300, 300, 64, 64);
            SaleMask mask = SaleMask.allocate(arena, t[0], t[1], sale.options());
            Tensor out = Tensor.allocate(arena, DType.F32, 1, 2, 300, 64), dense = Tensor.allocate(arena, DType.F32, 1, 2, 300, 64);
            sale.forward(t[0], t[1], t[2], out, null, mask);
            flash.forward(t[0], t[1], t[2], dense);
            assertEquals(1.0, mask.density());
            float[] a = out.toFloatArray(), b = dense.toFloatArray();
            for (int i = 0; i < a.length; i++) assertEquals(b[i], a[i], 1e-5, "element " + i);
        }
    }

    @Test
    void structuredInputsAreSparseAccurateAndKeepSinkAndDiagonal() {
        SaleAttention sale = SaleAttention.builder().causal(true).threshold(0.01f).build();
        try (Arena arena = Arena.ofConfined()) {
            Tensor[] t = structured(arena, StructuredInputs.Pattern.MIXED, TestInputs.SEED, DType.F32, 1, 2, 1, 2048, 2048, 64, 64);
            SaleMask mask = SaleMask.allocate(arena, t[0], t[1], sale.options());
            Tensor out = sale.forward(arena, t[0], t[1], t[2]);
            Tensor again = Tensor.allocate(arena, DType.F32, 1, 2, 2048, 64);
            sale.forward(t[0], t[1], t[2], again, null, mask);
            assertArrayEquals(out.toFloatArray(), again.toFloatArray(), "same call, same result");
            assertTrue(mask.density() < 0.5, "density " + mask.density());
            FlashAttention.Options dense = FlashAttention.builder().causal(true).build().options();
            double err = TestInputs.relL2(out, FlashReference.forward(t[0], t[1], t[2], dense));
            assertTrue(err < 0.05, "error vs dense " + err + ", " + TestInputs.seedNote());
            for (long h = 0; h < 2; h++)
                for (long i = 0; i < mask.queryBlocks(); i++) {
                    assertTrue(mask.isSet(0, h, i, 0), "sink block of query block " + i);
                    assertTrue(mask.isSet(0, h, i, i), "diagonal block of query block " + i);
                    for (long j = i + 1; j < mask.keyBlocks(); j++) assertTrue(!mask.isSet(0, h, i, j), "causal: " + i + ", " + j);
                }
        }
    }

    /** Calibration reads Java arrays (pinned for the call) as it reads off-heap tensors. */
    @Test
    void calibrationTakesHeapTensors() {
        try (Arena arena = Arena.ofConfined()) {
            Tensor[] t = structured(arena, StructuredInputs.Pattern.MIXED, TestInputs.SEED, DType.F32, 1, 2, 2, 512, 512, 32, 32);
            Tensor[] heap = new Tensor[3];
            for (int i = 0; i < 3; i++) heap[i] = Tensor.wrap(t[i].toFloatArray(), t[i].shape());
            SaleAttention.Options o = SaleAttention.builder().causal(true).build().options();
            assertArrayEquals(SaleAttention.calibrate(t[0], t[1], t[2], 0.02f, o),
                    SaleAttention.calibrate(heap[0], heap[1], heap[2], 0.02f, o), TestInputs.seedNote());
        }
    }

    @Test
    void calibratedThresholdsMeetTheTarget() {
        SaleAttention.Options base = SaleAttention.builder().causal(true).blocks(32, 32).build().options();
        try (Arena arena = Arena.ofConfined()) {
            Tensor[] t = structured(arena, StructuredInputs.Pattern.MIXED, TestInputs.SEED, DType.F32, 1, 2, 2, 1024, 1024, 64, 64);
            float[] tau = SaleAttention.calibrate(t[0], t[1], t[2], 0.02f, base);
            assertEquals(2, tau.length);
            SaleAttention sale = SaleAttention.of(base.withThresholds(tau));
            Tensor out = sale.forward(arena, t[0], t[1], t[2]);
            double[] ref = FlashReference.forward(t[0], t[1], t[2], FlashAttention.builder().causal(true).build().options());
            float[] got = out.toFloatArray();
            int per = 1024 * 64;
            for (int h = 0; h < 2; h++) {
                double num = 0, den = 0;
                for (int x = h * per; x < (h + 1) * per; x++) {
                    num += (got[x] - ref[x]) * (got[x] - ref[x]);
                    den += ref[x] * ref[x];
                }
                assertTrue(Math.sqrt(num / den) <= 0.02 * 1.001, "head " + h + " tau " + tau[h]);
                assertTrue(tau[h] >= 0 && tau[h] <= 0.1f, "tau " + tau[h]);
            }
        }
    }

    @Test
    void badArgumentsNameTheArgumentBeforeAnyNativeCall() {
        try (Arena arena = Arena.ofConfined()) {
            Tensor[] t = structured(arena, StructuredInputs.Pattern.RANDOM, 1, DType.F32, 1, 2, 2, 64, 64, 32, 32);
            Tensor out = Tensor.allocate(arena, DType.F32, 1, 2, 64, 32);
            SaleAttention sale = SaleAttention.builder().build();
            assertMessage("blockQ", () -> SaleAttention.builder().blocks(24, 64).build());
            assertMessage("blockK", () -> SaleAttention.builder().blocks(64, 8).build());
            assertMessage("thresholds[1]", () -> SaleAttention.builder().thresholds(0.1f, -1f).build());
            assertMessage("localBlocks", () -> SaleAttention.builder().localBlocks(-1).build());
            assertMessage("params.num_thresholds = 3", () -> SaleAttention.builder().thresholds(1, 1, 1).build()
                    .forward(t[0], t[1], t[2], out));
            assertMessage("out", () -> sale.forward(t[0], t[1], t[2], t[0]));
            SaleMask wrong = SaleMask.allocate(arena, 1, 2, 128, 64, 64, 64);
            assertMessage("mask is for", () -> sale.forward(t[0], t[1], t[2], out, null, wrong));
            assertMessage("mask must not be null", () -> sale.blockSparse(t[0], t[1], t[2], out, null, null));
            SaleMask mask = SaleMask.allocate(arena, t[0], t[1], sale.options());
            assertMessage("j (key block) = 1", () -> mask.isSet(0, 0, 0, 1));
            // The Java layout arithmetic agrees with the library's.
            NativeLibrary.ensureLoaded();
            MemorySegment descQ = Native.descriptor(attn4j_tensor.allocate(arena), t[0]);
            MemorySegment descK = Native.descriptor(attn4j_tensor.allocate(arena), t[1]);
            attn4j_tensor.data(descQ, t[0].segment());
            attn4j_tensor.data(descK, t[1].segment());
            MemorySegment bytes = arena.allocate(java.lang.foreign.ValueLayout.JAVA_LONG);
            Native.check(Attn4jNative.attn4j_sale_mask_bytes(descQ, descK, MemorySegment.NULL, bytes));
            assertEquals(bytes.get(java.lang.foreign.ValueLayout.JAVA_LONG, 0), mask.byteSize());
            assertMessage("target_error = 0", () -> SaleAttention.calibrate(t[0], t[1], t[2], 0f, sale.options()));
            // A mask's own memory as an output: 512 bytes of mask, 512 bytes of out.
            Tensor sq = Tensor.allocate(arena, DType.F32, 1, 1, 16, 8), sk = Tensor.allocate(arena, DType.F32, 1, 1, 65536, 8);
            SaleAttention small = SaleAttention.builder().blocks(16, 16).build();
            SaleMask onto = SaleMask.allocate(arena, sq, sk, small.options());
            Tensor overMask = Tensor.wrap(onto.segment(), DType.F32, new long[] {1, 1, 16, 8});
            assertMessage("mask overlaps out", () -> small.forward(sq, sk, sk, overMask, null, onto));
            assertMessage("mask overlaps out", () -> small.blockSparse(sq, sk, sk, overMask, null, onto));
            Tensor lse16 = Tensor.allocate(arena, DType.BF16, 1, 2, 64, 1);
            assertMessage("lse.dtype", () -> sale.forward(t[0], t[1], t[2], out, lse16, null));
        }
    }

    /** The Java generator and the native one give the same bytes, for every pattern, dtype and shape. */
    @Test
    void structuredInputsMatchTheNativeGeneratorByteForByte() {
        for (StructuredInputs.Pattern p : StructuredInputs.Pattern.values()) {
            for (DType dt : new DType[] {DType.F32, DType.BF16}) {
                try (Arena arena = Arena.ofConfined()) {
                    long seed = TestInputs.SEED ^ p.ordinal();
                    Tensor[] java = structured(arena, p, seed, dt, 2, 4, 2, 70, 90, 48, 24);
                    Tensor[] nat = {Tensor.allocate(arena, dt, 2, 4, 70, 48), Tensor.allocate(arena, dt, 2, 2, 90, 48),
                        Tensor.allocate(arena, dt, 2, 2, 90, 24)};
                    NativeLibrary.ensureLoaded();
                    MemorySegment[] d = new MemorySegment[3];
                    for (int i = 0; i < 3; i++) {
                        d[i] = Native.descriptor(attn4j_tensor.allocate(arena), nat[i]);
                        attn4j_tensor.data(d[i], nat[i].segment());  // the plain entry point reads the descriptor's address
                    }
                    Native.check(Attn4jNative.attn4j_structured_qkv(p.code(), seed, d[0], d[1], d[2]));
                    for (int i = 0; i < 3; i++) {
                        assertEquals(-1, java[i].segment().mismatch(nat[i].segment()),
                                p + " " + dt + " tensor " + "qkv".charAt(i) + ", seed " + seed);
                    }
                }
            }
        }
    }

    private static void assertMessage(String needle, Runnable r) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, r::run);
        assertTrue(e.getMessage().contains(needle), "message '" + e.getMessage() + "' lacks '" + needle + "'");
    }
}
