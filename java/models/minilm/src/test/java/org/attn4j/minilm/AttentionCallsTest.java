package org.attn4j.minilm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The padded batch in one attn4j call (keys limited by SequenceLengths) against one call per sequence
 * over its own rows: the same embeddings to within 1e-6. Not bit for bit: a sequence of a few keys
 * in a padded batch can come out of the kernel 1-2 ulp away from the same sequence alone. With one
 * call per sequence, everything else in this module is row-local, so a text alone equals its row in
 * any batch bit for bit.
 */
class AttentionCallsTest {
    private static final MiniLm.Options OPTIONS = new MiniLm.Options(2, Tokenizer.MAX_POSITIONS);

    private static List<String> texts() {
        List<String> texts = new ArrayList<>(TestSentences.ALL);
        texts.addAll(BenchmarkTexts.sentences(24, 5));
        return texts;
    }

    @Test
    void paddedCallEqualsOneCallPerSequence() {
        List<String> texts = texts();
        float[][] padded, each;
        try (MiniLm model = MiniLm.load(OPTIONS, Encoder.Calls.PADDED)) {
            padded = model.embed(texts);
        }
        try (MiniLm model = MiniLm.load(OPTIONS, Encoder.Calls.PER_SEQUENCE)) {
            each = model.embed(texts);
        }
        double worst = 0;
        for (int i = 0; i < texts.size(); i++) {
            worst = Math.max(worst, ParityTest.maxDiff(padded[i], each[i]));
        }
        System.out.printf("padded call vs one call per sequence: max |diff| %.2e over %d texts%n", worst, texts.size());
        double w = worst;
        assertTrue(worst <= 1e-6, () -> "max |diff| " + w);
    }

    @Test
    void perSequenceRowsDoNotDependOnTheBatch() {
        List<String> texts = texts();
        try (MiniLm model = MiniLm.load(OPTIONS, Encoder.Calls.PER_SEQUENCE)) {
            float[][] batched = model.embed(texts);
            for (int i = 0; i < texts.size(); i += 3) {
                assertArrayEquals(batched[i], model.embed(texts.get(i)), "text " + i + " alone differs from its row in the batch");
            }
        }
    }
}
