package org.attn4j.cli;

import java.lang.foreign.Arena;
import java.util.Locale;
import java.util.Random;
import org.attn4j.Attn4j;
import org.attn4j.DType;
import org.attn4j.LightningAttention;
import org.attn4j.Tensor;
import org.attn4j.reference.LightningReference;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code attn4j lightning}: Lightning Attention-2 on seeded random inputs, timed and checked against fp64. */
@Command(name = "lightning", customSynopsis = "attn4j lightning [options]",
        description = "the same for Lightning Attention-2 (linear attention with decay)")
final class LightningCommand extends CliCommand {
    /** Per-head decay of the state. */
    enum Decay { none, transnormer }

    @Option(names = "--batch", paramLabel = "B", defaultValue = "1", description = "batch size (default ${DEFAULT-VALUE})")
    int batch;

    @Option(names = "--heads", paramLabel = "H", defaultValue = "8", description = "query heads (default ${DEFAULT-VALUE})")
    int heads;

    @Option(names = "--kv-heads", paramLabel = "H", description = "key/value heads, divides --heads (default = --heads)")
    Integer kvHeads;

    @Option(names = "--seq", paramLabel = "N", defaultValue = "16384", description = "sequence length (default ${DEFAULT-VALUE})")
    long seq;

    @Option(names = "--dim", paramLabel = "D", defaultValue = "128",
            description = "head dim of q and k, 1..512 (default ${DEFAULT-VALUE})")
    int dim;

    @Option(names = "--dim-v", paramLabel = "D", description = "head dim of v, 1..512 (default = --dim)")
    Integer dimV;

    @Option(names = "--dtype", paramLabel = "T", defaultValue = "f32", converter = StorageType.class,
            description = "f32 or bf16 storage (default ${DEFAULT-VALUE})")
    DType dtype;

    @Option(names = "--decay", paramLabel = "K", defaultValue = "transnormer",
            description = "none or transnormer (per-head) (default ${DEFAULT-VALUE})")
    Decay decay;

    @Option(names = "--block", paramLabel = "B", defaultValue = "0",
            description = "tokens per block, 1..256, 0 = default (default ${DEFAULT-VALUE})")
    int block;

    @Option(names = "--threads", paramLabel = "T", defaultValue = "0",
            description = "CPU threads, 0 = all (default ${DEFAULT-VALUE})")
    int threads;

    @Option(names = "--iters", paramLabel = "I", defaultValue = "5",
            description = "timed runs after one warm-up (default ${DEFAULT-VALUE})")
    int iters;

    @Option(names = "--check-rows", paramLabel = "R", defaultValue = "64",
            description = "rows checked against fp64, 0 = all (default ${DEFAULT-VALUE})")
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
        inRange("--dim", dim, 1, 512);
        dimV = dimV == null ? dim : dimV;
        inRange("--dim-v", dimV, 1, 512);
        inRange("--block", block, 0, 256);
        atLeast("--threads", threads, 0);
        atLeast("--iters", iters, 1);
        atLeast("--check-rows", checkRows, 0);
        double es = dtype.byteSize(), q = (double) batch * heads * seq, kv = (double) batch * kvHeads * seq;
        fits(es * (q * dim + kv * (dim + dimV)) + 4 * q * dimV, String.format(Locale.ROOT,
                "--batch %d --heads %d --kv-heads %d --seq %d --dim %d --dim-v %d", batch, heads, kvHeads, seq, dim, dimV));
    }

    @Override
    int execute() {
        float[] slopes = decay == Decay.none ? null : LightningAttention.transNormerSlopes(heads, 0, 1);
        LightningAttention lightning = LightningAttention.builder().slopes(slopes).blockSize(block).threads(threads).build();
        try (Arena arena = Arena.ofConfined()) {
            Random rng = new Random(seed);
            float std = (float) Math.pow(dim, -0.25);
            Tensor q = Measure.random(arena, dtype, rng, std, batch, heads, seq, dim);
            Tensor k = Measure.random(arena, dtype, rng, std, batch, kvHeads, seq, dim);
            Tensor v = Measure.random(arena, dtype, rng, 1f, batch, kvHeads, seq, dimV);
            Tensor out = Tensor.allocate(arena, DType.F32, batch, heads, seq, dimV);
            out.fill(Float.NaN);
            double[] times = Measure.time(iters, () -> lightning.forward(q, k, v, out, null));
            double median = times[iters / 2];
            int blockSize = lightning.options().blockSize() == 0 ? 32 : lightning.options().blockSize();
            double flops = (double) batch * heads * seq * (2.0 * blockSize * (dim + dimV) + 4.0 * dim * dimV);
            double[] ref = new double[dimV];
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
}
