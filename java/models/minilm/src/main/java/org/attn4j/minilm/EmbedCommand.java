package org.attn4j.minilm;

import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code ci/attn4j embed}: sentence embeddings of the texts given, their similarities and the speed. */
@Command(name = "attn4j embed", sortOptions = false,
        description = "Embeds texts with all-MiniLM-L6-v2 (attention through attn4j) as one padded batch and prints each "
                + "embedding's first values, the cosine similarities, the batch's valid and padded tokens, and sentences/s.")
final class EmbedCommand implements Callable<Integer> {
    @Option(names = {"-h", "--help"}, usageHelp = true, description = "show this help and exit")
    boolean help;

    @Parameters(paramLabel = "TEXT", arity = "0..*", description = "texts to embed")
    List<String> texts = new ArrayList<>();

    @Option(names = "--file", paramLabel = "FILE", description = "also embed each non-blank line of FILE (UTF-8)")
    Path file;

    @Option(names = "--check", description = "run ONNX Runtime on the same batch and print the largest difference")
    boolean check;

    @Option(names = "--bench", description = "compare sentences/s with ONNX Runtime for batches of 1, 8, 64 "
            + "(on the texts given, else on 64 generated mixed-length sentences)")
    boolean bench;

    @Option(names = "--rounds", defaultValue = "7", paramLabel = "N", description = "benchmark rounds (default ${DEFAULT-VALUE})")
    int rounds;

    @Option(names = "--threads", defaultValue = "0", paramLabel = "N", description = "threads; 0 = ATTN4J_NUM_THREADS, else all cores")
    int threads;

    @Option(names = "--max-length", defaultValue = "512", paramLabel = "N",
            description = "ids per text at most, 3..512 (longer texts are cut; default ${DEFAULT-VALUE})")
    int maxLength;

    @Option(names = "--values", defaultValue = "5", paramLabel = "N", description = "first values to print (default ${DEFAULT-VALUE})")
    int values;

    @Option(names = "--runs", defaultValue = "5", paramLabel = "N",
            description = "timed runs of the batch after the warm-up (default ${DEFAULT-VALUE})")
    int runs;

    @Option(names = "--warmup", defaultValue = "2", paramLabel = "SECONDS",
            description = "seconds of warm-up on sample sentences before timing, so the JIT has compiled the "
                    + "vector code (default ${DEFAULT-VALUE}; 0: none)")
    double warmup;

    @Spec
    CommandSpec spec;

    private PrintStream out;

    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    /** Runs the command; returns the exit status (2 for bad arguments, with one line on {@code err}). */
    static int run(String[] args, PrintStream out, PrintStream err) {
        EmbedCommand command = new EmbedCommand();
        command.out = out;
        CommandLine cli = new CommandLine(command);
        cli.setOut(new PrintWriter(out, true, StandardCharsets.UTF_8));
        cli.setErr(new PrintWriter(err, true, StandardCharsets.UTF_8));
        cli.setParameterExceptionHandler((e, a) -> {
            err.println("attn4j embed: " + e.getMessage());
            return 2;
        });
        cli.setExecutionExceptionHandler((e, c, p) -> {
            err.println("attn4j embed: " + e);
            return 1;
        });
        return cli.execute(args);
    }

    @Override
    public Integer call() throws Exception {
        validate();
        List<String> all = new ArrayList<>(texts);
        if (file != null) {
            Files.readAllLines(file, StandardCharsets.UTF_8).stream().filter(l -> !l.isBlank()).forEach(all::add);
        }
        try (MiniLm model = MiniLm.load(new MiniLm.Options(threads, maxLength))) {
            warmUp(model, warmup);
            if (bench) {
                Bench.run(model, all.isEmpty() ? BenchmarkTexts.sentences(64, 42) : all, rounds, out);
                return 0;
            }
            embed(model, all);
        }
        return 0;
    }

    private void validate() {
        if (texts.isEmpty() && file == null && !bench) {
            throw usage("no texts: give them as arguments or with --file");
        }
        if (file != null && !Files.isReadable(file)) {
            throw usage("--file " + file + ": no such readable file");
        }
        if (threads < 0) {
            throw usage("--threads must be >= 0, got " + threads);
        }
        if (maxLength < 3 || maxLength > Tokenizer.MAX_POSITIONS) {
            throw usage("--max-length must be in 3.." + Tokenizer.MAX_POSITIONS + ", got " + maxLength);
        }
        if (values < 0 || values > MiniLm.DIMENSION) {
            throw usage("--values must be in 0.." + MiniLm.DIMENSION + ", got " + values);
        }
        if (runs < 1) {
            throw usage("--runs must be >= 1, got " + runs);
        }
        if (rounds < 1) {
            throw usage("--rounds must be >= 1, got " + rounds);
        }
        if (!(warmup >= 0 && warmup <= 600)) {
            throw usage("--warmup must be in 0..600 seconds, got " + warmup);
        }
    }

    private ParameterException usage(String message) {
        return new ParameterException(spec.commandLine(), message);
    }

    /**
     * Runs small batches for {@code seconds}: the Vector API is slow until C2 has compiled it, which takes
     * a few hundred calls, and a figure measured before that says little.
     */
    static void warmUp(MiniLm model, double seconds) {
        List<Batch> samples = List.of(model.batch(BenchmarkTexts.sentences(8, 1)), model.batch(BenchmarkTexts.sentences(1, 2)));
        long end = System.nanoTime() + (long) (seconds * 1e9);
        for (int i = 0; System.nanoTime() < end; i++) {
            model.embed(samples.get(i % samples.size()));
        }
    }

    private void embed(MiniLm model, List<String> all) throws IOException {
        Batch batch = model.batch(all);
        Embeddings e = model.embed(batch);                  // this batch's shapes once before timing
        long[] nanos = new long[runs];
        long[] attention = new long[runs];
        for (int r = 0; r < runs; r++) {
            e = model.embed(batch);
            nanos[r] = e.nanos();
            attention[r] = e.attentionNanos();
        }
        out.printf(Locale.ROOT, "batch: %d texts, %d valid tokens, padded %d x %d = %d tokens%n", batch.size(),
                batch.validTokens(), batch.size(), batch.paddedLength(), batch.paddedTokens());
        for (int i = 0; i < batch.size(); i++) {
            float[] v = e.vectors()[i];
            StringBuilder first = new StringBuilder();
            for (int c = 0; c < values; c++) {
                first.append(c == 0 ? "" : ", ").append(String.format(Locale.ROOT, "%.5f", v[c]));
            }
            out.printf(Locale.ROOT, "[%d] %s (%d ids%s): [%s%s]%n", i, quote(all.get(i)), batch.length(i),
                    batch.truncated(i) ? ", cut to --max-length" : "", first, values < v.length ? ", ..." : "");
        }
        similarities(e, all.size());
        Arrays.sort(nanos);
        long median = nanos[runs / 2];
        long[] sortedAttention = attention.clone();
        Arrays.sort(sortedAttention);
        out.printf(Locale.ROOT, "time: %.2f ms per batch (median of %d runs), %.1f sentences/s, attention %.0f%% of it, %d threads%n",
                median / 1e6, runs, batch.size() / (median / 1e9), 100.0 * sortedAttention[runs / 2] / median, model.threads());
        if (check) {
            check(model, batch, e);
        }
    }

    private void similarities(Embeddings e, int n) {
        if (n < 2) {
            return;
        }
        if (n <= 10) {
            out.println("cosine similarities:");
            StringBuilder header = new StringBuilder("      ");
            for (int j = 0; j < n; j++) {
                header.append(String.format(Locale.ROOT, "%7s", "[" + j + "]"));
            }
            out.println(header);
            for (int i = 0; i < n; i++) {
                StringBuilder row = new StringBuilder(String.format(Locale.ROOT, "%6s", "[" + i + "]"));
                for (int j = 0; j < n; j++) {
                    row.append(String.format(Locale.ROOT, "%7.3f", e.cosine(i, j)));
                }
                out.println(row);
            }
            return;
        }
        out.println("most similar other text (cosine):");
        for (int i = 0; i < n; i++) {
            int best = -1;
            for (int j = 0; j < n; j++) {
                if (j != i && (best < 0 || e.cosine(i, j) > e.cosine(i, best))) {
                    best = j;
                }
            }
            out.printf(Locale.ROOT, "[%d] ~ [%d] %.3f%n", i, best, e.cosine(i, best));
        }
    }

    private void check(MiniLm model, Batch batch, Embeddings e) {
        float[][] ref;
        String version;
        try (OrtReference ort = new OrtReference(model.threads())) {
            ref = ort.embed(batch);
            version = ort.version();
        } catch (NoClassDefFoundError missing) {
            throw new IllegalStateException("--check needs ONNX Runtime on the class path (ci/attn4j embed puts it there)");
        } catch (Exception ex) {
            throw new IllegalStateException("--check: ONNX Runtime failed: " + ex.getMessage(), ex);
        }
        double worst = -1;
        int text = 0, component = 0;
        for (int i = 0; i < ref.length; i++) {
            for (int c = 0; c < ref[i].length; c++) {
                double d = Math.abs((double) e.vectors()[i][c] - ref[i][c]);
                if (!(d <= worst)) {
                    worst = d;
                    text = i;
                    component = c;
                }
            }
        }
        out.printf(Locale.ROOT, "check: ONNX Runtime %s on the same ids: largest |difference| %.2e (text %d, component %d)%n",
                version, worst, text, component);
    }

    private static String quote(String s) {
        String oneLine = s.replaceAll("\\s+", " ");
        return "\"" + (oneLine.length() > 48 ? oneLine.substring(0, 45) + "..." : oneLine) + "\"";
    }
}
