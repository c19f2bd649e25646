package org.attn4j.minilm;

import java.util.List;

/** The parity tests' texts: lengths from 2 ids (the empty string) to past the model's 512 positions. */
final class TestSentences {
    private TestSentences() {}

    /** 256 ids exactly: [CLS], 254 single-piece words, [SEP]. */
    static final String TOKENS_256 = "hello ".repeat(127) + "world ".repeat(127);
    /** 800 word pieces: cut to 512 ids. */
    static final String PAST_512 = "the quick brown fox jumps over the lazy dog ".repeat(89);

    static final List<String> ALL = List.of(
            "",
            "Hi",
            "A cat sits on the mat.",
            "Stock markets fell sharply on Tuesday after the central bank raised interest rates again.",
            "Ünïcödé façade — naïve café, 東京タワー, Привет мир 🙂 ¿Qué tal?",
            "Attention is computed per sequence: padded keys are never read, and padded query rows are never used. "
                    + "This sentence is long enough to span several register blocks of the projection kernel.",
            TOKENS_256,
            PAST_512);
}
