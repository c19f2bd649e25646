package org.attn4j.minilm;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Deterministic English-like sentences of mixed lengths for the benchmark: word counts log-uniform in
 * 2..100 (about 4 to 130 tokens), the same list on every run.
 */
final class BenchmarkTexts {
    private static final String[] WORDS = ("the of and to in a is that for it as was with be by on not he this are or his from at which "
            + "but have an they you were her she there one all we their can has been if more when will would who so no "
            + "model attention kernel memory sentence vector batch padding token language machine learning java native "
            + "library weather river mountain city market history science music garden coffee morning evening window "
            + "quickly slowly carefully brightly quietly beautiful difficult important different possible available "
            + "running reading writing building walking thinking measured embedded compiled transformed normalized").split(" ");

    private BenchmarkTexts() {}

    static List<String> sentences(int count, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        List<String> out = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            int words = (int) Math.round(Math.exp(Math.log(2) + r.nextDouble() * (Math.log(100) - Math.log(2))));
            StringBuilder b = new StringBuilder();
            for (int w = 0; w < words; w++) {
                String word = WORDS[r.nextInt(WORDS.length)];
                b.append(w == 0 ? Character.toUpperCase(word.charAt(0)) + word.substring(1) : word);
                b.append(w == words - 1 ? "." : r.nextInt(12) == 0 ? ", " : " ");
            }
            out.add(b.toString());
        }
        return out;
    }
}
