package org.attn4j.cli;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.LinkedHashMap;
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

/**
 * {@code attn4j bench}: dense FlashAttention, SALE and Lightning Attention-2 (all causal) over a sweep
 * of sequence lengths on the same structured inputs, with a progress bar, a summary table and
 * optionally a PNG of time and throughput against length.
 */
final class BenchCommand {
    static final String USAGE = """
            usage: attn4j bench [options]
              --kernels K      comma list of flash, sale, lightning      (default flash,sale,lightning)
              --seq N,N,...    sequence lengths                          (default 1024,2048,4096,8192,16384)
              --heads H        heads                                     (default 2)
              --dim D          head dim (1..512)                         (default 64)
              --dtype T        f32 or bf16 storage                       (default f32)
              --tau T          SALE threshold for every head             (default 0.01)
              --threads T      CPU threads, 0 = all                      (default 0)
              --iters I        timed runs per point after one warm-up    (default 3)
              --plot FILE      also draw time and tokens/s vs length into FILE (PNG)
              --seed S         input seed                                (default 42)""";

    private static final List<String> KERNELS = List.of("flash", "sale", "lightning");

    private BenchCommand() {}

    static int run(String[] args) {
        Flags o = Flags.parse(args, USAGE);
        if (o == null) {
            return 0;
        }
        List<String> kernels = new ArrayList<>();
        for (String k : o.text("--kernels", "flash,sale,lightning").split(",")) {
            if (!KERNELS.contains(k.trim())) {
                throw new Flags.UsageException("--kernels takes flash, sale and lightning, got '" + k + "'");
            }
            kernels.add(k.trim());
        }
        long[] lengths = o.nums("--seq", new long[] {1024, 2048, 4096, 8192, 16384});
        long heads = o.num("--heads", 2, 1), dim = o.num("--dim", 64, 1);
        int iters = (int) o.num("--iters", 3, 1), threads = (int) o.num("--threads", 0);
        DType dtype = o.dtype();
        String plot = o.text("--plot", null);
        FlashAttention flash = FlashAttention.builder().causal(true).threads(threads).build();
        SaleAttention sale = SaleAttention.builder().causal(true).threshold((float) o.decimal("--tau", 0.01)).threads(threads)
                .build();
        LightningAttention lightning = LightningAttention.builder()
                .slopes(LightningAttention.transNormerSlopes(Math.toIntExact(heads), 0, 1)).threads(threads).build();

        Map<String, List<Plot.Point>> series = new LinkedHashMap<>();
        for (String k : kernels) series.put(k, new ArrayList<>());
        List<String> rows = new ArrayList<>();
        ProgressBar bar = new ProgressBar(lengths.length * kernels.size());
        for (long n : lengths) {
            try (Arena arena = Arena.ofConfined()) {
                Tensor q = Tensor.allocate(arena, dtype, 1, heads, n, dim), k = Tensor.allocate(arena, dtype, 1, heads, n, dim);
                Tensor v = Tensor.allocate(arena, dtype, 1, heads, n, dim), out = Tensor.allocate(arena, DType.F32, 1, heads, n, dim);
                StructuredInputs.fill(StructuredInputs.Pattern.MIXED, o.num("--seed", 42), q, k, v);
                Tensor dense = null;
                for (String kernel : kernels) {
                    String extra = "";
                    double[] t;
                    switch (kernel) {
                        case "flash" -> t = Measure.time(iters, () -> flash.forward(q, k, v, out));
                        case "lightning" -> t = Measure.time(iters, () -> lightning.forward(q, k, v, out, null));
                        default -> {
                            SaleMask mask = SaleMask.allocate(arena, q, k, sale.options());
                            t = Measure.time(iters, () -> sale.forward(q, k, v, out, null, mask));
                            if (dense == null) {
                                dense = Tensor.allocate(arena, DType.F32, 1, heads, n, dim);
                                flash.forward(q, k, v, dense);
                            }
                            extra = String.format(Locale.ROOT, "density %.3f, error vs dense %.2e", mask.density(),
                                    Measure.relL2(out, dense));
                        }
                    }
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
            try {
                Plot.write(plot, "attn4j (" + Attn4j.cpuIsa() + ", heads " + heads + ", d " + dim + ")", series);
            } catch (IOException | RuntimeException | LinkageError e) {
                System.err.println("attn4j: could not write the plot " + plot + ": " + e);
                return 1;
            }
            System.out.println("plot   " + plot);
        }
        return 0;
    }
}
