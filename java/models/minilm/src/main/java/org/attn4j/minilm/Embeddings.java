package org.attn4j.minilm;

/**
 * A batch's sentence embeddings (mean of the token states, L2-normalized: one unit vector of
 * {@link MiniLm#DIMENSION} floats per text, in order) and where the time went.
 *
 * @param vectors        one embedding per text
 * @param batch          what was encoded
 * @param nanos          the whole encoder call
 * @param attentionNanos of which in attn4j's FlashAttention
 */
public record Embeddings(float[][] vectors, Batch batch, long nanos, long attentionNanos) {

    /** Cosine similarity of texts {@code i} and {@code j} (their dot product: both have norm 1). */
    public float cosine(int i, int j) {
        return MiniLm.cosine(vectors[i], vectors[j]);
    }
}
