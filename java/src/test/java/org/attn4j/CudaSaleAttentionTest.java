package org.attn4j;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.foreign.Arena;
import org.attn4j.reference.SaleReference;
import org.attn4j.reference.StructuredInputs;
import org.junit.jupiter.api.Test;

/**
 * SALE on a CUDA device from Java: device tensors and a device mask; the mask agrees with the CPU's
 * on the same inputs, and the output is attention over the GPU's own mask. Skips without a GPU.
 */
class CudaSaleAttentionTest {

    @Test
    void gpuMaskAgreesWithTheCpuAndTheOutputWithTheReference() {
        assumeTrue(Attn4j.cudaDeviceCount() > 0,
                "no CUDA device (built with CUDA: " + Attn4j.cudaAvailable() + "): GPU tests skipped");
        Device gpu = Device.cuda(0);
        long b = 1, hq = 2, hkv = 1, n = 1024, d = 128;
        SaleAttention sale = SaleAttention.builder().causal(true).threshold(0.01f).build();
        try (Arena arena = Arena.ofConfined()) {
            Tensor q = Tensor.allocate(arena, DType.BF16, b, hq, n, d), k = Tensor.allocate(arena, DType.BF16, b, hkv, n, d);
            Tensor v = Tensor.allocate(arena, DType.BF16, b, hkv, n, d);
            StructuredInputs.fill(StructuredInputs.Pattern.MIXED, TestInputs.SEED, q, k, v);
            SaleMask cpuMask = SaleMask.allocate(arena, q, k, sale.options());
            sale.forward(q, k, v, Tensor.allocate(arena, DType.F32, b, hq, n, d), null, cpuMask);

            Tensor dq = Tensor.allocate(arena, DType.BF16, gpu, q.shape()), dk = Tensor.allocate(arena, DType.BF16, gpu, k.shape());
            Tensor dv = Tensor.allocate(arena, DType.BF16, gpu, v.shape()), dout = Tensor.allocate(arena, DType.F32, gpu, b, hq, n, d);
            Tensor.copy(q, dq);
            Tensor.copy(k, dk);
            Tensor.copy(v, dv);
            SaleMask gpuMask = SaleMask.allocate(arena, dq, dk, sale.options());
            sale.forward(dq, dk, dv, dout, null, gpuMask);
            Attn4j.synchronize(gpu);
            assertTrue(Double.isNaN(gpuMask.density()), "a device mask's density is not read back");
            assertThrows(IllegalStateException.class, () -> gpuMask.isSet(0, 0, 0, 0));
            SaleMask seen = SaleMask.allocate(arena, q, k, sale.options());
            gpuMask.copyTo(seen);
            Tensor out = Tensor.allocate(arena, DType.F32, b, hq, n, d);
            Tensor.copy(dout, out);

            long same = 0, total = 0;
            for (long h = 0; h < hq; h++)
                for (long i = 0; i < seen.queryBlocks(); i++)
                    for (long j = 0; j <= i; j++) {
                        same += seen.isSet(0, h, i, j) == cpuMask.isSet(0, h, i, j) ? 1 : 0;
                        total++;
                    }
            assertTrue(same >= 0.99 * total, same + " of " + total + " blocks agree with the CPU mask, " + TestInputs.seedNote());
            double err = TestInputs.relL2(out, SaleReference.forward(q, k, v, sale.options(), seen));
            assertTrue(err <= 1e-2, "rel. L2 against attention over the GPU mask " + err + ", " + TestInputs.seedNote());
        }
    }
}
