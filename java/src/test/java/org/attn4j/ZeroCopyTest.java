package org.attn4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Random;
import org.attn4j.reference.FlashReference;
import org.junit.jupiter.api.Test;

/** The kernel writes straight into memory the caller owns: segments, direct buffers, strided views. */
class ZeroCopyTest {

    @Test
    void writesIntoTheCallersSegment() {
        try (Arena arena = Arena.ofConfined()) {
            Random rng = new Random(TestInputs.SEED);
            Tensor q = TestInputs.random(arena, rng, DType.F32, false, 1f, 1, 2, 9, 16);
            Tensor k = TestInputs.random(arena, rng, DType.F32, false, 1f, 1, 2, 9, 16);
            Tensor v = TestInputs.random(arena, rng, DType.F32, false, 1f, 1, 2, 9, 16);
            MemorySegment mine = arena.allocate(2 * 9 * 16 * 4, 64);
            mine.fill((byte) 0x7f);
            Tensor out = Tensor.wrap(mine, DType.F32, new long[] {1, 2, 9, 16});
            FlashAttention attention = FlashAttention.builder().build();
            attention.forward(q, k, v, out);
            double[] ref = FlashReference.forward(q, k, v, attention.options());
            for (int i = 0; i < ref.length; i++) {
                assertEquals(ref[i], mine.getAtIndex(ValueLayout.JAVA_FLOAT, i), 1e-5, TestInputs.seedNote() + " element " + i);
            }
        }
    }

    @Test
    void aDirectByteBufferSeesTheResult() {
        try (Arena arena = Arena.ofConfined()) {
            Random rng = new Random(TestInputs.SEED);
            ByteBuffer qb = ByteBuffer.allocateDirect(1 * 1 * 7 * 32 * 4).order(ByteOrder.nativeOrder());
            for (int i = 0; i < 7 * 32; i++) qb.putFloat(i * 4, (float) rng.nextGaussian());
            Tensor q = Tensor.wrap(qb, DType.F32, 1, 1, 7, 32);
            Tensor k = TestInputs.random(arena, rng, DType.F32, false, 1f, 1, 1, 7, 32);
            Tensor v = TestInputs.random(arena, rng, DType.F32, false, 1f, 1, 1, 7, 32);
            ByteBuffer ob = ByteBuffer.allocateDirect(7 * 32 * 4).order(ByteOrder.nativeOrder());
            for (int i = 0; i < 7 * 32; i++) ob.putFloat(i * 4, Float.NaN);
            FlashAttention attention = FlashAttention.builder().causal(true).build();
            attention.forward(q, k, v, Tensor.wrap(ob, DType.F32, 1, 1, 7, 32));
            double[] ref = FlashReference.forward(q, k, v, attention.options());
            for (int i = 0; i < ref.length; i++) {
                assertEquals(ref[i], ob.getFloat(i * 4), 1e-5, TestInputs.seedNote() + " element " + i);
            }
        }
    }

    @Test
    void stridedViewsAreReadAndWrittenInPlace() {
        try (Arena arena = Arena.ofConfined()) {
            // One fused [B, N, 3, H, D] qkv buffer, as many models store it; q, k, v are views into it.
            long b = 1, n = 20, h = 2, d = 16;
            MemorySegment qkv = arena.allocate(b * n * 3 * h * d * 4, 64);
            Random rng = new Random(TestInputs.SEED);
            for (long i = 0; i < b * n * 3 * h * d; i++) qkv.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) rng.nextGaussian());
            long[] shape = {b, h, n, d}, strides = {n * 3 * h * d, d, 3 * h * d, 1};
            Tensor q = Tensor.wrap(qkv, DType.F32, shape, strides);
            Tensor k = Tensor.wrap(qkv.asSlice(h * d * 4), DType.F32, shape, strides);
            Tensor v = Tensor.wrap(qkv.asSlice(2 * h * d * 4), DType.F32, shape, strides);
            // Output in BNHD order.
            MemorySegment o = arena.allocate(b * n * h * d * 4, 64);
            Tensor out = Tensor.wrap(o, DType.F32, shape, new long[] {n * h * d, d, h * d, 1});
            out.fill(Float.NaN);
            FlashAttention attention = FlashAttention.builder().causal(true).build();
            attention.forward(q, k, v, out);
            double err = TestInputs.relL2(out, FlashReference.forward(q, k, v, attention.options()));
            assertTrue(err <= 1e-5, TestInputs.seedNote() + ": relative L2 error " + err);
            // Element [0, 1, 3, 5] of a BNHD output lives at ((3 * h) + 1) * d + 5.
            assertEquals(out.get(0, 1, 3, 5), o.getAtIndex(ValueLayout.JAVA_FLOAT, (3 * h + 1) * d + 5));
        }
    }

    /** Java arrays are read and written in place (pinned for the call), by every kernel. */
    @Test
    void javaArraysAreReadAndWrittenInPlace() {
        Random rng = new Random(TestInputs.SEED);
        int n = 40, h = 2, d = 16;
        float[] q = new float[h * n * d], k = new float[h * n * d], v = new float[h * n * d];
        for (float[] a : new float[][] {q, k, v}) for (int i = 0; i < a.length; i++) a[i] = (float) rng.nextGaussian();
        Tensor tq = Tensor.wrap(q, 1, h, n, d), tk = Tensor.wrap(k, 1, h, n, d), tv = Tensor.wrap(v, 1, h, n, d);
        assertTrue(tq.isHeap());
        float[] out = new float[h * n * d], lse = new float[h * n];
        java.util.Arrays.fill(out, Float.NaN);
        FlashAttention flash = FlashAttention.builder().causal(true).build();
        flash.forward(tq, tk, tv, Tensor.wrap(out, 1, h, n, d), Tensor.wrap(lse, 1, h, n, 1));
        double[] ref = FlashReference.forward(tq, tk, tv, flash.options());
        double[] refLse = FlashReference.logSumExp(tq, tk, tv, flash.options());
        for (int i = 0; i < ref.length; i++) assertEquals(ref[i], out[i], 1e-5, TestInputs.seedNote() + " flash element " + i);
        for (int i = 0; i < refLse.length; i++) assertEquals(refLse[i], lse[i], 1e-5, "lse " + i);

        // The same call on off-heap copies gives the same bytes.
        try (Arena arena = Arena.ofConfined()) {
            Tensor oq = Tensor.of(arena, q, 1, h, n, d), ok = Tensor.of(arena, k, 1, h, n, d), ov = Tensor.of(arena, v, 1, h, n, d);
            LightningAttention lightning = LightningAttention.builder().slopes(LightningAttention.transNormerSlopes(h, 0, 1)).build();
            float[] lout = new float[h * n * d];
            lightning.forward(tq, tk, tv, Tensor.wrap(lout, 1, h, n, d), null);
            Tensor offOut = Tensor.allocate(arena, DType.F32, 1, h, n, d);
            lightning.forward(oq, ok, ov, offOut, null);
            assertArrayEquals(offOut.toFloatArray(), lout, "lightning: heap and off-heap differ");

            SaleAttention sale = SaleAttention.builder().causal(true).blocks(16, 16).threshold(0.01f).build();
            float[] sout = new float[h * n * d];
            SaleMask heapMask = SaleMask.allocate(arena, tq, tk, sale.options());
            SaleMask offMask = SaleMask.allocate(arena, tq, tk, sale.options());
            sale.forward(tq, tk, tv, Tensor.wrap(sout, 1, h, n, d), null, heapMask);
            sale.forward(oq, ok, ov, offOut, null, offMask);
            assertArrayEquals(offOut.toFloatArray(), sout, "sale: heap and off-heap differ");
            assertEquals(-1, heapMask.segment().mismatch(offMask.segment()));
            sale.blockSparse(tq, tk, tv, Tensor.wrap(sout, 1, h, n, d), null, heapMask);
            assertArrayEquals(offOut.toFloatArray(), sout, "block-sparse: heap and off-heap differ");
        }
    }

    /** bf16 bit patterns in a short[] work as a bf16 tensor; sizes must match the shape. */
    @Test
    void bf16ShortArraysAndSizeChecks() {
        Random rng = new Random(TestInputs.SEED);
        int n = 24, d = 32;
        short[] q = new short[n * d], k = new short[n * d], v = new short[n * d];
        for (short[] a : new short[][] {q, k, v}) for (int i = 0; i < a.length; i++) a[i] = BFloat16.fromFloat((float) rng.nextGaussian());
        Tensor tq = Tensor.wrapBf16(q, 1, 1, n, d), tk = Tensor.wrapBf16(k, 1, 1, n, d), tv = Tensor.wrapBf16(v, 1, 1, n, d);
        short[] out = new short[n * d];
        FlashAttention flash = FlashAttention.builder().build();
        Tensor to = Tensor.wrapBf16(out, 1, 1, n, d);
        flash.forward(tq, tk, tv, to);
        double err = TestInputs.relL2(to, FlashReference.forward(tq, tk, tv, flash.options()));
        assertTrue(err <= 1e-2, "bf16 rel. L2 " + err);
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> Tensor.wrap(new float[10], 1, 1, 3, 4));
        assertTrue(e.getMessage().contains("data has 10 elements"), e.getMessage());
        float[] shared = new float[n * d];
        Tensor a = Tensor.wrap(shared, 1, 1, n, d);
        e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> flash.forward(a, a, a, a));
        assertTrue(e.getMessage().contains("out"), e.getMessage());
    }
}
