package org.attn4j.cli;

import java.lang.foreign.Arena;
import java.util.Arrays;
import java.util.Locale;
import java.util.Random;
import java.util.Map;
import java.util.LinkedHashMap;
import org.attn4j.Attn4j;
import org.attn4j.DType;
import org.attn4j.FlashAttention;
import org.attn4j.LightningAttention;
import org.attn4j.Tensor;
import org.attn4j.reference.FlashReference;
import org.attn4j.reference.LightningReference;

/**
 * The attn4j command line: {@code attn4j flash [options]} runs FlashAttention at a given size on
 * seeded random inputs, checks sampled rows against the fp64 reference and prints time and GFLOP/s;
 * {@code attn4j info} prints what the native library runs on.
 */
public final class Main {
    private static final String USAGE = """
            usage: attn4j <command> [options]
              flash       run FlashAttention on random inputs, check it against the fp64 reference, time it
              lightning   the same for Lightning Attention-2 (linear attention with decay)
              info        print the library version, CPU instruction set and thread count
            'attn4j <command> --help' describes a command's options.""";

    private static final String FLASH_USAGE = """
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

    private static final String LIGHTNING_USAGE = """
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

    private Main() {}

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs the CLI and returns its exit code (0 ok, 1 check failed, 2 bad usage). */
    public static int run(String[] args) {
        if (args.length == 0 || args[0].equals("--help") || args[0].equals("-h")) {
            System.out.println(USAGE);
            return args.length == 0 ? 2 : 0;
        }
        String[] rest = Arrays.copyOfRange(args, 1, args.length);
        try {
            return switch (args[0]) {
                case "flash" -> flash(rest);
                case "lightning" -> lightning(rest);
                case "info" -> info(rest);
                default -> throw new UsageException("unknown command '" + args[0] + "' (try --help)");
            };
        } catch (UsageException e) {
            System.err.println("attn4j: " + e.getMessage());
            return 2;
        } catch (IllegalArgumentException e) {
            System.err.println("attn4j: " + e.getMessage());
            return 2;
        }
    }

    private static int info(String[] args) {
        if (args.length > 0) {
            if (args[0].equals("--help")) {
                System.out.println("usage: attn4j info");
                return 0;
            }
            throw new UsageException("info takes no options, got '" + args[0] + "'");
        }
        System.out.printf("attn4j %s, cpu isa %s (best %s), %d threads, cuda %s%n", Attn4j.version(), Attn4j.cpuIsa(),
                Attn4j.bestCpuIsa(), Attn4j.defaultThreads(), Attn4j.cudaAvailable() ? "yes" : "no");
        return 0;
    }

    private static int flash(String[] args) {
        Map<String, String> o = parse(args, FLASH_USAGE, "--causal");
        if (o == null) {
            return 0;
        }
        long batch = num(o, "--batch", 1), heads = num(o, "--heads", 8), kvHeads = num(o, "--kv-heads", heads);
        long seq = num(o, "--seq", 2048), kvSeq = num(o, "--kv-seq", seq);
        long dim = num(o, "--dim", 64), dimV = num(o, "--dim-v", dim);
        int iters = (int) num(o, "--iters", 5), checkRows = (int) num(o, "--check-rows", 256);
        DType dtype = dtype(o);
        String[] window = o.getOrDefault("--window", "-1,-1").split(",");
        if (window.length != 2) {
            throw new UsageException("--window must be L,R (e.g. 128,0), got '" + o.get("--window") + "'");
        }
        if (iters < 1) {
            throw new UsageException("--iters must be >= 1");
        }
        FlashAttention attention = FlashAttention.builder()
                .causal(o.containsKey("--causal"))
                .window(parseInt("--window", window[0]), parseInt("--window", window[1]))
                .softcap((float) decimal(o, "--softcap", 0))
                .threads((int) num(o, "--threads", 0))
                .build();

        try (Arena arena = Arena.ofConfined()) {
            Random rng = new Random(num(o, "--seed", 42));
            Tensor q = random(arena, dtype, rng, 1f, batch, heads, seq, dim);
            Tensor k = random(arena, dtype, rng, 1f, batch, kvHeads, kvSeq, dim);
            Tensor v = random(arena, dtype, rng, 1f, batch, kvHeads, kvSeq, dimV);
            Tensor out = Tensor.allocate(arena, DType.F32, batch, heads, seq, dimV);
            out.fill(Float.NaN);
            double[] times = time(iters, () -> attention.forward(q, k, v, out));
            double median = times[iters / 2];
            double flops = flashFlops(batch, heads, seq, kvSeq, dim, dimV, attention.options());
            double[] ref = new double[(int) dimV];
            Check check = check(batch * heads * seq, checkRows, dimV, out, (b, h, i) -> {
                FlashReference.row(q, k, v, attention.options(), b, h, i, ref);
                return ref;
            }, heads, seq, dtype);
            System.out.printf(Locale.ROOT, "flash  q=[%d,%d,%d,%d] k/v=[%d,%d,%d,%d/%d] %s %s%s isa=%s threads=%d%n",
                    batch, heads, seq, dim, batch, kvHeads, kvSeq, dim, dimV, dtype,
                    attention.options().causal() ? "causal" : "non-causal",
                    attention.options().windowLeft() >= 0 || attention.options().windowRight() >= 0
                            ? " window=" + attention.options().windowLeft() + "," + attention.options().windowRight() : "",
                    Attn4j.cpuIsa(), attention.options().threads() == 0 ? Attn4j.defaultThreads() : attention.options().threads());
            System.out.printf(Locale.ROOT, "time   median %.3f ms over %d runs (min %.3f ms)%n", median * 1e3, iters, times[0] * 1e3);
            System.out.printf(Locale.ROOT, "speed  %.2f GFLOP/s%n", flops / median / 1e9);
            return check.print();
        }
    }

    private static int lightning(String[] args) {
        Map<String, String> o = parse(args, LIGHTNING_USAGE);
        if (o == null) {
            return 0;
        }
        long batch = num(o, "--batch", 1), heads = num(o, "--heads", 8), kvHeads = num(o, "--kv-heads", heads);
        long seq = num(o, "--seq", 16384), dim = num(o, "--dim", 128), dimV = num(o, "--dim-v", dim);
        int iters = (int) num(o, "--iters", 5), checkRows = (int) num(o, "--check-rows", 64);
        DType dtype = dtype(o);
        if (iters < 1) {
            throw new UsageException("--iters must be >= 1");
        }
        if (heads < 1 || heads > Integer.MAX_VALUE) {
            throw new UsageException("--heads must be >= 1");
        }
        float[] slopes = switch (o.getOrDefault("--decay", "transnormer")) {
            case "none" -> null;
            case "transnormer" -> LightningAttention.transNormerSlopes((int) heads, 0, 1);
            default -> throw new UsageException("--decay must be none or transnormer, got '" + o.get("--decay") + "'");
        };
        LightningAttention lightning = LightningAttention.builder().slopes(slopes)
                .blockSize((int) num(o, "--block", 0)).threads((int) num(o, "--threads", 0)).build();
        try (Arena arena = Arena.ofConfined()) {
            Random rng = new Random(num(o, "--seed", 42));
            float std = (float) Math.pow(dim, -0.25);
            Tensor q = random(arena, dtype, rng, std, batch, heads, seq, dim);
            Tensor k = random(arena, dtype, rng, std, batch, kvHeads, seq, dim);
            Tensor v = random(arena, dtype, rng, 1f, batch, kvHeads, seq, dimV);
            Tensor out = Tensor.allocate(arena, DType.F32, batch, heads, seq, dimV);
            out.fill(Float.NaN);
            double[] times = time(iters, () -> lightning.forward(q, k, v, out, null));
            double median = times[iters / 2];
            int block = lightning.options().blockSize() == 0 ? 32 : lightning.options().blockSize();
            double flops = batch * heads * seq * (2.0 * block * (dim + dimV) + 4.0 * dim * dimV);
            double[] ref = new double[(int) dimV];
            Check check = check(batch * heads * seq, checkRows, dimV, out, (b, h, i) -> {
                LightningReference.row(q, k, v, null, lightning.options(), b, h, i, ref);
                return ref;
            }, heads, seq, dtype);
            System.out.printf(Locale.ROOT, "lightning  q=[%d,%d,%d,%d] k/v=[%d,%d,%d,%d/%d] %s decay=%s isa=%s threads=%d%n",
                    batch, heads, seq, dim, batch, kvHeads, seq, dim, dimV, dtype, slopes == null ? "none" : "transnormer",
                    Attn4j.cpuIsa(), lightning.options().threads() == 0 ? Attn4j.defaultThreads() : lightning.options().threads());
            System.out.printf(Locale.ROOT, "time   median %.3f ms over %d runs (min %.3f ms)%n", median * 1e3, iters, times[0] * 1e3);
            System.out.printf(Locale.ROOT, "speed  %.0f tokens/s, %.2f GFLOP/s%n", batch * seq / median, flops / median / 1e9);
            return check.print();
        }
    }

    private interface RowReference {
        double[] row(long b, long h, long i);
    }

    /** Sampled rows of {@code out} against a reference row by row. */
    private record Check(long rows, double maxErr, double relL2, double tolerance) {
        int print() {
            boolean ok = relL2 <= tolerance;
            System.out.printf(Locale.ROOT, "check  %d rows vs fp64 reference: max abs error %.3e, rel L2 %.3e (tolerance %.0e) %s%n",
                    rows, maxErr, relL2, tolerance, ok ? "OK" : "FAILED");
            return ok ? 0 : 1;
        }
    }

    private static Check check(long rows, int wanted, long dimV, Tensor out, RowReference reference, long heads, long seq,
            DType dtype) {
        long step = wanted <= 0 || rows <= wanted ? 1 : rows / wanted;
        double maxErr = 0, errSq = 0, refSq = 0;
        long checked = 0;
        for (long r = 0; r < rows; r += step, checked++) {
            long b = r / (heads * seq), h = (r / seq) % heads, i = r % seq;
            double[] ref = reference.row(b, h, i);
            for (int e = 0; e < dimV; e++) {
                double got = out.get(b, h, i, e), diff = Double.isNaN(got) ? Double.POSITIVE_INFINITY : got - ref[e];
                maxErr = Math.max(maxErr, Math.abs(diff));
                errSq += diff * diff;
                refSq += ref[e] * ref[e];
            }
        }
        double relL2 = refSq == 0 ? Math.sqrt(errSq) : Math.sqrt(errSq / refSq);
        return new Check(checked, maxErr, relL2, dtype == DType.BF16 ? 1e-2 : 1e-5);
    }

    /** One warm-up, then {@code iters} timed runs; seconds, sorted. */
    private static double[] time(int iters, Runnable run) {
        run.run();
        double[] times = new double[iters];
        for (int it = 0; it < iters; it++) {
            long t0 = System.nanoTime();
            run.run();
            times[it] = (System.nanoTime() - t0) / 1e9;
        }
        Arrays.sort(times);
        return times;
    }

    private static DType dtype(Map<String, String> o) {
        return switch (o.getOrDefault("--dtype", "f32")) {
            case "f32" -> DType.F32;
            case "bf16" -> DType.BF16;
            default -> throw new UsageException("--dtype must be f32 or bf16, got '" + o.get("--dtype") + "'");
        };
    }

    /** 4 * Nq * Nk * d per head (2 for q k^T, 2 for p v), counting only the keys the mask lets through. */
    static double flashFlops(long b, long h, long nq, long nk, long d, long dv, FlashAttention.Options o) {
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

    private static Tensor random(Arena arena, DType dtype, Random rng, float std, long... shape) {
        Tensor t = Tensor.allocate(arena, dtype, shape);
        float[] data = new float[Math.toIntExact(t.elementCount())];
        for (int i = 0; i < data.length; i++) {
            data[i] = (float) (rng.nextGaussian() * std);
        }
        t.copyFrom(data);
        return t;
    }

    /** Flags with a value, plus the value-less ones named in {@code switches}; null after printing help. */
    private static Map<String, String> parse(String[] args, String usage, String... switches) {
        Map<String, String> out = new LinkedHashMap<>();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.equals("--help") || a.equals("-h")) {
                System.out.println(usage);
                return null;
            }
            if (!a.startsWith("--") || !usage.contains(a + " ")) {
                throw new UsageException("unknown option '" + a + "' (try --help)");
            }
            if (Arrays.asList(switches).contains(a)) {
                out.put(a, "true");
            } else {
                if (i + 1 >= args.length) {
                    throw new UsageException(a + " needs a value");
                }
                out.put(a, args[++i]);
            }
        }
        return out;
    }

    private static long num(Map<String, String> o, String flag, long dflt) {
        String s = o.get(flag);
        if (s == null) {
            return dflt;
        }
        try {
            return Long.parseLong(s);
        } catch (NumberFormatException e) {
            throw new UsageException(flag + " must be an integer, got '" + s + "'");
        }
    }

    private static double decimal(Map<String, String> o, String flag, double dflt) {
        String s = o.get(flag);
        if (s == null) {
            return dflt;
        }
        try {
            return Double.parseDouble(s);
        } catch (NumberFormatException e) {
            throw new UsageException(flag + " must be a number, got '" + s + "'");
        }
    }

    private static int parseInt(String flag, String s) {
        try {
            return Integer.parseInt(s.trim());
        } catch (NumberFormatException e) {
            throw new UsageException(flag + " must be integers, got '" + s + "'");
        }
    }

    private static final class UsageException extends RuntimeException {
        UsageException(String message) {
            super(message);
        }
    }
}
