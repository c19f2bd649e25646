package org.attn4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Properties;
import org.attn4j.reference.LightningReference;
import org.junit.jupiter.api.Test;

/**
 * Lightning parity: the C++ suite's inputs go through Java -> native and must give the C++ output
 * and state bit for bit (same ISA), the fp64 reference within tolerance, and the Java reference
 * must agree with the C++ one.
 */
class LightningParityTest {

    @Test
    void javaNativeCppAndReferenceAgree() throws IOException {
        for (Path c : ParityCases.list("lightning_")) {
            checkCase(c);
        }
    }

    private static void checkCase(Path dir) throws IOException {
        Properties p = ParityCases.properties(dir);
        String name = dir.getFileName().toString();
        DType dtype = p.getProperty("dtype").equals("bf16") ? DType.BF16 : DType.F32;
        String slopeList = p.getProperty("slopes").trim();
        float[] slopes = slopeList.isEmpty() ? null
                : toFloats(Arrays.stream(slopeList.split(",")).mapToDouble(Double::parseDouble).toArray());
        LightningAttention lightning = LightningAttention.builder()
                .slopes(slopes).blockSize(Integer.parseInt(p.getProperty("block"))).build();
        try (Arena arena = Arena.ofConfined()) {
            Npy q = Npy.read(dir.resolve("q.npy")), k = Npy.read(dir.resolve("k.npy")), v = Npy.read(dir.resolve("v.npy"));
            Npy outCpp = Npy.read(dir.resolve("out_cpp.npy")), stateCpp = Npy.read(dir.resolve("state_cpp.npy"));
            Npy outRef = Npy.read(dir.resolve("out_ref.npy")), stateRef = Npy.read(dir.resolve("state_ref.npy"));
            Tensor tq = Tensor.of(arena, dtype, q.floats(), q.shape());
            Tensor tk = Tensor.of(arena, dtype, k.floats(), k.shape());
            Tensor tv = Tensor.of(arena, dtype, v.floats(), v.shape());
            long[] s = stateCpp.shape();
            Tensor state0 = null;
            try (LightningState state = LightningState.allocate(s[0], s[1], s[2], s[3])) {
                Path init = dir.resolve("state_in.npy");
                if (Files.exists(init)) {
                    Npy si = Npy.read(init);
                    state.tensor().copyFrom(si.floats());
                    state0 = Tensor.of(arena, si.floats(), si.shape());
                }
                Tensor out = Tensor.allocate(arena, DType.F32, outCpp.shape());
                out.fill(Float.NaN);
                lightning.forward(tq, tk, tv, out, state);

                if (ParityCases.sameIsa(p)) {
                    assertArrayEquals(outCpp.floats(), out.toFloatArray(), name + ": Java and C++ outputs differ");
                    assertArrayEquals(stateCpp.floats(), state.tensor().toFloatArray(), name + ": Java and C++ states differ");
                }
                double tol = dtype == DType.BF16 ? 1e-2 : 1e-5;
                double err = TestInputs.relL2(out, outRef.doubles());
                assertTrue(err <= tol, name + ": relative L2 error vs the C++ fp64 reference " + err);
                double serr = TestInputs.relL2(state.tensor(), stateRef.doubles());
                assertTrue(serr <= tol, name + ": relative L2 error of the state " + serr);
            }
            double[] javaRef = LightningReference.forward(tq, tk, tv, state0, lightning.options());
            double[] cppRef = outRef.doubles();
            for (int i = 0; i < cppRef.length; i++) {
                assertEquals(cppRef[i], javaRef[i], 1e-9 * (1 + Math.abs(cppRef[i])), name + ": Java and C++ references differ at " + i);
            }
        }
    }

    private static float[] toFloats(double[] d) {
        float[] f = new float[d.length];
        for (int i = 0; i < d.length; i++) f[i] = (float) d[i];
        return f;
    }
}
