package org.attn4j;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.foreign.Arena;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Lightning Attention-2 on a CUDA device from Java: device tensors and a device state, against the
 * CPU kernels (themselves checked against fp64) on the same stored values. Skips without a GPU.
 */
class CudaLightningAttentionTest {

    @ParameterizedTest(name = "{0} d={1} group={2}")
    @CsvSource({"BF16, 64, 1", "BF16, 128, 4", "F16, 128, 2"})
    void prefillAndDecodeMatchTheCpuOnTheGpu(DType dtype, long d, int group) {
        assumeTrue(Attn4j.cudaDeviceCount() > 0,
                "no CUDA device (built with CUDA: " + Attn4j.cudaAvailable() + "): GPU tests skipped");
        Device gpu = Device.cuda(0);
        long b = 1, hkv = 2, hq = hkv * group, n = 300;
        LightningAttention lightning = LightningAttention.builder()
                .slopes(LightningAttention.transNormerSlopes((int) hq, 0, 1)).build();
        try (Arena arena = Arena.ofConfined(); LightningState cpuState = LightningState.allocate(b, hq, d, d);
                LightningState gpuState = LightningState.allocate(gpu, b, hq, d, d)) {
            Random rng = new Random(TestInputs.SEED);
            float std = (float) Math.pow(d, -0.25);
            Tensor q = TestInputs.random(arena, rng, dtype, false, std, b, hq, n, d);
            Tensor k = TestInputs.random(arena, rng, dtype, false, std, b, hkv, n, d);
            Tensor v = TestInputs.random(arena, rng, dtype, false, 1f, b, hkv, n, d);
            // The CPU kernels take bf16 or f32: f16 values go to them as f32 (exact).
            DType cpuType = dtype == DType.F16 ? DType.F32 : dtype;
            Tensor cq = Tensor.of(arena, cpuType, q.toFloatArray(), q.shape()), ck = Tensor.of(arena, cpuType, k.toFloatArray(), k.shape());
            Tensor cv = Tensor.of(arena, cpuType, v.toFloatArray(), v.shape());
            Tensor expected = Tensor.allocate(arena, DType.F32, b, hq, n, d);
            lightning.forward(cq, ck, cv, expected, cpuState);

            Tensor dq = Tensor.allocate(arena, dtype, gpu, q.shape()), dk = Tensor.allocate(arena, dtype, gpu, k.shape());
            Tensor dv = Tensor.allocate(arena, dtype, gpu, v.shape()), dout = Tensor.allocate(arena, DType.F32, gpu, b, hq, n, d);
            Tensor.copy(q, dq);
            Tensor.copy(k, dk);
            Tensor.copy(v, dv);
            lightning.forward(dq, dk, dv, dout, gpuState);
            Attn4j.synchronize(gpu);
            Tensor out = Tensor.allocate(arena, DType.F32, b, hq, n, d);
            out.fill(Float.NaN);
            Tensor.copy(dout, out);
            Tensor state = Tensor.allocate(arena, DType.F32, b, hq, d, d);
            Tensor.copy(gpuState.tensor(), state);
            double[] want = toDoubles(expected.toFloatArray()), wantState = toDoubles(cpuState.tensor().toFloatArray());
            double err = TestInputs.relL2(out, want), errState = TestInputs.relL2(state, wantState);
            assertTrue(err <= 1e-2, TestInputs.seedNote() + ": relative L2 error of out on the GPU " + err);
            assertTrue(errState <= 1e-2, TestInputs.seedNote() + ": relative L2 error of the state on the GPU " + errState);
        }
    }

    private static double[] toDoubles(float[] f) {
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) d[i] = f[i];
        return d;
    }
}
