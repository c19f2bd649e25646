package org.attn4j;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.ref.Reference;
import java.lang.foreign.ValueLayout;
import org.attn4j.bindings.Attn4jNative;
import org.attn4j.bindings.attn4j_sale_params;

/**
 * SALE: sparse attention for long prefill. A 4-bit estimate of {@code q k^T} scores every
 * (query block, key block) pair with its Relative Attention Score, {@code exp(max s - m)} against the
 * row's running maximum; pairs above the head's threshold {@code tau}, plus the first (sink) and the
 * diagonal (local) key blocks, are then computed exactly with FlashAttention, the rest skipped.
 * {@code tau = 0} is dense attention; larger thresholds skip more. Use it when sequences are long
 * (tens of thousands of tokens) and heads concentrate their attention; pick thresholds per head with
 * {@link #calibrate} on sample inputs.
 *
 * <p>Shapes as {@link FlashAttention}: q {@code [B, Hq, Nq, d]}, k {@code [B, Hkv, Nk, d]}, v
 * {@code [B, Hkv, Nk, dv]}, out {@code [B, Hq, Nq, dv]}; CPU tensors (f32 or bf16), or CUDA tensors
 * (bf16 or f16, d = dv in {64, 128}, 64 x 64 blocks, a device {@link SaleMask}, density not read back;
 * {@link #calibrate} is CPU only).
 *
 * <pre>{@code
 * SaleAttention sale = SaleAttention.builder().causal(true).threshold(0.01f).build();
 * try (Arena arena = Arena.ofConfined()) {
 *     Tensor q = Tensor.allocate(arena, DType.F32, 1, 8, 32768, 128);
 *     Tensor k = Tensor.allocate(arena, DType.F32, 1, 8, 32768, 128);
 *     Tensor v = Tensor.allocate(arena, DType.F32, 1, 8, 32768, 128);
 *     StructuredInputs.fill(StructuredInputs.Pattern.MIXED, 7, q, k, v);
 *     SaleMask mask = SaleMask.allocate(arena, q, k, sale.options());
 *     Tensor out = Tensor.allocate(arena, DType.F32, 1, 8, 32768, 128);
 *     sale.forward(q, k, v, out, null, mask);
 *     System.out.println("density " + mask.density());
 * }
 * }</pre>
 */
public final class SaleAttention {

    /** Threshold used when none is given (the paper's example setting). */
    public static final float DEFAULT_THRESHOLD = 0.004f;

    /**
     * Options of a SALE call.
     *
     * @param causal      bottom-right aligned causal mask
     * @param scale       softmax scale; 0 = 1/sqrt(d)
     * @param thresholds  tau per head of q, or one value for all heads; null = {@link #DEFAULT_THRESHOLD}
     * @param blockQ      query rows per block, a multiple of 16 in 16..96; 0 = 64
     * @param blockK      keys per block, a multiple of 16 in 16..512; 0 = 64
     * @param sinkBlocks  leading key blocks always computed; 0 = 1
     * @param localBlocks key blocks ending at the diagonal always computed; 0 = 2
     * @param threads     CPU threads; 0 = library default
     */
    public record Options(boolean causal, float scale, float[] thresholds, int blockQ, int blockK, int sinkBlocks,
            int localBlocks, int threads) {
        /** Non-causal, default threshold, 64 x 64 blocks, 1 sink and 2 local blocks. */
        public static final Options DEFAULT = new Options(false, 0f, null, 0, 0, 0, 0, 0);

        public Options {
            if (!Float.isFinite(scale)) {
                throw new IllegalArgumentException("scale = " + scale + " is not finite");
            }
            if (thresholds != null) {
                thresholds = thresholds.clone();
                if (thresholds.length == 0) {
                    throw new IllegalArgumentException("thresholds is empty (give one value, one per head, or null)");
                }
                for (int h = 0; h < thresholds.length; h++) {
                    if (!Float.isFinite(thresholds[h]) || thresholds[h] < 0) {
                        throw new IllegalArgumentException("thresholds[" + h + "] = " + thresholds[h] + " must be finite and >= 0");
                    }
                }
            }
            checkBlocks(blockQ, blockK);
            if (sinkBlocks < 0) {
                throw new IllegalArgumentException("sinkBlocks = " + sinkBlocks + " must be >= 0 (0 = 1)");
            }
            if (localBlocks < 0) {
                throw new IllegalArgumentException("localBlocks = " + localBlocks + " must be >= 0 (0 = 2)");
            }
            if (threads < 0) {
                throw new IllegalArgumentException("threads = " + threads + " must be >= 0 (0 = default)");
            }
        }

        static void checkBlocks(int blockQ, int blockK) {
            if (blockQ != 0 && (blockQ < 16 || blockQ > 96 || blockQ % 16 != 0)) {
                throw new IllegalArgumentException("blockQ = " + blockQ + " must be a multiple of 16 in 16..96 (0 = 64)");
            }
            if (blockK != 0 && (blockK < 16 || blockK > 512 || blockK % 16 != 0)) {
                throw new IllegalArgumentException("blockK = " + blockK + " must be a multiple of 16 in 16..512 (0 = 64)");
            }
        }

        @Override
        public float[] thresholds() {
            return thresholds == null ? null : thresholds.clone();
        }

        /** The same options with other thresholds (e.g. those {@link #calibrate} picked). */
        public Options withThresholds(float... thresholds) {
            return new Options(causal, scale, thresholds, blockQ, blockK, sinkBlocks, localBlocks, threads);
        }
    }

    /** Builds a {@link SaleAttention}. */
    public static final class Builder {
        private boolean causal;
        private float scale;
        private float[] thresholds;
        private int blockQ, blockK, sinkBlocks, localBlocks, threads;

        private Builder() {}

        public Builder causal(boolean causal) {
            this.causal = causal;
            return this;
        }

        public Builder scale(float scale) {
            this.scale = scale;
            return this;
        }

        /** One threshold for every head. */
        public Builder threshold(float tau) {
            this.thresholds = new float[] {tau};
            return this;
        }

        /** One threshold per head of q. */
        public Builder thresholds(float... tau) {
            this.thresholds = tau;
            return this;
        }

        public Builder blocks(int blockQ, int blockK) {
            this.blockQ = blockQ;
            this.blockK = blockK;
            return this;
        }

        public Builder sinkBlocks(int n) {
            this.sinkBlocks = n;
            return this;
        }

        public Builder localBlocks(int n) {
            this.localBlocks = n;
            return this;
        }

        public Builder threads(int threads) {
            this.threads = threads;
            return this;
        }

        public SaleAttention build() {
            return new SaleAttention(new Options(causal, scale, thresholds, blockQ, blockK, sinkBlocks, localBlocks, threads));
        }
    }

    private final Options options;
    private final MemorySegment nativeThresholds;  // options.thresholds in native memory, made once (or NULL)

    private SaleAttention(Options options) {
        this.options = options;
        float[] t = options.thresholds;
        this.nativeThresholds = t == null ? MemorySegment.NULL : Arena.ofAuto().allocateFrom(ValueLayout.JAVA_FLOAT, t);
    }

    public static Builder builder() {
        return new Builder();
    }

    public static SaleAttention of(Options options) {
        Checks.notNull(options, "options");
        return new SaleAttention(options);
    }

    public Options options() {
        return options;
    }

    /** Allocates {@code out} (f32) in {@code arena}, computes into it and returns it. */
    public Tensor forward(Arena arena, Tensor q, Tensor k, Tensor v) {
        Checks.notNull(arena, "arena");
        Checks.qkv(q, k, v);
        Tensor out = Tensor.allocate(arena, DType.F32, q.shape(0), q.shape(1), q.shape(2), v.shape(3));
        forward(q, k, v, out, null, null);
        return out;
    }

    /** Computes into {@code out}. */
    public void forward(Tensor q, Tensor k, Tensor v, Tensor out) {
        forward(q, k, v, out, null, null);
    }

    /**
     * Computes into {@code out}; writes each row's log-sum-exp over the computed blocks into {@code lse}
     * (may be null) and the blocks computed, with their density, into {@code mask} (may be null).
     */
    public void forward(Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse, SaleMask mask) {
        call(false, q, k, v, out, lse, mask, null);
    }

    /**
     * The same for a batch of sequences of different lengths (padded or packed, see {@link SequenceLengths};
     * null: every sequence spans its tensors): each sequence is estimated and computed as if alone, and
     * the mask ({@link SaleMask#allocate(Arena, Tensor, Tensor, Options, SequenceLengths)}) has one entry per
     * sequence, its blocks counted from the sequence's first valid row and key. Padded query rows attend
     * to all of their sequence's valid keys, densely.
     */
    public void forward(Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse, SaleMask mask, SequenceLengths lengths) {
        call(false, q, k, v, out, lse, mask, lengths);
    }

    /**
     * Block-sparse attention over the blocks set in a caller's {@code mask} only (this object's scale,
     * causality, block sizes and threads; its thresholds are not used). Records the density in the mask.
     */
    public void blockSparse(Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse, SaleMask mask) {
        blockSparse(q, k, v, out, lse, mask, null);
    }

    /** The same for a batch of sequences of different lengths (the mask as for SALE with these lengths). */
    public void blockSparse(Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse, SaleMask mask, SequenceLengths lengths) {
        Checks.notNull(mask, "mask");
        call(true, q, k, v, out, lse, mask, lengths);
    }

    private void call(boolean blockSparse, Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse, SaleMask mask,
            SequenceLengths lengths) {
        Checks.qkv(q, k, v);
        Checks.tensor(out, "out");
        Checks.optional(lse, "lse");
        if (lengths != null) {
            lengths.checkFor(q);
        }
        if (mask != null) {
            mask.checkFor(q, k, options, lengths);
        }
        Native.CallScratch call = Native.CallScratch.get();
        MemorySegment[] d = call.tensors;
        MemorySegment bits = mask == null ? MemorySegment.NULL : mask.segment();
        long bytes = mask == null ? 0 : mask.byteSize();
        MemorySegment params = params(call, lengths);
        try {
            if (Native.anyHeap(q, k, v, out, lse)) {
                Native.check(HeapCalls.sale(blockSparse, q, k, v, out, lse, d, params, bits, bytes, call.density));
            } else if (blockSparse) {
                Native.check(Attn4jNative.attn4j_block_sparse_forward_data(q.segment(), k.segment(), v.segment(),
                        out.segment(), Native.data(lse), Native.descriptor(d[0], q), Native.descriptor(d[1], k),
                        Native.descriptor(d[2], v), Native.descriptor(d[3], out), Native.descriptorOrNull(d[4], lse), params,
                        bits, bytes, call.density));
            } else {
                Native.check(Attn4jNative.attn4j_sale_forward_data(q.segment(), k.segment(), v.segment(), out.segment(),
                        Native.data(lse), Native.descriptor(d[0], q), Native.descriptor(d[1], k), Native.descriptor(d[2], v),
                        Native.descriptor(d[3], out), Native.descriptorOrNull(d[4], lse), params, bits, bytes, call.density));
            }
        } finally {
            // The thresholds' and lengths' memory is reachable from the call only through addresses.
            Reference.reachabilityFence(this);
            Reference.reachabilityFence(lengths);
        }
        if (mask != null) {
            mask.density(call.density.get(ValueLayout.JAVA_DOUBLE, 0));
        }
    }

    /**
     * Per-head thresholds for these options on sample inputs: for each head of q, the largest tau of
     * 0.1, 0.05, 0.025, ... (0 below 1e-4) whose output is within relative L2 error {@code targetError}
     * of dense attention. Pass the result to {@link Options#withThresholds}. Host tensors (off-heap or
     * Java arrays).
     */
    public static float[] calibrate(Tensor q, Tensor k, Tensor v, float targetError, Options options) {
        Checks.notNull(options, "options");
        Checks.qkv(q, k, v);
        int heads = (int) Math.min(q.shape(1), Integer.MAX_VALUE);
        NativeLibrary.ensureLoaded();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.JAVA_FLOAT, Math.max(heads, 1));
            SaleAttention sale = new SaleAttention(options.withThresholds((float[]) null));
            Native.CallScratch call = Native.CallScratch.get();
            MemorySegment[] d = call.tensors;
            MemorySegment params = sale.params(call, null);
            if (Native.anyHeap(q, k, v, null, null)) {
                Native.check(HeapCalls.calibrate(q, k, v, targetError, d, params, out, heads));
            } else {
                Native.check(Attn4jNative.attn4j_sale_calibrate_data(q.segment(), k.segment(), v.segment(),
                        Native.descriptor(d[0], q), Native.descriptor(d[1], k), Native.descriptor(d[2], v), targetError,
                        params, out, heads));
            }
            return heads == 0 ? new float[0] : out.toArray(ValueLayout.JAVA_FLOAT);
        }
    }

    private MemorySegment params(Native.CallScratch call, SequenceLengths lengths) {
        float[] t = options.thresholds;
        NativeLibrary.ensureLoaded();
        MemorySegment p = call.saleParams;
        attn4j_sale_params.scale(p, options.scale());
        attn4j_sale_params.causal(p, options.causal() ? 1 : 0);
        attn4j_sale_params.thresholds(p, nativeThresholds);
        attn4j_sale_params.num_thresholds(p, t == null ? 0 : t.length);
        attn4j_sale_params.block_q(p, options.blockQ());
        attn4j_sale_params.block_k(p, options.blockK());
        attn4j_sale_params.sink_blocks(p, options.sinkBlocks());
        attn4j_sale_params.local_blocks(p, options.localBlocks());
        attn4j_sale_params.num_threads(p, options.threads());
        SequenceLengths.writeToSale(p, lengths);
        return p;
    }
}
