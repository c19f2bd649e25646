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
        long b = q.shape(0), h = q.shape(1), n = q.shape(2), d = q.shape(3), dv = v.shape(3);
        long group = h / k.shape(1);
        float[] slopes = o.slopes();
        double[] out = new double[Math.toIntExact(b * h * n * dv)];
        for (long bi = 0; bi < b; bi++)
            for (long hi = 0; hi < h; hi++) {
                long kh = hi / group;
                double slope = slopes == null ? 0 : slopes[(int) hi];
                for (long i = 0; i < n; i++) {
                    int base = (int) (((bi * h + hi) * n + i) * dv);
                    for (long j = 0; j <= i; j++) {
                        double dot = 0;
                        for (long e = 0; e < d; e++) dot += (double) q.get(bi, hi, i, e) * k.get(bi, kh, j, e);
                        double w = Math.exp(-slope * (i - j)) * dot;
                        for (long c = 0; c < dv; c++) out[base + (int) c] += w * v.get(bi, kh, j, c);
                    }
                    if (state0 != null) {
                        double f = Math.exp(-slope * (i + 1));
                        for (long e = 0; e < d; e++) {
                            double qe = f * q.get(bi, hi, i, e);
                            for (long c = 0; c < dv; c++) out[base + (int) c] += qe * state0.get(bi, hi, e, c);
                        }
                    }
                }
            }
        return out;
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
