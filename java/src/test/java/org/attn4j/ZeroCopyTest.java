package org.attn4j;

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
}
