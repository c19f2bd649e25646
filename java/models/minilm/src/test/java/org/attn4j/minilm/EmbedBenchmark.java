package org.attn4j.minilm;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Sentences/s of this module's encoder and of ONNX Runtime on the same 64 mixed-length sentences, in
 * one process, for batches of 1, 8 and 64 (each configuration encodes all 64), rounds alternating
 * between the two; medians. Run: {@code mvn -f java/models/minilm/pom.xml test-compile} then
 * {@code EmbedBenchmark [threads] [rounds]} on the test class path.
 */
public final class EmbedBenchmark {
    public static void main(String[] args) throws Exception {
        int threads = args.length > 0 ? Integer.parseInt(args[0]) : 2;
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 7;
        List<String> texts = BenchmarkTexts.sentences(64, 42);
        try (MiniLm model = MiniLm.load(new MiniLm.Options(threads, 512)); OrtReference ort = new OrtReference(threads)) {
            Batch all = model.batch(texts);
            System.out.printf("64 sentences: %d tokens, padded to %d x %d = %d; threads %d%n", all.validTokens(), all.size(),
                    all.paddedLength(), all.paddedTokens(), threads);
            System.out.println("| batch | attn4j-minilm sentences/s | ONNX Runtime sentences/s | ratio | attention share |");
            System.out.println("|---|---|---|---|---|");
            for (int size : new int[] {1, 8, 64}) {
                List<Batch> batches = new ArrayList<>();
                for (int i = 0; i < texts.size(); i += size) {
                    batches.add(model.batch(texts.subList(i, Math.min(texts.size(), i + size))));
                }
                double[] mine = new double[rounds], theirs = new double[rounds], share = new double[rounds];
                for (int w = 0; w < 2; w++) {  // warm-up: JIT and both runtimes' buffers
                    for (Batch b : batches) {
                        model.embed(b);
                        ort.embed(b);
                    }
                }
                for (int r = 0; r < rounds; r++) {
                    long t0 = System.nanoTime(), attention = 0;
                    for (Batch b : batches) {
                        attention += model.embed(b).attentionNanos();
                    }
                    long t1 = System.nanoTime();
                    for (Batch b : batches) {
                        ort.embed(b);
                    }
                    long t2 = System.nanoTime();
                    mine[r] = texts.size() / ((t1 - t0) / 1e9);
                    theirs[r] = texts.size() / ((t2 - t1) / 1e9);
                    share[r] = (double) attention / (t1 - t0);
                }
                double m = median(mine), o = median(theirs);
                System.out.printf("| %d | %.1f (%.1f-%.1f) | %.1f (%.1f-%.1f) | %.2fx | %.0f%% |%n", size, m, min(mine), max(mine), o,
                        min(theirs), max(theirs), m / o, 100 * median(share));
            }
        }
    }

    private static double median(double[] a) {
        double[] s = a.clone();
        Arrays.sort(s);
        return s[s.length / 2];
    }

    private static double min(double[] a) {
        return Arrays.stream(a).min().orElse(0);
    }

    private static double max(double[] a) {
        return Arrays.stream(a).max().orElse(0);
    }
}
