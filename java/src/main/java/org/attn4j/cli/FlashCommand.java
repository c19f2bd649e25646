package org.attn4j.cli;

import java.lang.foreign.Arena;
import java.util.Locale;
import java.util.Random;
import org.attn4j.Attn4j;
import org.attn4j.DType;
import org.attn4j.FlashAttention;
import org.attn4j.Tensor;
import org.attn4j.reference.FlashReference;

/** {@code attn4j flash}: FlashAttention on seeded random inputs, timed and checked against fp64. */
final class FlashCommand {
    static final String USAGE = """
            usage: attn4j flash [options]
              --batch B        batch size                          (default 1)
              --heads H        query heads                         (default 8)
              --kv-heads H     key/value heads, divides --heads    (default = --heads)
              --seq N          query length                        (default 2048)
              --kv-seq N       key/value length                    (default = --seq)
              --dim D          head dim of q and k (1..512)        (default 64)
              --dim-v D        head dim of v (1..512)              (default = --dim)
              --dtype T        f32 or bf16 storage                 (default f32)
              --causal         bottom-right causal mask
              --window L,R     sliding window, -1 = unlimited      (default -1,-1)
              --softcap C      logit soft-capping, 0 = off         (default 0)
              --threads T      CPU threads, 0 = all                (default 0)
              --iters I        timed runs after one warm-up        (default 5)
              --check-rows R   query rows checked against fp64     (default 256; 0 = all)
              --seed S         input seed                          (default 42)""";

    private FlashCommand() {}

    static int run(String[] args) {
        Flags o = Flags.parse(args, USAGE, "--causal");
        if (o == null) {
            return 0;
        }
        long batch = o.num("--batch", 1), heads = o.num("--heads", 8), kvHeads = o.num("--kv-heads", heads);
        long seq = o.num("--seq", 2048), kvSeq = o.num("--kv-seq", seq);
        long dim = o.num("--dim", 64), dimV = o.num("--dim-v", dim);
        int iters = (int) o.num("--iters", 5, 1), checkRows = (int) o.num("--check-rows", 256);
        DType dtype = o.dtype();
        String[] window = o.text("--window", "-1,-1").split(",");
        if (window.length != 2) {
            throw new Flags.UsageException("--window must be L,R (e.g. 128,0), got '" + o.text("--window", "") + "'");
        }
        FlashAttention attention = FlashAttention.builder()
                .causal(o.has("--causal"))
                .window((int) Flags.parseLong("--window", window[0]), (int) Flags.parseLong("--window", window[1]))
                .softcap((float) o.decimal("--softcap", 0))
                .threads((int) o.num("--threads", 0))
                .build();

        try (Arena arena = Arena.ofConfined()) {
            Random rng = new Random(o.num("--seed", 42));
            Tensor q = Measure.random(arena, dtype, rng, 1f, batch, heads, seq, dim);
            Tensor k = Measure.random(arena, dtype, rng, 1f, batch, kvHeads, kvSeq, dim);
            Tensor v = Measure.random(arena, dtype, rng, 1f, batch, kvHeads, kvSeq, dimV);
            Tensor out = Tensor.allocate(arena, DType.F32, batch, heads, seq, dimV);
            out.fill(Float.NaN);
            double[] times = Measure.time(iters, () -> attention.forward(q, k, v, out));
            double median = times[iters / 2];
            double flops = flops(batch, heads, seq, kvSeq, dim, dimV, attention.options());
            double[] ref = new double[(int) dimV];
            Measure.Check check = Measure.check(out, checkRows, (b, h, i) -> {
                FlashReference.row(q, k, v, attention.options(), b, h, i, ref);
                return ref;
            }, dtype);
            FlashAttention.Options op = attention.options();
            System.out.printf(Locale.ROOT, "flash  q=[%d,%d,%d,%d] k/v=[%d,%d,%d,%d/%d] %s %s%s isa=%s threads=%d%n",
                    batch, heads, seq, dim, batch, kvHeads, kvSeq, dim, dimV, dtype, op.causal() ? "causal" : "non-causal",
                    op.windowLeft() >= 0 || op.windowRight() >= 0 ? " window=" + op.windowLeft() + "," + op.windowRight() : "",
                    Attn4j.cpuIsa(), op.threads() == 0 ? Attn4j.defaultThreads() : op.threads());
            System.out.printf(Locale.ROOT, "time   median %.3f ms over %d runs (min %.3f ms)%n", median * 1e3, iters, times[0] * 1e3);
            System.out.printf(Locale.ROOT, "speed  %.2f GFLOP/s%n", flops / median / 1e9);
            return check.print("fp64 reference");
        }
    }

    /** 4 * Nq * Nk * d per head (2 for q k^T, 2 for p v), counting only the keys the mask lets through. */
    static double flops(long b, long h, long nq, long nk, long d, long dv, FlashAttention.Options o) {
        long right = o.causal() ? 0 : o.windowRight();
        double visible = 0;
        for (long i = 0; i < nq; i++) {
            long pos = i + nk - nq;
            long lo = o.windowLeft() < 0 ? 0 : Math.max(0, pos - o.windowLeft());
            long hi = right < 0 ? nk : Math.min(nk, Math.max(0, pos + right + 1));
            visible += Math.max(0, hi - lo);
        }
        return b * h * visible * 2.0 * (d + dv);
    }
}
