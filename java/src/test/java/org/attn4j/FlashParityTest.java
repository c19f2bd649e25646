package org.attn4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Properties;
import java.util.stream.Stream;
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
        Path dir = Path.of(System.getProperty("attn4j.parity.dir", "../build/parity"));
        boolean required = Boolean.getBoolean("attn4j.parity.required");
        List<Path> cases;
        try (Stream<Path> s = Files.isDirectory(dir) ? Files.list(dir) : Stream.empty()) {
            cases = s.filter(p -> p.getFileName().toString().startsWith("flash_")).sorted().toList();
        }
        if (required) {
            assertFalse(cases.isEmpty(), "no parity vectors in " + dir + ": run ctest first (ci/test.sh does)");
        }
        assumeTrue(!cases.isEmpty(), "no parity vectors in " + dir + " (written by ctest); skipping");
        for (Path c : cases) {
            checkCase(c);
        }
    }

    private static void checkCase(Path dir) throws IOException {
        Properties p = new Properties();
        try (InputStream in = Files.newInputStream(dir.resolve("case.properties"))) {
            p.load(in);
        }
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
            if (Attn4j.cpuIsa().name().equalsIgnoreCase(p.getProperty("isa"))) {
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
