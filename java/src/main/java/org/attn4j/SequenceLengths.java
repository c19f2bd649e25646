package org.attn4j;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import org.attn4j.bindings.attn4j_flash_params;
import org.attn4j.bindings.attn4j_sale_params;

/**
 * Where each sequence of a batch lies when the sequences differ in length, for
 * {@link FlashAttention#forward(Tensor, Tensor, Tensor, Tensor, Tensor, SequenceLengths)}, SALE
 * ({@link SaleAttention#forward(Tensor, Tensor, Tensor, Tensor, Tensor, SaleMask, SequenceLengths)}) and,
 * in the packed form, Lightning. Immutable.
 *
 * <p><b>Padded</b>: q {@code [B, Hq, Nq, d]}, k and v {@code [B, Hkv, Nk, d]} as usual, and for each
 * sequence its valid query rows and keys (and where they start, for left padding). Keys outside are
 * never read; masks are bottom-right aligned per sequence; a padded query row attends to all of its
 * sequence's valid keys and is written, as in a HuggingFace model, so a padded batch compares one to
 * one with an exported model. <b>Packed</b>: every sequence back to back in one batch entry, q
 * {@code [1, Hq, total_q, d]}, with prefix sums of the lengths (FlashAttention's {@code cu_seqlens});
 * no work is spent on padding.
 *
 * <pre>{@code
 * long[][] mask = tokenizer.attentionMask();              // [B, S], 1 = token, 0 = padding
 * attention.forward(q, k, v, out, null, SequenceLengths.fromAttentionMask(mask));
 * attention.forward(pq, pk, pv, pout, null, SequenceLengths.packedLengths(7, 120, 33));
 * }</pre>
 */
public final class SequenceLengths {
    private final int count;  // sequences
    private final boolean packed;
    private final int maxQ, maxK;
    // int32 arrays in memory this object owns (NULL where absent): the call reads them, and holds this
    // object reachable until it returns.
    private final MemorySegment qLens, kvLens, qStarts, kvStarts, cuQ, cuK;

    private SequenceLengths(int count, boolean packed, int[] qLens, int[] kvLens, int[] qStarts, int[] kvStarts,
            int[] cuQ, int[] cuK) {
        Arena arena = Arena.ofAuto();
        this.count = count;
        this.packed = packed;
        this.qLens = segment(arena, qLens);
        this.kvLens = segment(arena, kvLens);
        this.qStarts = segment(arena, qStarts);
        this.kvStarts = segment(arena, kvStarts);
        this.cuQ = segment(arena, cuQ);
        this.cuK = segment(arena, cuK);
        this.maxQ = packed ? maxGap(cuQ) : max(qLens);
        this.maxK = packed ? maxGap(cuK) : max(kvLens);
    }

    /** Padded form: sequence b's first {@code kvLens[b]} keys are valid; every query row is its own. */
    public static SequenceLengths ofKeys(int... kvLens) {
        Checks.notNull(kvLens, "kvLens");
        return new SequenceLengths(kvLens.length, false, null, kvLens, null, null, null, null);
    }

    /**
     * Padded form: sequence b's first {@code qLens[b]} query rows and first {@code kvLens[b]} keys are
     * valid (right padding); either array may be null (the whole length).
     */
    public static SequenceLengths of(int[] qLens, int[] kvLens) {
        return padded(qLens, kvLens, null, null);
    }

    /**
     * Padded form with start offsets (left padding): sequence b's valid query rows are
     * {@code qStarts[b] .. qStarts[b] + qLens[b] - 1}, likewise its keys. Any array may be null (lengths:
     * to the end; starts: 0); those given have one entry per sequence.
     */
    public static SequenceLengths padded(int[] qLens, int[] kvLens, int[] qStarts, int[] kvStarts) {
        int n = -1;
        for (int[] a : new int[][] {qLens, kvLens, qStarts, kvStarts}) {
            if (a == null) {
                continue;
            }
            if (n >= 0 && a.length != n) {
                throw new IllegalArgumentException("qLens, kvLens, qStarts and kvStarts must have one entry per sequence,"
                        + " got lengths " + len(qLens) + ", " + len(kvLens) + ", " + len(qStarts) + ", " + len(kvStarts));
            }
            n = a.length;
        }
        if (n < 0) {
            throw new IllegalArgumentException("at least one of qLens, kvLens, qStarts, kvStarts must be given");
        }
        return new SequenceLengths(n, false, qLens, kvLens, qStarts, kvStarts, null, null);
    }

    /**
     * Padded form from a tokenizer's attention mask {@code [B][S]} (1 = token, 0 = padding): each row's ones
     * must be one run (right or left padding); queries and keys of a sequence are its tokens.
     */
    public static SequenceLengths fromAttentionMask(long[][] mask) {
        Checks.notNull(mask, "mask");
        int[] lens = new int[mask.length], starts = new int[mask.length];
        for (int b = 0; b < mask.length; b++) {
            long[] row = mask[b];
            if (row == null) {
                throw new IllegalArgumentException("mask[" + b + "] is null");
            }
            int first = -1, last = -1;
            for (int s = 0; s < row.length; s++) {
                if (row[s] != 0 && row[s] != 1) {
                    throw new IllegalArgumentException("mask[" + b + "][" + s + "] = " + row[s] + " must be 0 or 1");
                }
                if (row[s] == 1) {
                    if (first >= 0 && last != s - 1) {
                        throw new IllegalArgumentException("mask[" + b + "] has its tokens in more than one run (at "
                                + first + ".." + last + " and " + s + "): only right or left padding is supported");
                    }
                    if (first < 0) {
                        first = s;
                    }
                    last = s;
                }
            }
            lens[b] = first < 0 ? 0 : last - first + 1;
            starts[b] = first < 0 ? 0 : first;
        }
        return new SequenceLengths(mask.length, false, lens, lens, starts, starts, null, null);
    }

    /**
     * Packed form from FlashAttention-style prefix sums: sequence b owns query rows
     * {@code cuSeqlensQ[b] .. cuSeqlensQ[b + 1] - 1} and keys {@code cuSeqlensK[b] .. cuSeqlensK[b + 1] - 1}
     * (both start at 0, never decrease and end at the tensors' lengths).
     */
    public static SequenceLengths packed(int[] cuSeqlensQ, int[] cuSeqlensK) {
        Checks.notNull(cuSeqlensQ, "cuSeqlensQ");
        Checks.notNull(cuSeqlensK, "cuSeqlensK");
        if (cuSeqlensQ.length < 2 || cuSeqlensQ.length != cuSeqlensK.length) {
            throw new IllegalArgumentException("cuSeqlensQ and cuSeqlensK need the same number of entries, at least 2"
                    + " (sequences + 1), got " + cuSeqlensQ.length + " and " + cuSeqlensK.length);
        }
        return new SequenceLengths(cuSeqlensQ.length - 1, true, null, null, null, null, cuSeqlensQ, cuSeqlensK);
    }

    /** Packed form of sequences whose queries and keys are the same tokens (self-attention), by length. */
    public static SequenceLengths packedLengths(int... lengths) {
        Checks.notNull(lengths, "lengths");
        int[] cu = new int[lengths.length + 1];
        for (int b = 0; b < lengths.length; b++) {
            if (lengths[b] < 0) {
                throw new IllegalArgumentException("lengths[" + b + "] = " + lengths[b] + " is negative");
            }
            long next = (long) cu[b] + lengths[b];
            if (next > Integer.MAX_VALUE) {
                throw new IllegalArgumentException("lengths sum past 2^31 - 1 tokens");
            }
            cu[b + 1] = (int) next;
        }
        return packed(cu, cu);
    }

    /** Sequences described. */
    public int count() {
        return count;
    }

    /** Whether this is the packed form. */
    public boolean isPacked() {
        return packed;
    }

    /** The longest sequence's (valid) query rows and keys. */
    public int maxQueryLength() {
        return maxQ;
    }

    public int maxKeyLength() {
        return maxK;
    }

    /** The padded form has one entry per batch entry of q: only Java knows an array's length. */
    void checkFor(Tensor q) {
        if (!packed && count != q.shape(0)) {
            throw new IllegalArgumentException("lengths describe " + count + " sequences but q.shape[0] = " + q.shape(0));
        }
    }

    /** Lightning takes the packed form of self-attention: one prefix sum for queries and keys. */
    void checkSelfPacked() {
        if (!packed || cuQ.mismatch(cuK) != -1) {
            throw new IllegalArgumentException("lengths: Lightning takes packed sequences whose queries and keys are the"
                    + " same tokens (SequenceLengths.packedLengths), got " + this);
        }
    }

    /** The packed form's prefix sums (queries). */
    MemorySegment prefixSums() {
        return cuQ;
    }

    /** Writes the arrays of {@code lengths} into FlashAttention params, or clears them (null: no lengths). */
    static void writeTo(MemorySegment params, SequenceLengths lengths) {
        boolean on = lengths != null;
        attn4j_flash_params.q_lens(params, on ? lengths.qLens : MemorySegment.NULL);
        attn4j_flash_params.kv_lens(params, on ? lengths.kvLens : MemorySegment.NULL);
        attn4j_flash_params.q_starts(params, on ? lengths.qStarts : MemorySegment.NULL);
        attn4j_flash_params.kv_starts(params, on ? lengths.kvStarts : MemorySegment.NULL);
        attn4j_flash_params.cu_seqlens_q(params, on ? lengths.cuQ : MemorySegment.NULL);
        attn4j_flash_params.cu_seqlens_k(params, on ? lengths.cuK : MemorySegment.NULL);
        attn4j_flash_params.num_seqs(params, on && lengths.packed ? lengths.count : 0);
    }

    /** The same into SALE params. */
    static void writeToSale(MemorySegment saleParams, SequenceLengths lengths) {
        boolean on = lengths != null;
        attn4j_sale_params.q_lens(saleParams, on ? lengths.qLens : MemorySegment.NULL);
        attn4j_sale_params.kv_lens(saleParams, on ? lengths.kvLens : MemorySegment.NULL);
        attn4j_sale_params.q_starts(saleParams, on ? lengths.qStarts : MemorySegment.NULL);
        attn4j_sale_params.kv_starts(saleParams, on ? lengths.kvStarts : MemorySegment.NULL);
        attn4j_sale_params.cu_seqlens_q(saleParams, on ? lengths.cuQ : MemorySegment.NULL);
        attn4j_sale_params.cu_seqlens_k(saleParams, on ? lengths.cuK : MemorySegment.NULL);
        attn4j_sale_params.num_seqs(saleParams, on && lengths.packed ? lengths.count : 0);
    }

    @Override
    public String toString() {
        return "SequenceLengths[" + (packed ? "packed" : "padded") + ", " + count + " sequences, longest " + maxQ
                + " queries / " + maxK + " keys]";
    }

    private static MemorySegment segment(Arena arena, int[] a) {
        return a == null ? MemorySegment.NULL : arena.allocateFrom(ValueLayout.JAVA_INT, a.length == 0 ? new int[1] : a);
    }

    private static int max(int[] a) {
        return a == null ? 0 : Arrays.stream(a).max().orElse(0);
    }

    private static int maxGap(int[] cu) {
        int m = 0;
        for (int b = 0; b + 1 < cu.length; b++) m = Math.max(m, cu[b + 1] - cu[b]);
        return m;
    }

    private static String len(int[] a) {
        return a == null ? "null" : String.valueOf(a.length);
    }
}
