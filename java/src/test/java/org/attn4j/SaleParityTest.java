package org.attn4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.Properties;
import org.attn4j.reference.StructuredInputs;
import org.junit.jupiter.api.Test;

/**
 * SALE parity: the C++ suite's structured inputs (regenerated here by the Java generator, which must
 * give the same values), through Java -> native, must give the C++ mask and output bit for bit on the
 * same ISA, and the fp64 attention over that mask within tolerance.
 */
class SaleParityTest {

    @Test
    void javaNativeCppAndReferenceAgree() throws IOException {
        for (Path c : ParityCases.list("sale_")) {
            checkCase(c);
        }
    }

    private static void checkCase(Path dir) throws IOException {
        Properties p = ParityCases.properties(dir);
        String name = dir.getFileName().toString();
        DType dtype = p.getProperty("dtype").equals("bf16") ? DType.BF16 : DType.F32;
        SaleAttention sale = SaleAttention.builder().causal(Boolean.parseBoolean(p.getProperty("causal")))
                .threshold(Float.parseFloat(p.getProperty("tau")))
                .blocks(Integer.parseInt(p.getProperty("block_q")), Integer.parseInt(p.getProperty("block_k"))).build();
        try (Arena arena = Arena.ofConfined()) {
            Npy q = Npy.read(dir.resolve("q.npy")), k = Npy.read(dir.resolve("k.npy")), v = Npy.read(dir.resolve("v.npy"));
            Npy outCpp = Npy.read(dir.resolve("out_cpp.npy")), outRef = Npy.read(dir.resolve("out_ref.npy"));
            Npy maskCpp = Npy.read(dir.resolve("mask_cpp.npy"));
            Tensor tq = Tensor.allocate(arena, dtype, q.shape()), tk = Tensor.allocate(arena, dtype, k.shape());
            Tensor tv = Tensor.allocate(arena, dtype, v.shape());
            StructuredInputs.fill(StructuredInputs.Pattern.values()[Integer.parseInt(p.getProperty("pattern"))],
                    Long.parseLong(p.getProperty("seed")), tq, tk, tv);
            assertArrayEquals(q.floats(), tq.toFloatArray(), name + ": Java generator differs from C++ (q)");
            assertArrayEquals(k.floats(), tk.toFloatArray(), name + ": Java generator differs from C++ (k)");
            assertArrayEquals(v.floats(), tv.toFloatArray(), name + ": Java generator differs from C++ (v)");

            SaleMask mask = SaleMask.allocate(arena, tq, tk, sale.options());
            mask.segment().fill((byte) 0x5A);
            Tensor out = Tensor.allocate(arena, DType.F32, outCpp.shape());
            out.fill(Float.NaN);
            sale.forward(tq, tk, tv, out, null, mask);
            double tol = dtype == DType.BF16 ? 1e-2 : 1e-5;
            double err = TestInputs.relL2(out, outRef.doubles());
            assertTrue(err <= tol, name + ": rel. L2 vs reference " + err);
            assertEquals(Double.parseDouble(p.getProperty("density")), mask.density(), 1e-6, name + ": density");
            if (ParityCases.sameIsa(p)) {
                assertArrayEquals(outCpp.floats(), out.toFloatArray(), name + ": Java and C++ outputs differ");
                byte[] bits = mask.segment().toArray(ValueLayout.JAVA_BYTE);
                float[] expected = maskCpp.floats();
                assertEquals(expected.length, bits.length, name + ": mask size");
                for (int i = 0; i < bits.length; i++) assertEquals((int) expected[i], bits[i] & 0xFF, name + ": mask byte " + i);
            }
        }
    }
}
