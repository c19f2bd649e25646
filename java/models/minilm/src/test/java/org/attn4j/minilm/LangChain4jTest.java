package org.attn4j.minilm;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.langchain4j.model.embedding.onnx.allminilml6v2.AllMiniLmL6V2EmbeddingModel;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The same embeddings as langchain4j's own in-process all-MiniLM-L6-v2 (the same ONNX file and
 * tokenizer.json, one text per ONNX Runtime call, its own pooling). langchain4j cuts every text to
 * 128 tokens (its tokenizer applies the file's truncation setting), so the comparison runs at
 * {@code maxLength = 128}; at the default 512, the texts longer than that differ, as they should.
 * langchain4j refuses the empty text.
 */
class LangChain4jTest {
    @Test
    void sameEmbeddingsAsLangChain4jAt128Tokens() {
        List<String> texts = TestSentences.ALL.subList(1, TestSentences.ALL.size());
        AllMiniLmL6V2EmbeddingModel theirs = new AllMiniLmL6V2EmbeddingModel();
        float[][] ref = new float[texts.size()][];
        for (int i = 0; i < texts.size(); i++) {
            ref[i] = theirs.embed(texts.get(i)).content().vector();
        }
        try (MiniLm at128 = MiniLm.load(new MiniLm.Options(2, 128)); MiniLm at512 = MiniLm.load(new MiniLm.Options(2, 512))) {
            float[][] mine = at128.embed(texts);
            float[][] full = at512.embed(texts);
            for (int i = 0; i < texts.size(); i++) {
                double d = ParityTest.maxDiff(mine[i], ref[i]);
                System.out.printf("langchain4j text %d (%d ids): max |diff| %.2e at 128 tokens, %.2e at 512%n", i,
                        at512.batch(List.of(texts.get(i))).length(0), d, ParityTest.maxDiff(full[i], ref[i]));
                int text = i;
                assertTrue(d <= ParityTest.TOLERANCE, () -> "text " + text + ": " + d);
                if (at512.batch(List.of(texts.get(i))).length(0) > 128) {
                    assertTrue(ParityTest.maxDiff(full[i], ref[i]) > 1e-3, "text " + i + " is longer than 128 tokens");
                }
            }
        }
    }
}
