package org.attn4j.reference;

import java.util.Arrays;
import org.attn4j.SaleAttention;
import org.attn4j.SaleMask;
import org.attn4j.Tensor;

/**
 * fp64 block-sparse attention: {@code softmax(scale * q k^T + mask) v} where keys of blocks not set in
 * the {@link SaleMask} are masked like keys right of the causal diagonal. Rows that keep no key give
 * 0. The yardstick for {@link SaleAttention#blockSparse} and for SALE's output under its own mask;
 * {@link #row} computes a single query row so large problems can be sampled.
 *
 * <pre>{@code
 * double[] expected = SaleReference.forward(q, k, v, sale.options(), mask); // dense [B,Hq,Nq,dv]
 * }</pre>
 */
public final class SaleReference {
    private SaleReference() {}

    /** Whole output, dense BHND {@code [B, Hq, Nq, dv]}. */
    public static double[] forward(Tensor q, Tensor k, Tensor v, SaleAttention.Options o, SaleMask mask) {
        long bs = q.shape(0), hs = q.shape(1), nq = q.shape(2), dv = v.shape(3);
        double[] out = new double[Math.toIntExact(bs * hs * nq * dv)];
        double[] row = new double[(int) dv];
        for (long b = 0; b < bs; b++)
            for (long h = 0; h < hs; h++)
                for (long i = 0; i < nq; i++) {
                    row(q, k, v, o, mask, b, h, i, row);
                    System.arraycopy(row, 0, out, (int) (((b * hs + h) * nq + i) * dv), (int) dv);
                }
        return out;
    }

    /** Output row {@code [b, h, i, :]} into {@code out} (returned). */
    public static double[] row(Tensor q, Tensor k, Tensor v, SaleAttention.Options o, SaleMask mask, long b, long h, long i,
            double[] out) {
        long nq = q.shape(2), nk = k.shape(2), d = q.shape(3), dv = v.shape(3), kh = h / (q.shape(1) / k.shape(1));
        double scale = o.scale() != 0 ? o.scale() : 1.0f / (float) Math.sqrt(d);
        long hi = o.causal() ? Math.min(nk, Math.max(0, i + nk - nq + 1)) : nk;
        double[] s = new double[(int) hi];
        double max = Double.NEGATIVE_INFINITY;
        for (long j = 0; j < hi; j++) {
            s[(int) j] = Double.NEGATIVE_INFINITY;
            if (!mask.isSet(b, h, i / mask.blockQ(), j / mask.blockK())) continue;
            double dot = 0;
            for (long e = 0; e < d; e++) dot += (double) q.get(b, h, i, e) * k.get(b, kh, j, e);
            s[(int) j] = dot * scale;
            max = Math.max(max, s[(int) j]);
        }
        Arrays.fill(out, 0.0);
        if (max == Double.NEGATIVE_INFINITY) return out;
        double sum = 0;
        for (double x : s) sum += Math.exp(x - max);
        for (long j = 0; j < hi; j++) {
            double w = Math.exp(s[(int) j] - max) / sum;
            if (w == 0) continue;
            for (long e = 0; e < dv; e++) out[(int) e] += w * v.get(b, kh, j, e);
        }
        return out;
    }
}
