package example;

import java.lang.foreign.Arena;
import org.attn4j.DType;
import org.attn4j.FlashAttention;
import org.attn4j.LightningAttention;
import org.attn4j.LightningState;
import org.attn4j.SaleAttention;
import org.attn4j.SaleMask;
import org.attn4j.Tensor;

/** What a user writes: the three kernels of org.attn4j:attn4j on one set of inputs. */
public final class ThreeKernels {
    /** Rotary-style features: rows i and j score about sum_f cos((i - j) w_f), largest near i = j. */
    static void positional(Tensor t) {
        long heads = t.shape(1), seq = t.shape(2), half = t.shape(3) / 2;
        for (long h = 0; h < heads; h++)
            for (long i = 0; i < seq; i++)
                for (long f = 0; f < half; f++) {
                    double w = 0.05 * Math.pow(20, (double) f / (half - 1)) * (1 + 0.1 * h);
                    t.set(0, h, i, 2 * f, (float) (2.5 * Math.cos(i * w)));
                    t.set(0, h, i, 2 * f + 1, (float) (2.5 * Math.sin(i * w)));
                }
    }

    public static void main(String[] args) {
        int heads = 4, seq = 4096, dim = 64;
        try (Arena arena = Arena.ofConfined()) {
            Tensor q = Tensor.allocate(arena, DType.F32, 1, heads, seq, dim);
            Tensor k = Tensor.allocate(arena, DType.F32, 1, heads, seq, dim);
            Tensor v = Tensor.allocate(arena, DType.F32, 1, heads, seq, dim);
            positional(q);  // each query most like the keys near it, as rotary features make it
            positional(k);
            for (long h = 0; h < heads; h++)
                for (long i = 0; i < seq; i++)
                    for (long e = 0; e < dim; e++) v.set(0, h, i, e, (float) Math.sin(0.37 * i + e + h));

            // Exact attention.
            Tensor dense = FlashAttention.builder().causal(true).build().forward(arena, q, k, v);
            System.out.printf("flash      out[0,0,100,0] = %.5f%n", dense.get(0, 0, 100, 0));

            // Sparse attention: only the blocks that matter, and how many that were.
            SaleAttention sale = SaleAttention.builder().causal(true).threshold(0.01f).build();
            SaleMask mask = SaleMask.allocate(arena, q, k, sale.options());
            Tensor sparse = Tensor.allocate(arena, DType.F32, 1, heads, seq, dim);
            sale.forward(q, k, v, sparse, null, mask);
            double num = 0, den = 0;
            for (long h = 0; h < heads; h++)
                for (long i = 0; i < seq; i++)
                    for (long e = 0; e < dim; e++) {
                        double a = sparse.get(0, h, i, e), b = dense.get(0, h, i, e);
                        num += (a - b) * (a - b);
                        den += b * b;
                    }
            System.out.printf("sale       density %.3f, error vs flash %.2e%n", mask.density(), Math.sqrt(num / den));

            // Linear attention with decay: a prefill, then one more token from the carried state.
            LightningAttention lightning = LightningAttention.builder()
                    .slopes(LightningAttention.transNormerSlopes(heads, 0, 1)).build();
            try (LightningState state = LightningState.allocate(1, heads, dim, dim)) {
                Tensor out = Tensor.allocate(arena, DType.F32, 1, heads, seq, dim);
                lightning.forward(q, k, v, out, state);
                float[] one = new float[heads * dim];
                java.util.Arrays.fill(one, 0.1f);
                Tensor q1 = Tensor.wrap(one, 1, heads, 1, dim);  // a Java array, no copy
                Tensor out1 = Tensor.wrap(new float[heads * dim], 1, heads, 1, dim);
                lightning.decode(q1, q1, q1, out1, state);
                System.out.printf("lightning  out[0,0,4095,0] = %.5f, decode out[0,0,0,0] = %.5f%n", out.get(0, 0, seq - 1, 0),
                        out1.get(0, 0, 0, 0));
            }
        }
    }
}
