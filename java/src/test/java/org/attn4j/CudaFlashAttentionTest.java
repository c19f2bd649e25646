package org.attn4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.foreign.Arena;
import java.util.Random;
import org.attn4j.reference.FlashReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * FlashAttention on a CUDA device from Java: device tensors from an arena, copies, the kernel, and the
 * fp64 reference on the host copies. The device tests skip, with the reason, where there is no GPU.
 */
class CudaFlashAttentionTest {

    private static void requireGpu() {
        assumeTrue(Attn4j.cudaDeviceCount() > 0,
                "no CUDA device (built with CUDA: " + Attn4j.cudaAvailable() + "): GPU tests skipped");
    }

    @ParameterizedTest(name = "{0} d={1} causal={2} gqa={3}")
    @CsvSource({"BF16, 64, false, 1", "BF16, 128, true, 4", "F16, 128, false, 2", "F16, 64, true, 1"})
    void matchesTheReferenceOnTheGpu(DType dtype, long d, boolean causal, int group) {
        requireGpu();
        Device gpu = Device.cuda(0);
        long b = 2, hkv = 2, hq = hkv * group, nq = 200, nk = 333;
        try (Arena arena = Arena.ofConfined()) {
            Random rng = new Random(TestInputs.SEED);
            Tensor hq16 = TestInputs.random(arena, rng, dtype, false, 1f, b, hq, nq, d);
            Tensor hk16 = TestInputs.random(arena, rng, dtype, false, 1f, b, hkv, nk, d);
            Tensor hv16 = TestInputs.random(arena, rng, dtype, false, 1f, b, hkv, nk, d);
            Tensor dq = Tensor.allocate(arena, dtype, gpu, hq16.shape()), dk = Tensor.allocate(arena, dtype, gpu, hk16.shape());
            Tensor dv = Tensor.allocate(arena, dtype, gpu, hv16.shape());
            Tensor.copy(hq16, dq);
            Tensor.copy(hk16, dk);
            Tensor.copy(hv16, dv);
            Tensor dout = Tensor.allocate(arena, DType.F32, gpu, b, hq, nq, d);
            Tensor dlse = Tensor.allocate(arena, DType.F32, gpu, b, hq, nq, 1);
            FlashAttention attention = FlashAttention.builder().causal(causal).build();
            attention.forward(dq, dk, dv, dout, dlse);
            Attn4j.synchronize(gpu);
            Tensor out = Tensor.allocate(arena, DType.F32, b, hq, nq, d);
            out.fill(Float.NaN);
            Tensor.copy(dout, out);
            double err = TestInputs.relL2(out, FlashReference.forward(hq16, hk16, hv16, attention.options()));
            assertTrue(err <= 1e-2, TestInputs.seedNote() + ": relative L2 error on the GPU " + err);
        }
    }

    @Test
    void deviceTensorsCannotBeReadFromJava() {
        requireGpu();
        try (Arena arena = Arena.ofConfined()) {
            Tensor t = Tensor.allocate(arena, DType.BF16, Device.cuda(0), 1, 1, 4, 64);
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> t.get(0, 0, 0, 0));
            assertTrue(e.getMessage().contains("copy it to a host tensor first"), e.getMessage());
            assertEquals(4 * 64 * 2, t.capacity());
        }
    }

    @Test
    void deviceMemoryIsFreedWithItsArena() {
        requireGpu();
        // 400 x 1 GiB: far beyond any GPU's memory unless every arena gives its allocation back.
        for (int i = 0; i < 400; i++) {
            try (Arena arena = Arena.ofConfined()) {
                Tensor t = Tensor.allocate(arena, DType.BF16, Device.cuda(0), 1, 8, 1 << 16, 1024);
                assertEquals(1L << 30, t.capacity());
            }
        }
    }

    @Test
    void withoutAGpuAllocationFailsWithAClearMessage() {
        assumeTrue(Attn4j.cudaDeviceCount() == 0, "a CUDA device is present");
        try (Arena arena = Arena.ofConfined()) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> Tensor.allocate(arena, DType.BF16, Device.cuda(0), 1, 1, 4, 64));
            assertTrue(e.getMessage().contains("cuda:0: no such CUDA device"), e.getMessage());
        }
    }
}
