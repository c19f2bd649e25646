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
import org.attn4j.Tensor;
import org.attn4j.reference.FlashReference;

/**
 * The attn4j command line: {@code attn4j flash [options]} runs FlashAttention at a given size on
 * seeded random inputs, checks sampled rows against the fp64 reference and prints time and GFLOP/s;
 * {@code attn4j info} prints what the native library runs on.
 */
public final class Main {
    private static final String USAGE = """
            usage: attn4j <command> [options]
              flash   run FlashAttention on random inputs, check it against the fp64 reference, time it
              info    print the library version, CPU instruction set and thread count
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
        long seed = num(o, "--seed", 42);
        DType dtype = switch (o.getOrDefault("--dtype", "f32")) {
            case "f32" -> DType.F32;
            case "bf16" -> DType.BF16;
            default -> throw new UsageException("--dtype must be f32 or bf16, got '" + o.get("--dtype") + "'");
        };
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
                .softcap(Float.parseFloat(o.getOrDefault("--softcap", "0")))
                .threads((int) num(o, "--threads", 0))
                .build();

        try (Arena arena = Arena.ofConfined()) {
            Random rng = new Random(seed);
            Tensor q = random(arena, dtype, rng, batch, heads, seq, dim);
            Tensor k = random(arena, dtype, rng, batch, kvHeads, kvSeq, dim);
            Tensor v = random(arena, dtype, rng, batch, kvHeads, kvSeq, dimV);
            Tensor out = Tensor.allocate(arena, DType.F32, batch, heads, seq, dimV);
            out.fill(Float.NaN);
            attention.forward(q, k, v, out);  // warm-up, and the output that gets checked
            double[] times = new double[iters];
            for (int it = 0; it < iters; it++) {
                long t0 = System.nanoTime();
                attention.forward(q, k, v, out);
                times[it] = (System.nanoTime() - t0) / 1e9;
            }
            Arrays.sort(times);
            double median = times[iters / 2];
            double flops = flashFlops(batch, heads, seq, kvSeq, dim, dimV, attention.options());

            long rows = batch * heads * seq;
            long step = checkRows <= 0 || rows <= checkRows ? 1 : rows / checkRows;
            double maxErr = 0, errSq = 0, refSq = 0;
            long checked = 0;
            double[] ref = new double[(int) dimV];
            for (long r = 0; r < rows; r += step, checked++) {
                long b = r / (heads * seq), h = (r / seq) % heads, i = r % seq;
                FlashReference.row(q, k, v, attention.options(), b, h, i, ref);
                for (int e = 0; e < dimV; e++) {
                    double got = out.get(b, h, i, e), diff = Double.isNaN(got) ? Double.POSITIVE_INFINITY : got - ref[e];
                    maxErr = Math.max(maxErr, Math.abs(diff));
                    errSq += diff * diff;
                    refSq += ref[e] * ref[e];
                }
            }
            double relL2 = refSq == 0 ? Math.sqrt(errSq) : Math.sqrt(errSq / refSq);
            double tolerance = dtype == DType.BF16 ? 1e-2 : 1e-5;
            boolean ok = relL2 <= tolerance;
            System.out.printf(Locale.ROOT, "flash  q=[%d,%d,%d,%d] k/v=[%d,%d,%d,%d/%d] %s %s%s isa=%s threads=%d%n",
                    batch, heads, seq, dim, batch, kvHeads, kvSeq, dim, dimV, dtype,
                    attention.options().causal() ? "causal" : "non-causal",
                    attention.options().windowLeft() >= 0 || attention.options().windowRight() >= 0
                            ? " window=" + attention.options().windowLeft() + "," + attention.options().windowRight() : "",
                    Attn4j.cpuIsa(), attention.options().threads() == 0 ? Attn4j.defaultThreads() : attention.options().threads());
            System.out.printf(Locale.ROOT, "time   median %.3f ms over %d runs (min %.3f ms)%n", median * 1e3, iters, times[0] * 1e3);
            System.out.printf(Locale.ROOT, "speed  %.2f GFLOP/s%n", flops / median / 1e9);
            System.out.printf(Locale.ROOT, "check  %d rows vs fp64 reference: max abs error %.3e, rel L2 %.3e (tolerance %.0e) %s%n",
                    checked, maxErr, relL2, tolerance, ok ? "OK" : "FAILED");
            return ok ? 0 : 1;
        }
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

    private static Tensor random(Arena arena, DType dtype, Random rng, long... shape) {
        Tensor t = Tensor.allocate(arena, dtype, shape);
        float[] data = new float[Math.toIntExact(t.elementCount())];
        for (int i = 0; i < data.length; i++) {
            data[i] = (float) rng.nextGaussian();
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
