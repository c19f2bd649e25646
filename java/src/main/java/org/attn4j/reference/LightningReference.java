package org.attn4j.reference;

import org.attn4j.LightningAttention;
import org.attn4j.Tensor;

/**
 * Plain fp64 Lightning Attention in its quadratic form,
 * {@code o_i = sum_{j <= i} lambda^(i-j) (q_i . k_j) v_j + lambda^(i+1) q_i S0}, and the state
 * {@code S = lambda^N S0 + sum_j lambda^(N-1-j) k_j^T v_j}: what {@link LightningAttention} is checked against.
 *
 * <pre>{@code
 * double[] expected = LightningReference.forward(q, k, v, null, lightning.options()); // dense [B,Hq,N,dv]
 * }</pre>
 */
public final class LightningReference {
    private LightningReference() {}

    /** Outputs, dense {@code [B, Hq, N, dv]}; {@code state0} may be null (zero initial state). */
    public static double[] forward(Tensor q, Tensor k, Tensor v, Tensor state0, LightningAttention.Options o) {
        long b = q.shape(0), h = q.shape(1), n = q.shape(2), dv = v.shape(3);
        double[] out = new double[Math.toIntExact(b * h * n * dv)];
        double[] row = new double[(int) dv];
        for (long bi = 0; bi < b; bi++)
            for (long hi = 0; hi < h; hi++)
                for (long i = 0; i < n; i++) {
                    row(q, k, v, state0, o, bi, hi, i, row);
                    System.arraycopy(row, 0, out, (int) (((bi * h + hi) * n + i) * dv), (int) dv);
                }
        return out;
    }

    /** Output row {@code [b, h, i, :]} into {@code out} (O(i (d + dv)), so long sequences can be sampled). */
    public static void row(Tensor q, Tensor k, Tensor v, Tensor state0, LightningAttention.Options o, long b, long h, long i,
            double[] out) {
        long d = q.shape(3), dv = v.shape(3), kh = h / (q.shape(1) / k.shape(1));
        float[] slopes = o.slopes();
        double slope = slopes == null ? 0 : slopes[(int) h];
        java.util.Arrays.fill(out, 0.0);
        for (long j = 0; j <= i; j++) {
            double dot = 0;
            for (long e = 0; e < d; e++) dot += (double) q.get(b, h, i, e) * k.get(b, kh, j, e);
            double w = Math.exp(-slope * (i - j)) * dot;
            for (long c = 0; c < dv; c++) out[(int) c] += w * v.get(b, kh, j, c);
        }
        if (state0 != null) {
            double f = Math.exp(-slope * (i + 1));
            for (long e = 0; e < d; e++) {
                double qe = f * q.get(b, h, i, e);
                for (long c = 0; c < dv; c++) out[(int) c] += qe * state0.get(b, h, e, c);
            }
        }
    }

    /** The state after the last token, dense {@code [B, Hq, d, dv]}. */
    public static double[] finalState(Tensor k, Tensor v, long headsQ, Tensor state0, LightningAttention.Options o) {
        long b = k.shape(0), n = k.shape(2), d = k.shape(3), dv = v.shape(3), group = headsQ / k.shape(1);
        float[] slopes = o.slopes();
        double[] s = new double[Math.toIntExact(b * headsQ * d * dv)];
        for (long bi = 0; bi < b; bi++)
            for (long hi = 0; hi < headsQ; hi++) {
                long kh = hi / group;
                double slope = slopes == null ? 0 : slopes[(int) hi];
                int base = (int) ((bi * headsQ + hi) * d * dv);
                double fn = Math.exp(-slope * n);
                for (long e = 0; e < d; e++)
                    for (long c = 0; c < dv; c++)
                        s[base + (int) (e * dv + c)] = state0 == null ? 0 : fn * state0.get(bi, hi, e, c);
                for (long j = 0; j < n; j++) {
                    double f = Math.exp(-slope * (n - 1 - j));
                    for (long e = 0; e < d; e++) {
                        double ke = f * k.get(bi, kh, j, e);
                        for (long c = 0; c < dv; c++) s[base + (int) (e * dv + c)] += ke * v.get(bi, kh, j, c);
                    }
                }
            }
        return s;
    }
}
