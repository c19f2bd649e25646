package org.attn4j.minilm;

import java.util.List;

/**
 * Tokenized texts to encode together: each keeps its own length; the batch is padded to the longest
 * ({@link #paddedLength()}) only in its layout, never in the work done on it.
 */
public final class Batch {
    private final int[][] ids;
    private final boolean[] truncated;
    private final int paddedLength;

    private Batch(int[][] ids, boolean[] truncated) {
        this.ids = ids;
        this.truncated = truncated;
        int max = 0;
        for (int[] s : ids) {
            max = Math.max(max, s.length);
        }
        this.paddedLength = max;
    }

    /** Tokenizes {@code texts} with at most {@code maxLength} ids each (see {@link Tokenizer#encode(String, int)}). */
    public static Batch of(Tokenizer tokenizer, List<String> texts, int maxLength) {
        if (texts == null || texts.isEmpty()) {
            throw new IllegalArgumentException("texts must hold at least one text");
        }
        int[][] ids = new int[texts.size()][];
        boolean[] cut = new boolean[texts.size()];
        for (int i = 0; i < ids.length; i++) {
            Tokenizer.Encoding e = tokenizer.encode(texts.get(i), maxLength);
            ids[i] = e.ids();
            cut[i] = e.truncated();
        }
        return new Batch(ids, cut);
    }

    /** A batch of already tokenized sequences (each 1 to {@value Tokenizer#MAX_POSITIONS} ids below the vocabulary size). */
    public static Batch ofIds(int[][] sequences) {
        if (sequences == null || sequences.length == 0) {
            throw new IllegalArgumentException("sequences must hold at least one sequence");
        }
        int[][] ids = new int[sequences.length][];
        for (int i = 0; i < ids.length; i++) {
            int[] s = sequences[i];
            if (s == null || s.length == 0 || s.length > Tokenizer.MAX_POSITIONS) {
                throw new IllegalArgumentException("sequences[" + i + "] has " + (s == null ? "no" : s.length)
                        + " ids; each needs 1.." + Tokenizer.MAX_POSITIONS);
            }
            for (int id : s) {
                if (id < 0 || id >= Weights.VOCAB) {
                    throw new IllegalArgumentException("sequences[" + i + "] holds id " + id + ", outside 0.." + (Weights.VOCAB - 1));
                }
            }
            ids[i] = s.clone();
        }
        return new Batch(ids, new boolean[ids.length]);
    }

    public int size() {
        return ids.length;
    }

    /** The longest sequence's length: the batch's layout is {@code size() x paddedLength()} tokens. */
    public int paddedLength() {
        return paddedLength;
    }

    public int length(int i) {
        return ids[i].length;
    }

    /** A copy of sequence {@code i}'s ids. */
    public int[] ids(int i) {
        return ids[i].clone();
    }

    int id(int i, int position) {
        return ids[i][position];
    }

    /** Whether sequence {@code i} lost word pieces to the length limit. */
    public boolean truncated(int i) {
        return truncated[i];
    }

    /** Tokens that are not padding. */
    public int validTokens() {
        int n = 0;
        for (int[] s : ids) {
            n += s.length;
        }
        return n;
    }

    /** Tokens of the padded layout, {@code size() * paddedLength()}. */
    public int paddedTokens() {
        return ids.length * paddedLength;
    }

    /** The ids padded with 0 to {@link #paddedLength()}, as a runtime taking padded int64 inputs wants them. */
    public long[][] paddedIds() {
        long[][] out = new long[ids.length][paddedLength];
        for (int i = 0; i < ids.length; i++) {
            for (int j = 0; j < ids[i].length; j++) {
                out[i][j] = ids[i][j];
            }
        }
        return out;
    }

    /** 1 for a token, 0 for padding, in the padded layout. */
    public long[][] attentionMask() {
        long[][] out = new long[ids.length][paddedLength];
        for (int i = 0; i < ids.length; i++) {
            java.util.Arrays.fill(out[i], 0, ids[i].length, 1L);
        }
        return out;
    }
}
