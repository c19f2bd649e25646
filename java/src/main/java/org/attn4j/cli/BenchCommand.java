package org.attn4j.cli;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.attn4j.Attn4j;
import org.attn4j.DType;
import org.attn4j.FlashAttention;
import org.attn4j.LightningAttention;
import org.attn4j.SaleAttention;
import org.attn4j.SaleMask;
import org.attn4j.reference.StructuredInputs;
import org.attn4j.Tensor;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code attn4j bench}: dense FlashAttention, SALE and Lightning Attention-2 (all causal) over a sweep
 * of sequence lengths on the same structured inputs, with a progress bar, a summary table and
 * optionally a PNG of time and throughput against length.
 */
@Command(name = "bench", customSynopsis = "attn4j bench [options]",
        description = "sweep sequence lengths over flash, sale and lightning: table and --plot PNG")
final class BenchCommand extends CliCommand {
    /** The kernels a sweep can run. */
    enum Kernel { flash, sale, lightning }

    @Option(names = "--kernels", paramLabel = "K[,K...]", split = ",", hideParamSyntax = true,
            defaultValue = "flash,sale,lightning",
            description = "comma list of flash, sale, lightning (default ${DEFAULT-VALUE})")
    List<Kernel> kernels;

    @Option(names = "--seq", paramLabel = "N[,N...]", split = ",", hideParamSyntax = true,
            defaultValue = "1024,2048,4096,8192,16384",
            description = "sequence lengths (default ${DEFAULT-VALUE})")
    long[] lengths;

    @Option(names = "--heads", paramLabel = "H", defaultValue = "2", description = "heads (default ${DEFAULT-VALUE})")
    int heads;

    @Option(names = "--dim", paramLabel = "D", defaultValue = "64", description = "head dim, 1..512 (default ${DEFAULT-VALUE})")
    int dim;

    @Option(names = "--dtype", paramLabel = "T", defaultValue = "f32", converter = StorageType.class,
            description = "f32 or bf16 storage (default ${DEFAULT-VALUE})")
    DType dtype;

    @Option(names = "--tau", paramLabel = "T", defaultValue = "0.01",
            description = "SALE threshold for every head (default ${DEFAULT-VALUE})")
    float tau;

    @Option(names = "--threads", paramLabel = "T", defaultValue = "0",
            description = "CPU threads, 0 = all (default ${DEFAULT-VALUE})")
    int threads;

    @Option(names = "--iters", paramLabel = "I", defaultValue = "3",
            description = "timed runs per point after one warm-up (default ${DEFAULT-VALUE})")
    int iters;

    @Option(names = "--plot", paramLabel = "FILE", description = "also draw time and tokens/s vs length into FILE (PNG)")
    String plot;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "42", description = "input seed (default ${DEFAULT-VALUE})")
    long seed;

    @Override
    void check() {
        kernels = new ArrayList<>(new LinkedHashSet<>(kernels));
        atLeast("--seq", lengths, 1);
        atLeast("--heads", heads, 1);
        inRange("--dim", dim, 1, 512);
        finite("--tau", tau, false);
        atLeast("--threads", threads, 0);
        atLeast("--iters", iters, 1);
        if (plot != null) {
            plottable(plot);
        }
        double n = Arrays.stream(lengths).max().orElse(1), es = dtype.byteSize(), t = (double) heads * n * dim;
        // SALE adds a dense reference output and its mask (about a bit per pair of 64x64 blocks)
        double dense = kernels.contains(Kernel.sale) ? 4 * t + heads * Math.ceil(n / 64) * (Math.ceil(n / 64) / 8 + 8) : 0;
        fits(3 * es * t + 4 * t + dense, String.format(Locale.ROOT, "--heads %d --seq %d --dim %d", heads, (long) n, dim));
    }

    @Override
    int execute() {
        FlashAttention flash = FlashAttention.builder().causal(true).threads(threads).build();
        SaleAttention sale = SaleAttention.builder().causal(true).threshold(tau).threads(threads).build();
        LightningAttention lightning = LightningAttention.builder()
                .slopes(LightningAttention.transNormerSlopes(heads, 0, 1)).threads(threads).build();

        Map<Kernel, List<Plot.Point>> series = new LinkedHashMap<>();
        for (Kernel k : kernels) series.put(k, new ArrayList<>());
        List<String> rows = new ArrayList<>();
        ProgressBar bar = new ProgressBar(lengths.length * kernels.size());
        for (long n : lengths) {
            try (Arena arena = Arena.ofConfined()) {
                Tensor q = Tensor.allocate(arena, dtype, 1, heads, n, dim), k = Tensor.allocate(arena, dtype, 1, heads, n, dim);
                Tensor v = Tensor.allocate(arena, dtype, 1, heads, n, dim), out = Tensor.allocate(arena, DType.F32, 1, heads, n, dim);
                StructuredInputs.fill(StructuredInputs.Pattern.MIXED, seed, q, k, v);
                Tensor dense = null;
                for (Kernel kernel : kernels) {
                    String extra = "";
                    double[] t = switch (kernel) {
                        case flash -> Measure.time(iters, () -> flash.forward(q, k, v, out));
                        case lightning -> Measure.time(iters, () -> lightning.forward(q, k, v, out, null));
                        case sale -> {
                            SaleMask mask = SaleMask.allocate(arena, q, k, sale.options());
                            double[] times = Measure.time(iters, () -> sale.forward(q, k, v, out, null, mask));
                            if (dense == null) {
                                dense = Tensor.allocate(arena, DType.F32, 1, heads, n, dim);
                                flash.forward(q, k, v, dense);
                            }
                            extra = String.format(Locale.ROOT, "density %.3f, error vs dense %.2e", mask.density(),
                                    Measure.relL2(out, dense));
                            yield times;
                        }
                    };
                    double median = t[iters / 2];
                    series.get(kernel).add(new Plot.Point(n, median, n / median));
                    rows.add(String.format(Locale.ROOT, "%9d  %-9s %12.3f %14.0f  %s", n, kernel, median * 1e3, n / median, extra));
                    bar.step(kernel + " N=" + n);
                }
            }
        }
        System.out.printf(Locale.ROOT, "bench  causal, heads=%d dim=%d %s, structured inputs (mixed), isa=%s threads=%d%n", heads,
                dim, dtype, Attn4j.cpuIsa(), threads == 0 ? Attn4j.defaultThreads() : threads);
        System.out.printf(Locale.ROOT, "%9s  %-9s %12s %14s%n", "seq", "kernel", "median ms", "tokens/s");
        rows.forEach(System.out::println);
        if (plot != null) {
            String file = PlotFile.target(plot);
            Map<String, List<Plot.Point>> named = new LinkedHashMap<>();
            series.forEach((kernel, points) -> named.put(kernel.name(), points));
            try {
                Plot.write(file, "attn4j (" + Attn4j.cpuIsa() + ", heads " + heads + ", d " + dim + ")", named);
            } catch (IOException | RuntimeException | LinkageError e) {
                System.err.println("attn4j: could not write the plot " + file + ": " + e);
                return 1;
            }
            System.out.println("plot   " + file);
        }
        return 0;
    }
}
