package org.attn4j.cli;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import java.util.Arrays;
import java.util.Locale;
import org.attn4j.Attn4j;
import org.attn4j.DType;
import org.attn4j.FlashAttention;
import org.attn4j.SaleAttention;
import org.attn4j.SaleMask;
import org.attn4j.reference.StructuredInputs;
import org.attn4j.Tensor;
import org.attn4j.reference.SaleReference;

/**
 * {@code attn4j sale}: SALE on structured inputs next to dense FlashAttention on the same inputs:
 * time, speedup, density, error against dense, and a check of the computed blocks against fp64.
 */
final class SaleCommand {
    static final String USAGE = """
            usage: attn4j sale [options]
              --batch B        batch size                              (default 1)
              --heads H        query heads                             (default 2)
              --kv-heads H     key/value heads, divides --heads        (default = --heads)
              --seq N[,N...]   sequence length(s)                      (default 8192)
              --dim D          head dim (1..512)                       (default 128)
              --dtype T        f32 or bf16 storage                     (default f32)
              --pattern P      random, sinks, local, stripes, slashes or mixed   (default mixed)
              --non-causal     attend to every key (default: causal)
              --tau T[,T...]   threshold(s) for every head; several: a sweep (default 0.004)
              --target E       calibrate thresholds per head for rel. L2 error E instead of --tau
              --blocks BQ,BK   block sizes                             (default 64,64)
              --threads T      CPU threads, 0 = all                    (default 0)
              --iters I        timed runs after one warm-up            (default 3)
              --check-rows R   rows of the computed blocks checked against fp64 (default 64; 0 = all)
              --plot FILE      with several thresholds: draw speedup vs error per length (PNG)
              --seed S         input seed                              (default 42)""";

    private SaleCommand() {}

    /** One SALE run next to dense attention on the same inputs. */
    record Point(long seq, float[] tau, double saleSeconds, double denseSeconds, double density, double error) {
        double speedup() {
            return denseSeconds / saleSeconds;
        }
    }

    static int run(String[] args) {
        Flags o = Flags.parse(args, USAGE, "--non-causal");
        if (o == null) {
            return 0;
        }
        long batch = o.num("--batch", 1), heads = o.num("--heads", 2, 1), kvHeads = o.num("--kv-heads", heads);
        long[] lengths = o.nums("--seq", new long[] {8192});
        long dim = o.num("--dim", 128);
        int iters = (int) o.num("--iters", 3, 1), checkRows = (int) o.num("--check-rows", 64);
        DType dtype = o.dtype();
        boolean causal = !o.has("--non-causal");
        StructuredInputs.Pattern pattern = pattern(o.text("--pattern", "mixed"));
        long[] blocks = o.nums("--blocks", new long[] {64, 64});
        if (blocks.length != 2) {
            throw new Flags.UsageException("--blocks must be BQ,BK (e.g. 64,64)");
        }
        String[] tauText = o.text("--tau", "0.004").split(",");
        float[] taus = new float[tauText.length];
        for (int i = 0; i < taus.length; i++) {
            try {
                taus[i] = Float.parseFloat(tauText[i].trim());
            } catch (NumberFormatException e) {
                throw new Flags.UsageException("--tau must be numbers, got '" + tauText[i] + "'");
            }
        }
        int threads = (int) o.num("--threads", 0);
        SaleAttention.Options base = SaleAttention.builder().causal(causal).threshold(taus[0])
                .blocks((int) blocks[0], (int) blocks[1]).threads(threads).build().options();
        for (float t : taus) {
            base.withThresholds(t);  // rejects a bad threshold before any work
        }
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
                StructuredInputs.fill(pattern, o.num("--seed", 42), q, k, v);
                Tensor out = Tensor.allocate(arena, DType.F32, batch, heads, seq, dim);
                Tensor denseOut = Tensor.allocate(arena, DType.F32, batch, heads, seq, dim);
                double td = Measure.time(iters, () -> dense.forward(q, k, v, denseOut))[iters / 2];
                for (float tau : taus) {
                    SaleAttention.Options options = base.withThresholds(tau);
                    if (o.has("--target")) {
                        float target = (float) o.decimal("--target", 0.02);
                        options = options.withThresholds(SaleAttention.calibrate(q, k, v, target, options));
                    }
                    SaleAttention sale = SaleAttention.of(options);
                    SaleMask mask = SaleMask.allocate(arena, q, k, options);
                    out.fill(Float.NaN);
                    double ts = Measure.time(iters, () -> sale.forward(q, k, v, out, null, mask))[iters / 2];
                    Point pt = new Point(seq, options.thresholds(), ts, td, mask.density(), Measure.relL2(out, denseOut));
                    points.add(pt);
                    System.out.printf(Locale.ROOT, "%8d  %-22s %10.3f %10.3f %7.2fx %9.3f %10.3e%n", seq,
                            tauLabel(pt.tau()) + (o.has("--target") ? " (calibrated)" : ""), ts * 1e3, td * 1e3,
                            pt.speedup(), pt.density(), pt.error());
                    // The computed blocks are exact attention over the mask: check them against fp64.
                    double[] ref = new double[(int) dim];
                    Measure.Check check = Measure.check(out, checkRows,
                            (b, h, i) -> SaleReference.row(q, k, v, sale.options(), mask, b, h, i, ref), dtype);
                    if (!check.ok() || taus.length == 1) {
                        status = Math.max(status, check.print("fp64 attention over the mask"));
                    }
                }
            }
        }
        String plot = o.text("--plot", null);
        if (plot != null) {
            try {
                Plot.writeCurve(plot, "SALE on " + pattern.name().toLowerCase(Locale.ROOT) + " inputs (" + Attn4j.cpuIsa() + ")",
                        points);
            } catch (IOException | RuntimeException | LinkageError e) {
                System.err.println("attn4j: could not write the plot " + plot + ": " + e);
                return 1;
            }
            System.out.println("plot   " + plot);
        }
        return status;
    }

    private static String tauLabel(float[] tau) {
        return tau.length == 1 ? Float.toString(tau[0]) : Arrays.toString(tau);
    }

    static StructuredInputs.Pattern pattern(String name) {
        for (StructuredInputs.Pattern p : StructuredInputs.Pattern.values()) {
            if (p.name().equalsIgnoreCase(name)) {
                return p;
            }
        }
        throw new Flags.UsageException("--pattern must be random, sinks, local, stripes, slashes or mixed, got '" + name + "'");
    }
}
