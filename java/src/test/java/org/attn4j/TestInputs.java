package org.attn4j;

import java.lang.foreign.Arena;
import java.util.Random;

/** Seeded inputs for the Java tests; the run's seed is fresh unless -Dattn4j.seed is given. */
final class TestInputs {
    static final long SEED = Long.getLong("attn4j.seed", new Random().nextLong());

    private TestInputs() {}

    static String seedNote() {
        return "seed " + SEED + " (rerun with -Dattn4j.seed=" + SEED + ")";
    }

    /** A contiguous or BNHD-strided tensor of N(0, std) values. */
    static Tensor random(Arena arena, Random rng, DType dtype, boolean bnhd, float std, long... shape) {
        Tensor t;
        if (bnhd) {
            long[] strides = {shape[2] * shape[1] * shape[3], shape[3], shape[1] * shape[3], 1};
            long bytes = Math.max(1, Tensor.elementCount(shape) * dtype.byteSize());
            t = Tensor.wrap(arena.allocate(bytes, 64), dtype, shape, strides);
        } else {
            t = Tensor.allocate(arena, dtype, shape);
        }
        float[] data = new float[(int) t.elementCount()];
        for (int i = 0; i < data.length; i++) data[i] = (float) (rng.nextGaussian() * std);
        t.copyFrom(data);
        return t;
    }

    /** Relative L2 error of a tensor against a dense reference; +infinity if any element is NaN. */
    static double relL2(Tensor got, double[] ref) {
        float[] g = got.toFloatArray();
        double num = 0, den = 0;
        for (int i = 0; i < g.length; i++) {
            if (Float.isNaN(g[i])) return Double.POSITIVE_INFINITY;
            num += (g[i] - ref[i]) * (g[i] - ref[i]);
            den += ref[i] * ref[i];
        }
        return den == 0 ? Math.sqrt(num) : Math.sqrt(num / den);
    }
}
