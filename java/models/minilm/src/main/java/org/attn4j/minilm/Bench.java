package org.attn4j.minilm;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * This module's encoder against ONNX Runtime in one process on the same texts and ids: batches of 1,
 * 8 and 64 (each configuration encodes all the texts), rounds alternating between the two after two
 * warm-up rounds, a pause before each turn; medians with the range. Also the share of the encoder's
 * time spent in attn4j's attention.
 */
final class Bench {
    private Bench() {}

    static void run(MiniLm model, List<String> texts, int rounds, PrintStream out) throws Exception {
        out.println("load average before: " + loadAverage());
        try (OrtReference ort = new OrtReference(model.threads())) {
            Batch all = model.batch(texts);
            out.printf("%d texts, %d tokens; as one batch padded to %d x %d = %d tokens; %d threads; ONNX Runtime %s%n",
                    all.size(), all.validTokens(), all.size(), all.paddedLength(), all.paddedTokens(), model.threads(), ort.version());
            out.println("| batch | attn4j-minilm sentences/s | ONNX Runtime sentences/s | ratio | attention share |");
            out.println("|---|---|---|---|---|");
            for (int size : new int[] {1, 8, 64}) {
                List<Batch> batches = new ArrayList<>();
                for (int i = 0; i < texts.size(); i += size) {
                    batches.add(model.batch(texts.subList(i, Math.min(texts.size(), i + size))));
                }
                double[] mine = new double[rounds], theirs = new double[rounds], share = new double[rounds];
                for (int r = -2; r < rounds; r++) {
                    settle();
                    long t0 = System.nanoTime(), attention = 0;
                    for (Batch b : batches) {
                        attention += model.embed(b).attentionNanos();
                    }
                    long t1 = System.nanoTime();
                    settle();
                    long t2 = System.nanoTime();
                    for (Batch b : batches) {
                        ort.embed(b);
                    }
                    long t3 = System.nanoTime();
                    if (r >= 0) {
                        mine[r] = texts.size() / ((t1 - t0) / 1e9);
                        theirs[r] = texts.size() / ((t3 - t2) / 1e9);
                        share[r] = (double) attention / (t1 - t0);
                    }
                }
                double m = median(mine), o = median(theirs);
                out.printf("| %d | %.1f (%.1f-%.1f) | %.1f (%.1f-%.1f) | %.2fx | %.1f%% |%n", size, m, min(mine), max(mine), o,
                        min(theirs), max(theirs), m / o, 100 * median(share));
            }
        }
        out.println("load average after: " + loadAverage());
    }

    /** A pause between the two runtimes' turns, so neither's threads still spin into the other's time. */
    private static void settle() throws InterruptedException {
        Thread.sleep(100);
    }

    static String loadAverage() {
        try {
            return Files.readString(Path.of("/proc/loadavg")).trim();
        } catch (IOException e) {
            return "unknown";
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
