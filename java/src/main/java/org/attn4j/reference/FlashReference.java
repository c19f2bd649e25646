package org.attn4j.reference;

import org.attn4j.FlashAttention;
import org.attn4j.Tensor;

/**
 * Plain fp64 attention, {@code softmax(scale * q k^T + mask) v}, with the same options and mask
 * rules as {@link FlashAttention}: the yardstick the native kernels are checked against from Java.
 * O(Nq * Nk * d); {@link #row} computes a single query row so large problems can be sampled.
 *
 * <pre>{@code
 * double[] expected = FlashReference.forward(q, k, v, attention.options()); // dense [B,Hq,Nq,dv]
 * }</pre>
 */
public final class FlashReference {
    private FlashReference() {}

    /** Whole output, dense BHND {@code [B, Hq, Nq, dv]}. */
    public static double[] forward(Tensor q, Tensor k, Tensor v, FlashAttention.Options o) {
        long b = q.shape(0), h = q.shape(1), n = q.shape(2), dv = v.shape(3);
        double[] out = new double[Math.toIntExact(b * h * n * dv)];
        double[] row = new double[(int) dv];
        for (long bi = 0; bi < b; bi++)
            for (long hi = 0; hi < h; hi++)
                for (long i = 0; i < n; i++) {
                    row(q, k, v, o, bi, hi, i, row);
                    System.arraycopy(row, 0, out, (int) (((bi * h + hi) * n + i) * dv), (int) dv);
                }
        return out;
    }

    /** Log-sum-exp of every row, dense {@code [B, Hq, Nq]}; -infinity for rows that see no key. */
    public static double[] logSumExp(Tensor q, Tensor k, Tensor v, FlashAttention.Options o) {
        long b = q.shape(0), h = q.shape(1), n = q.shape(2);
        double[] lse = new double[Math.toIntExact(b * h * n)];
        double[] row = new double[(int) v.shape(3)];
        for (long bi = 0; bi < b; bi++)
            for (long hi = 0; hi < h; hi++)
                for (long i = 0; i < n; i++) lse[(int) ((bi * h + hi) * n + i)] = row(q, k, v, o, bi, hi, i, row);
        return lse;
    }

    /** Output row {@code [b, h, i, :]} into {@code out}; returns the row's log-sum-exp. */
    public static double row(Tensor q, Tensor k, Tensor v, FlashAttention.Options o, long b, long h, long i, double[] out) {
        long nq = q.shape(2), nk = k.shape(2), d = q.shape(3), dv = v.shape(3);
        long kh = h / (q.shape(1) / k.shape(1));
        // The default scale is the fp32 value 1/sqrt(d), as the native library computes it.
        double scale = o.scale() != 0 ? o.scale() : 1.0f / (float) Math.sqrt(d);
        long pos = i + nk - nq;
        long right = o.causal() ? 0 : o.windowRight();
        long lo = o.windowLeft() < 0 ? 0 : Math.max(0, pos - o.windowLeft());
        long hi = right < 0 ? nk : Math.min(nk, Math.max(0, pos + right + 1));
        java.util.Arrays.fill(out, 0.0);
        if (lo >= hi) {
            return Double.NEGATIVE_INFINITY;
        }
        double[] s = new double[(int) (hi - lo)];
        double max = Double.NEGATIVE_INFINITY;
        for (long j = lo; j < hi; j++) {
            double dot = 0;
            for (long e = 0; e < d; e++) dot += (double) q.get(b, h, i, e) * k.get(b, kh, j, e);
            double x = dot * scale;
            if (o.softcap() > 0) x = o.softcap() * Math.tanh(x / o.softcap());
            s[(int) (j - lo)] = x;
            max = Math.max(max, x);
        }
        double sum = 0;
        for (double x : s) sum += Math.exp(x - max);
        for (long j = lo; j < hi; j++) {
            double w = Math.exp(s[(int) (j - lo)] - max) / sum;
            for (long e = 0; e < dv; e++) out[(int) e] += w * v.get(b, kh, j, e);
        }
        return max + Math.log(sum);
    }
}
