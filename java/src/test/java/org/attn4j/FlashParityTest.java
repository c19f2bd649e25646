package org.attn4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.Properties;
import org.attn4j.reference.FlashReference;
import org.junit.jupiter.api.Test;

/**
 * Cross-language parity: the C++ suite writes inputs, its own output and the fp64 reference as
 * .npy; here the same bytes go through Java -> native and must match the C++ output bit for bit,
 * the C++ reference within tolerance, and the Java reference must agree with the C++ one.
 */
class FlashParityTest {

    @Test
    void javaNativeCppAndReferenceAgree() throws IOException {
        for (Path c : ParityCases.list("flash_")) {
            checkCase(c);
        }
    }

    private static void checkCase(Path dir) throws IOException {
        Properties p = ParityCases.properties(dir);
        String name = dir.getFileName().toString();
        DType dtype = p.getProperty("dtype").equals("bf16") ? DType.BF16 : DType.F32;
        FlashAttention attention = FlashAttention.builder()
                .causal(Boolean.parseBoolean(p.getProperty("causal")))
                .window(Integer.parseInt(p.getProperty("window_left")), Integer.parseInt(p.getProperty("window_right")))
                .scale(Float.parseFloat(p.getProperty("scale")))
                .softcap(Float.parseFloat(p.getProperty("softcap")))
                .build();
        try (Arena arena = Arena.ofConfined()) {
            Npy q = Npy.read(dir.resolve("q.npy")), k = Npy.read(dir.resolve("k.npy")), v = Npy.read(dir.resolve("v.npy"));
            Npy outCpp = Npy.read(dir.resolve("out_cpp.npy")), outRef = Npy.read(dir.resolve("out_ref.npy"));
            Npy lseRef = Npy.read(dir.resolve("lse_ref.npy"));
            Tensor tq = Tensor.of(arena, dtype, q.floats(), q.shape());
            Tensor tk = Tensor.of(arena, dtype, k.floats(), k.shape());
            Tensor tv = Tensor.of(arena, dtype, v.floats(), v.shape());
            Tensor out = Tensor.allocate(arena, DType.F32, outCpp.shape());
            Tensor lse = Tensor.allocate(arena, DType.F32, lseRef.shape());
            out.fill(Float.NaN);
            attention.forward(tq, tk, tv, out, lse);

            // Java -> native == C++ -> native, bit for bit, when both ran the same ISA.
            if (ParityCases.sameIsa(p)) {
                assertArrayEquals(outCpp.floats(), out.toFloatArray(), name + ": Java and C++ outputs differ");
            }
            double tol = dtype == DType.BF16 ? 1e-2 : 1e-5;
            double err = TestInputs.relL2(out, outRef.doubles());
            assertTrue(err <= tol, name + ": relative L2 error vs the C++ fp64 reference " + err);
            double[] javaRef = FlashReference.forward(tq, tk, tv, attention.options());
            double[] cppRef = outRef.doubles();
            for (int i = 0; i < cppRef.length; i++) {
                assertEquals(cppRef[i], javaRef[i], 1e-9 * (1 + Math.abs(cppRef[i])), name + ": Java and C++ references differ at " + i);
            }
            double[] refLse = lseRef.doubles();
            float[] gotLse = lse.toFloatArray();
            for (int i = 0; i < refLse.length; i++) {
                if (Double.isInfinite(refLse[i])) {
                    assertEquals(Float.NEGATIVE_INFINITY, gotLse[i], name + ": lse row " + i);
                } else {
                    assertEquals(refLse[i], gotLse[i], 1e-4 * (1 + Math.abs(refLse[i])), name + ": lse row " + i);
                }
            }
        }
    }
}
