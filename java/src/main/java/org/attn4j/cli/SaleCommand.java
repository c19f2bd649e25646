package org.attn4j.cli;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.attn4j.Attn4j;
import org.attn4j.DType;
import org.attn4j.FlashAttention;
import org.attn4j.SaleAttention;
import org.attn4j.SaleMask;
import org.attn4j.reference.StructuredInputs;
import org.attn4j.Tensor;
import org.attn4j.reference.SaleReference;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code attn4j sale}: SALE on structured inputs next to dense FlashAttention on the same inputs:
 * time, speedup, density, error against dense, and a check of the computed blocks against fp64.
 */
@Command(name = "sale", customSynopsis = "attn4j sale [options]",
        description = "SALE sparse attention on structured inputs, next to dense FlashAttention")
final class SaleCommand extends CliCommand {
    @Option(names = "--batch", paramLabel = "B", defaultValue = "1", description = "batch size (default ${DEFAULT-VALUE})")
    int batch;

    @Option(names = "--heads", paramLabel = "H", defaultValue = "2", description = "query heads (default ${DEFAULT-VALUE})")
    int heads;

    @Option(names = "--kv-heads", paramLabel = "H", description = "key/value heads, divides --heads (default = --heads)")
    Integer kvHeads;

    @Option(names = "--seq", paramLabel = "N[,N...]", split = ",", hideParamSyntax = true, defaultValue = "8192",
            description = "sequence length(s) (default ${DEFAULT-VALUE})")
    long[] lengths;

    @Option(names = "--dim", paramLabel = "D", defaultValue = "128", description = "head dim, 1..512 (default ${DEFAULT-VALUE})")
    int dim;

    @Option(names = "--dtype", paramLabel = "T", defaultValue = "f32", converter = StorageType.class,
            description = "f32 or bf16 storage (default ${DEFAULT-VALUE})")
    DType dtype;

    @Option(names = "--pattern", paramLabel = "P", defaultValue = "mixed",
            description = "random, sinks, local, stripes, slashes or mixed (default ${DEFAULT-VALUE})")
    StructuredInputs.Pattern pattern;

    @Option(names = "--non-causal", description = "attend to every key (default: causal)")
    boolean nonCausal;

    @Option(names = "--tau", paramLabel = "T[,T...]", split = ",", hideParamSyntax = true, defaultValue = "0.004",
            description = "threshold(s) for every head; several: a sweep (default ${DEFAULT-VALUE})")
    float[] taus;

    @Option(names = "--target", paramLabel = "E",
            description = "calibrate thresholds per head for rel. L2 error E instead of --tau")
    Float target;

    @Option(names = "--blocks", paramLabel = "BQ,BK", split = ",", hideParamSyntax = true, defaultValue = "64,64",
            description = "block sizes, multiples of 16: BQ 16..96, BK 16..512 (default ${DEFAULT-VALUE})")
    int[] blocks;

    @Option(names = "--threads", paramLabel = "T", defaultValue = "0",
            description = "CPU threads, 0 = all (default ${DEFAULT-VALUE})")
    int threads;

    @Option(names = "--iters", paramLabel = "I", defaultValue = "3",
            description = "timed runs after one warm-up (default ${DEFAULT-VALUE})")
    int iters;

    @Option(names = "--check-rows", paramLabel = "R", defaultValue = "64",
            description = "rows of the computed blocks checked against fp64, 0 = all (default ${DEFAULT-VALUE})")
    int checkRows;

    @Option(names = "--plot", paramLabel = "FILE",
            description = "with several thresholds: draw speedup vs error per length (PNG)")
    String plot;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "42", description = "input seed (default ${DEFAULT-VALUE})")
    long seed;

    /** One SALE run next to dense attention on the same inputs. */
    record Point(long seq, float[] tau, double saleSeconds, double denseSeconds, double density, double error) {
        double speedup() {
            return denseSeconds / saleSeconds;
        }
    }

    @Override
    void check() {
        atLeast("--batch", batch, 1);
        atLeast("--heads", heads, 1);
        kvHeads = kvHeads == null ? heads : kvHeads;
        grouped(heads, kvHeads);
        atLeast("--seq", lengths, 1);
        inRange("--dim", dim, 1, 512);
        for (float tau : taus) {
            finite("--tau", tau, false);
        }
        if (target != null) {
            finite("--target", target, true);
        }
        pair("--blocks", "64,64", blocks);
        if (blocks[0] < 16 || blocks[0] > 96 || blocks[0] % 16 != 0 || blocks[1] < 16 || blocks[1] > 512 || blocks[1] % 16 != 0) {
            throw usage("--blocks must be multiples of 16, BQ in 16..96 and BK in 16..512, got " + blocks[0] + "," + blocks[1]);
        }
        atLeast("--threads", threads, 0);
        atLeast("--iters", iters, 1);
        atLeast("--check-rows", checkRows, 0);
        if (plot != null) {
            plottable(plot);
        }
        double n = Arrays.stream(lengths).max().orElse(1), es = dtype.byteSize(), q = (double) batch * heads * n * dim;
        double mask = (double) batch * heads * Math.ceil(n / blocks[0]) * (Math.ceil(n / blocks[1]) / 8 + 8);
        fits(es * (q + 2.0 * batch * kvHeads * n * dim) + 4 * 2 * q + mask, String.format(Locale.ROOT,
                "--batch %d --heads %d --kv-heads %d --seq %d --dim %d", batch, heads, kvHeads, (long) n, dim));
    }

    @Override
    int execute() {
        boolean causal = !nonCausal;
        SaleAttention.Options base = SaleAttention.builder().causal(causal).threshold(taus[0]).blocks(blocks[0], blocks[1])
                .threads(threads).build().options();
        FlashAttention dense = FlashAttention.builder().causal(causal).threads(threads).build();
        System.out.printf(Locale.ROOT, "sale   batch %d, heads %d (kv %d), dim %d, %s, %s, pattern=%s, blocks %dx%d, isa=%s threads=%d%n",
                batch, heads, kvHeads, dim, dtype, causal ? "causal" : "non-causal", pattern.name().toLowerCase(Locale.ROOT),
                blocks[0], blocks[1], Attn4j.cpuIsa(), threads == 0 ? Attn4j.defaultThreads() : threads);
        System.out.printf(Locale.ROOT, "%8s  %-22s %10s %10s %8s %9s %10s%n", "seq", "tau", "sale ms", "dense ms", "speedup",
                "density", "error");
        List<Point> points = new ArrayList<>();
        int status = 0;
        for (long seq : lengths) {
            try (Arena arena = Arena.ofConfined()) {
                Tensor q = Tensor.allocate(arena, dtype, batch, heads, seq, dim);
                Tensor k = Tensor.allocate(arena, dtype, batch, kvHeads, seq, dim);
                Tensor v = Tensor.allocate(arena, dtype, batch, kvHeads, seq, dim);
                StructuredInputs.fill(pattern, seed, q, k, v);
                Tensor out = Tensor.allocate(arena, DType.F32, batch, heads, seq, dim);
                Tensor denseOut = Tensor.allocate(arena, DType.F32, batch, heads, seq, dim);
                double td = Measure.time(iters, () -> dense.forward(q, k, v, denseOut))[iters / 2];
                for (float tau : taus) {
                    SaleAttention.Options options = base.withThresholds(tau);
                    if (target != null) {
                        options = options.withThresholds(SaleAttention.calibrate(q, k, v, target, options));
                    }
                    SaleAttention sale = SaleAttention.of(options);
                    SaleMask mask = SaleMask.allocate(arena, q, k, options);
                    out.fill(Float.NaN);
                    double ts = Measure.time(iters, () -> sale.forward(q, k, v, out, null, mask))[iters / 2];
                    Point pt = new Point(seq, options.thresholds(), ts, td, mask.density(), Measure.relL2(out, denseOut));
                    points.add(pt);
                    System.out.printf(Locale.ROOT, "%8d  %-22s %10.3f %10.3f %7.2fx %9.3f %10.3e%n", seq,
                            tauLabel(pt.tau()) + (target != null ? " (calibrated)" : ""), ts * 1e3, td * 1e3,
                            pt.speedup(), pt.density(), pt.error());
                    // The computed blocks are exact attention over the mask: check them against fp64.
                    double[] ref = new double[dim];
                    Measure.Check check = Measure.check(out, checkRows,
                            (b, h, i) -> SaleReference.row(q, k, v, sale.options(), mask, b, h, i, ref), dtype);
                    if (!check.ok() || taus.length == 1) {
                        status = Math.max(status, check.print("fp64 attention over the mask"));
                    }
                }
            }
        }
        if (plot != null) {
            String file = PlotFile.target(plot);
            try {
                Plot.writeCurve(file, "SALE on " + pattern.name().toLowerCase(Locale.ROOT) + " inputs (" + Attn4j.cpuIsa() + ")",
                        points);
            } catch (IOException | RuntimeException | LinkageError e) {
                System.err.println("attn4j: could not write the plot " + file + ": " + e);
                return 1;
            }
            System.out.println("plot   " + file);
        }
        return status;
    }

    private static String tauLabel(float[] tau) {
        return tau.length == 1 ? Float.toString(tau[0]) : Arrays.toString(tau);
    }
}
