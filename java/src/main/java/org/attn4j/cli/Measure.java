package org.attn4j.cli;

import java.lang.foreign.Arena;
import java.util.Arrays;
import java.util.Locale;
import java.util.Random;
import org.attn4j.DType;
import org.attn4j.Tensor;

/** Timing, seeded inputs and the sampled check against an fp64 reference, shared by the commands. */
final class Measure {
    /** Elements a heap array holds at a time when filling or comparing tensors of any size. */
    private static final int CHUNK = 1 << 20;

    private Measure() {}

    interface RowReference {
        double[] row(long b, long h, long i);
    }

    /** Sampled rows of an output against a reference, row by row. */
    record Check(long rows, double maxErr, double relL2, double tolerance) {
        boolean ok() {
            return relL2 <= tolerance;
        }

        int print(String against) {
            System.out.printf(Locale.ROOT, "check  %d rows vs %s: max abs error %.3e, rel L2 %.3e (tolerance %.0e) %s%n",
                    rows, against, maxErr, relL2, tolerance, ok() ? "OK" : "FAILED");
            return ok() ? 0 : 1;
        }
    }

    /** Up to {@code wanted} rows (0 = all) of {@code out} [B, H, N, dv] against {@code reference}. */
    static Check check(Tensor out, int wanted, RowReference reference, DType dtype) {
        long heads = out.shape(1), seq = out.shape(2), dimV = out.shape(3), rows = out.shape(0) * heads * seq;
        long step = wanted <= 0 || rows <= wanted ? 1 : rows / wanted;
        double maxErr = 0, errSq = 0, refSq = 0;
        long checked = 0;
        for (long r = 0; r < rows; r += step, checked++) {
            long b = r / (heads * seq), h = (r / seq) % heads, i = r % seq;
            double[] ref = reference.row(b, h, i);
            for (int e = 0; e < dimV; e++) {
                double got = out.get(b, h, i, e), diff = Double.isNaN(got) ? Double.POSITIVE_INFINITY : got - ref[e];
                maxErr = Math.max(maxErr, Math.abs(diff));
                errSq += diff * diff;
                refSq += ref[e] * ref[e];
            }
        }
        double relL2 = refSq == 0 ? Math.sqrt(errSq) : Math.sqrt(errSq / refSq);
        return new Check(checked, maxErr, relL2, dtype == DType.BF16 ? 1e-2 : 1e-5);
    }

    /** One warm-up, then {@code iters} timed runs; seconds, sorted. */
    static double[] time(int iters, Runnable run) {
        run.run();
        double[] times = new double[iters];
        for (int it = 0; it < iters; it++) {
            long t0 = System.nanoTime();
            run.run();
            times[it] = (System.nanoTime() - t0) / 1e9;
        }
        Arrays.sort(times);
        return times;
    }

    /** A contiguous tensor of N(0, std^2) values, drawn in BHND order (filled chunk by chunk: no heap copy of it). */
    static Tensor random(Arena arena, DType dtype, Random rng, float std, long... shape) {
        Tensor t = Tensor.allocate(arena, dtype, shape);
        for (long start = 0; start < t.elementCount(); start += CHUNK) {
            float[] data = new float[(int) Math.min(CHUNK, t.elementCount() - start)];
            for (int i = 0; i < data.length; i++) {
                data[i] = (float) (rng.nextGaussian() * std);
            }
            chunk(t, start, data.length).copyFrom(data);
        }
        return t;
    }

    /** Relative L2 distance between two contiguous tensors of the same shape. */
    static double relL2(Tensor got, Tensor ref) {
        double num = 0, den = 0;
        for (long start = 0; start < got.elementCount(); start += CHUNK) {
            int n = (int) Math.min(CHUNK, got.elementCount() - start);
            float[] g = chunk(got, start, n).toFloatArray(), r = chunk(ref, start, n).toFloatArray();
            for (int i = 0; i < n; i++) {
                num += ((double) g[i] - r[i]) * ((double) g[i] - r[i]);
                den += (double) r[i] * r[i];
            }
        }
        return den == 0 ? Math.sqrt(num) : Math.sqrt(num / den);
    }

    /** Elements {@code [start, start + n)} of a contiguous tensor, as a view. */
    private static Tensor chunk(Tensor t, long start, int n) {
        long size = t.dtype().byteSize();
        return Tensor.wrap(t.segment().asSlice(start * size, n * size), t.dtype(), new long[] {1, 1, 1, n});
    }
}
