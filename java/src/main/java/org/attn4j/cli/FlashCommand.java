package org.attn4j.cli;

import java.lang.foreign.Arena;
import java.util.Locale;
import java.util.Random;
import org.attn4j.Attn4j;
import org.attn4j.DType;
import org.attn4j.FlashAttention;
import org.attn4j.Tensor;
import org.attn4j.reference.FlashReference;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code attn4j flash}: FlashAttention on seeded random inputs, timed and checked against fp64. */
@Command(name = "flash", customSynopsis = "attn4j flash [options]",
        description = "run FlashAttention on random inputs, check it against the fp64 reference, time it")
final class FlashCommand extends CliCommand {
    @Option(names = "--batch", paramLabel = "B", defaultValue = "1", description = "batch size (default ${DEFAULT-VALUE})")
    int batch;

    @Option(names = "--heads", paramLabel = "H", defaultValue = "8", description = "query heads (default ${DEFAULT-VALUE})")
    int heads;

    @Option(names = "--kv-heads", paramLabel = "H", description = "key/value heads, divides --heads (default = --heads)")
    Integer kvHeads;

    @Option(names = "--seq", paramLabel = "N", defaultValue = "2048", description = "query length (default ${DEFAULT-VALUE})")
    long seq;

    @Option(names = "--kv-seq", paramLabel = "N", description = "key/value length (default = --seq)")
    Long kvSeq;

    @Option(names = "--dim", paramLabel = "D", defaultValue = "64",
            description = "head dim of q and k, 1..512 (default ${DEFAULT-VALUE})")
    int dim;

    @Option(names = "--dim-v", paramLabel = "D", description = "head dim of v, 1..512 (default = --dim)")
    Integer dimV;

    @Option(names = "--dtype", paramLabel = "T", defaultValue = "f32", converter = StorageType.class,
            description = "f32 or bf16 storage (default ${DEFAULT-VALUE})")
    DType dtype;

    @Option(names = "--causal", description = "bottom-right causal mask")
    boolean causal;

    @Option(names = "--window", paramLabel = "L,R", split = ",", hideParamSyntax = true, defaultValue = "-1,-1",
            description = "sliding window, -1 = unlimited (default ${DEFAULT-VALUE})")
    int[] window;

    @Option(names = "--softcap", paramLabel = "C", defaultValue = "0",
            description = "logit soft-capping, 0 = off (default ${DEFAULT-VALUE})")
    float softcap;

    @Option(names = "--threads", paramLabel = "T", defaultValue = "0",
            description = "CPU threads, 0 = all (default ${DEFAULT-VALUE})")
    int threads;

    @Option(names = "--iters", paramLabel = "I", defaultValue = "5",
            description = "timed runs after one warm-up (default ${DEFAULT-VALUE})")
    int iters;

    @Option(names = "--check-rows", paramLabel = "R", defaultValue = "256",
            description = "query rows checked against fp64, 0 = all (default ${DEFAULT-VALUE})")
    int checkRows;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "42", description = "input seed (default ${DEFAULT-VALUE})")
    long seed;

    @Override
    void check() {
        atLeast("--batch", batch, 1);
        atLeast("--heads", heads, 1);
        kvHeads = kvHeads == null ? heads : kvHeads;
        grouped(heads, kvHeads);
        atLeast("--seq", seq, 1);
        kvSeq = kvSeq == null ? seq : kvSeq;
        atLeast("--kv-seq", kvSeq, 1);
        inRange("--dim", dim, 1, 512);
        dimV = dimV == null ? dim : dimV;
        inRange("--dim-v", dimV, 1, 512);
        pair("--window", "128,0", window);
        atLeast("--window", new long[] {window[0], window[1]}, -1);
        finite("--softcap", softcap, false);
        atLeast("--threads", threads, 0);
        atLeast("--iters", iters, 1);
        atLeast("--check-rows", checkRows, 0);
        double es = dtype.byteSize(), q = (double) batch * heads * seq, kv = (double) batch * kvHeads * kvSeq;
        fits(es * (q * dim + kv * (dim + dimV)) + 4 * q * dimV, String.format(Locale.ROOT,
                "--batch %d --heads %d --kv-heads %d --seq %d --kv-seq %d --dim %d --dim-v %d", batch, heads, kvHeads, seq, kvSeq,
                dim, dimV));
    }

    @Override
    int execute() {
        FlashAttention attention = FlashAttention.builder().causal(causal).window(window[0], window[1]).softcap(softcap)
                .threads(threads).build();
        try (Arena arena = Arena.ofConfined()) {
            Random rng = new Random(seed);
            Tensor q = Measure.random(arena, dtype, rng, 1f, batch, heads, seq, dim);
            Tensor k = Measure.random(arena, dtype, rng, 1f, batch, kvHeads, kvSeq, dim);
            Tensor v = Measure.random(arena, dtype, rng, 1f, batch, kvHeads, kvSeq, dimV);
            Tensor out = Tensor.allocate(arena, DType.F32, batch, heads, seq, dimV);
            out.fill(Float.NaN);
            double[] times = Measure.time(iters, () -> attention.forward(q, k, v, out));
            double median = times[iters / 2];
            double flops = flops(batch, heads, seq, kvSeq, dim, dimV, attention.options());
            double[] ref = new double[dimV];
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
