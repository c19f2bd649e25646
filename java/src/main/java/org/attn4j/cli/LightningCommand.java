package org.attn4j.cli;

import java.lang.foreign.Arena;
import java.util.Locale;
import java.util.Random;
import org.attn4j.Attn4j;
import org.attn4j.DType;
import org.attn4j.LightningAttention;
import org.attn4j.Tensor;
import org.attn4j.reference.LightningReference;

/** {@code attn4j lightning}: Lightning Attention-2 on seeded random inputs, timed and checked against fp64. */
final class LightningCommand {
    static final String USAGE = """
            usage: attn4j lightning [options]
              --batch B        batch size                          (default 1)
              --heads H        query heads                         (default 8)
              --kv-heads H     key/value heads, divides --heads    (default = --heads)
              --seq N          sequence length                     (default 16384)
              --dim D          head dim of q and k (1..512)        (default 128)
              --dim-v D        head dim of v (1..512)              (default = --dim)
              --dtype T        f32 or bf16 storage                 (default f32)
              --decay K        none or transnormer (per-head)      (default transnormer)
              --block B        tokens per block, 0 = default       (default 0)
              --threads T      CPU threads, 0 = all                (default 0)
              --iters I        timed runs after one warm-up        (default 5)
              --check-rows R   rows checked against fp64           (default 64; 0 = all)
              --seed S         input seed                          (default 42)""";

    private LightningCommand() {}

    static int run(String[] args) {
        Flags o = Flags.parse(args, USAGE);
        if (o == null) {
            return 0;
        }
        long batch = o.num("--batch", 1), heads = o.num("--heads", 8, 1), kvHeads = o.num("--kv-heads", heads);
        long seq = o.num("--seq", 16384), dim = o.num("--dim", 128), dimV = o.num("--dim-v", dim);
        int iters = (int) o.num("--iters", 5, 1), checkRows = (int) o.num("--check-rows", 64);
        DType dtype = o.dtype();
        LightningAttention lightning = LightningAttention.builder().slopes(slopes(o.text("--decay", "transnormer"), heads))
                .blockSize((int) o.num("--block", 0)).threads((int) o.num("--threads", 0)).build();
        try (Arena arena = Arena.ofConfined()) {
            Random rng = new Random(o.num("--seed", 42));
            float std = (float) Math.pow(dim, -0.25);
            Tensor q = Measure.random(arena, dtype, rng, std, batch, heads, seq, dim);
            Tensor k = Measure.random(arena, dtype, rng, std, batch, kvHeads, seq, dim);
            Tensor v = Measure.random(arena, dtype, rng, 1f, batch, kvHeads, seq, dimV);
            Tensor out = Tensor.allocate(arena, DType.F32, batch, heads, seq, dimV);
            out.fill(Float.NaN);
            double[] times = Measure.time(iters, () -> lightning.forward(q, k, v, out, null));
            double median = times[iters / 2];
            int block = lightning.options().blockSize() == 0 ? 32 : lightning.options().blockSize();
            double flops = batch * heads * seq * (2.0 * block * (dim + dimV) + 4.0 * dim * dimV);
            double[] ref = new double[(int) dimV];
            Measure.Check check = Measure.check(out, checkRows, (b, h, i) -> {
                LightningReference.row(q, k, v, null, lightning.options(), b, h, i, ref);
                return ref;
            }, dtype);
            System.out.printf(Locale.ROOT, "lightning  q=[%d,%d,%d,%d] k/v=[%d,%d,%d,%d/%d] %s decay=%s isa=%s threads=%d%n",
                    batch, heads, seq, dim, batch, kvHeads, seq, dim, dimV, dtype,
                    lightning.options().slopes() == null ? "none" : "transnormer", Attn4j.cpuIsa(),
                    lightning.options().threads() == 0 ? Attn4j.defaultThreads() : lightning.options().threads());
            System.out.printf(Locale.ROOT, "time   median %.3f ms over %d runs (min %.3f ms)%n", median * 1e3, iters, times[0] * 1e3);
            System.out.printf(Locale.ROOT, "speed  %.0f tokens/s, %.2f GFLOP/s%n", batch * seq / median, flops / median / 1e9);
            return check.print("fp64 reference");
        }
    }

    static float[] slopes(String decay, long heads) {
        return switch (decay) {
            case "none" -> null;
            case "transnormer" -> LightningAttention.transNormerSlopes(Math.toIntExact(heads), 0, 1);
            default -> throw new Flags.UsageException("--decay must be none or transnormer, got '" + decay + "'");
        };
    }
}
