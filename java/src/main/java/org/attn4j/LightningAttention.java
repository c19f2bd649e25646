package org.attn4j;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.ref.Reference;
import java.lang.foreign.ValueLayout;
import org.attn4j.bindings.Attn4jNative;
import org.attn4j.bindings.attn4j_lightning_params;

/**
 * Lightning Attention-2: causal linear attention with a per-head decay, at constant cost per token
 * whatever the sequence length. With {@code lambda_h = exp(-slope_h)}:
 * {@code o_i = sum_{j <= i} lambda^(i-j) (q_i . k_j) v_j} (no softmax). Computed block by block
 * (intra-block products plus an inter-block state), so prefill is O(N d dv), and a
 * {@link LightningState} carries the state from one call to the next (chunked prefill, decode).
 *
 * <p>Shapes: q {@code [B, Hq, N, d]}, k {@code [B, Hkv, N, d]}, v {@code [B, Hkv, N, dv]}, out
 * {@code [B, Hq, N, dv]}; Hq a multiple of Hkv; f32 or bf16 storage, fp32 accumulation.
 *
 * <pre>{@code
 * LightningAttention lightning = LightningAttention.builder()
 *         .slopes(LightningAttention.transNormerSlopes(8, 0, 1)).build();
 * try (Arena arena = Arena.ofConfined(); LightningState state = LightningState.allocate(1, 8, 64, 64)) {
 *     Tensor q = Tensor.allocate(arena, DType.F32, 1, 8, 4096, 64);
 *     Tensor k = Tensor.allocate(arena, DType.F32, 1, 8, 4096, 64);
 *     Tensor v = Tensor.allocate(arena, DType.F32, 1, 8, 4096, 64);
 *     Tensor out = Tensor.allocate(arena, DType.F32, 1, 8, 4096, 64);
 *     lightning.forward(q, k, v, out, state);   // state now holds all 4096 tokens
 * }
 * }</pre>
 */
public final class LightningAttention {

    /**
     * Options of a Lightning Attention call.
     *
     * @param slopes    per-query-head decay slopes (>= 0), or null for no decay
     * @param blockSize tokens per block, 1..256; 0 = default (32)
     * @param threads   CPU threads; 0 = library default
     */
    public record Options(float[] slopes, int blockSize, int threads) {
        /** No decay, default block size and threads. */
        public static final Options DEFAULT = new Options(null, 0, 0);

        public Options {
            if (slopes != null) {
                slopes = slopes.clone();
                for (int h = 0; h < slopes.length; h++) {
                    if (!Float.isFinite(slopes[h]) || slopes[h] < 0) {
                        throw new IllegalArgumentException("slopes[" + h + "] = " + slopes[h] + " must be finite and >= 0");
                    }
                }
            }
            if (blockSize < 0 || blockSize > 256) {
                throw new IllegalArgumentException("blockSize = " + blockSize + " must be in 1..256 (0 = default)");
            }
            if (threads < 0) {
                throw new IllegalArgumentException("threads = " + threads + " must be >= 0 (0 = default)");
            }
        }

        @Override
        public float[] slopes() {
            return slopes == null ? null : slopes.clone();
        }
    }

    /** Builds a {@link LightningAttention}. */
    public static final class Builder {
        private float[] slopes;
        private int blockSize;
        private int threads;

        private Builder() {}

        /** Per-query-head decay slopes, {@code lambda_h = exp(-slopes[h])}; none = no decay. */
        public Builder slopes(float... slopes) {
            this.slopes = slopes;
            return this;
        }

        public Builder blockSize(int blockSize) {
            this.blockSize = blockSize;
            return this;
        }

        public Builder threads(int threads) {
            this.threads = threads;
            return this;
        }

        public LightningAttention build() {
            return new LightningAttention(new Options(slopes, blockSize, threads));
        }
    }

    private final Options options;
    private final MemorySegment nativeSlopes;  // options.slopes in native memory, made once (or NULL)

    private LightningAttention(Options options) {
        this.options = options;
        float[] slopes = options.slopes;
        this.nativeSlopes = slopes == null ? MemorySegment.NULL : Arena.ofAuto().allocateFrom(ValueLayout.JAVA_FLOAT, slopes);
    }

    public static Builder builder() {
        return new Builder();
    }

    public static LightningAttention of(Options options) {
        if (options == null) {
            throw new IllegalArgumentException("options must not be null");
        }
        return new LightningAttention(options);
    }

    public Options options() {
        return options;
    }

    /**
     * TransNormerLLM's decay slopes for {@code heads} heads of layer {@code layer} of {@code numLayers}:
     * ALiBi's geometric sequence, scaled by {@code 1 - layer / (numLayers - 1) + 1e-5}.
     */
    public static float[] transNormerSlopes(int heads, int layer, int numLayers) {
        if (heads < 1) {
            throw new IllegalArgumentException("heads = " + heads + " must be >= 1");
        }
        if (numLayers < 1 || layer < 0 || layer >= numLayers) {
            throw new IllegalArgumentException("layer = " + layer + " must be in 0.." + (numLayers - 1) + " (numLayers = " + numLayers + ")");
        }
        NativeLibrary.ensureLoaded();
        try (Arena call = Arena.ofConfined()) {
            MemorySegment out = call.allocate(ValueLayout.JAVA_FLOAT, heads);
            Native.check(Attn4jNative.attn4j_lightning_slopes(heads, layer, numLayers, out));
            return out.toArray(ValueLayout.JAVA_FLOAT);
        }
    }

    /** Allocates {@code out} (f32) in {@code arena}, runs from a zero state and returns it. */
    public Tensor forward(Arena arena, Tensor q, Tensor k, Tensor v) {
        Checks.notNull(arena, "arena");
        Checks.qkv(q, k, v);
        Tensor out = Tensor.allocate(arena, DType.F32, q.shape(0), q.shape(1), q.shape(2), v.shape(3));
        forward(q, k, v, out, null);
        return out;
    }

    /**
     * Computes into {@code out}. With a {@code state}, starts from it and leaves in it the state after
     * the last token (in place); with null, starts from zero and keeps nothing.
     */
    public void forward(Tensor q, Tensor k, Tensor v, Tensor out, LightningState state) {
        call(q, k, v, out, state, null);
    }

    /**
     * Packed sequences of different lengths in one call (CPU, or CUDA one sequence after another): q {@code [1, Hq, total, d]} and the others
     * alike hold every sequence back to back ({@link SequenceLengths#packedLengths}); sequence b starts from
     * state b of {@code state} ({@code [count, Hq, d, dv]}; null: zero, nothing kept) and leaves its own.
     */
    public void forward(Tensor q, Tensor k, Tensor v, Tensor out, LightningState state, SequenceLengths lengths) {
        Checks.notNull(lengths, "lengths");
        call(q, k, v, out, state, lengths);
    }

    /** A few new tokens after what {@code state} holds (required), updating it in place. */
    public void decode(Tensor q, Tensor k, Tensor v, Tensor out, LightningState state) {
        Checks.notNull(state, "state");
        call(q, k, v, out, state, null);
    }

    private void call(Tensor q, Tensor k, Tensor v, Tensor out, LightningState state, SequenceLengths lengths) {
        Checks.qkv(q, k, v);
        Checks.tensor(out, "out");
        if (lengths != null) {
            lengths.checkSelfPacked();
        }
        Tensor st = null;
        if (state != null) {
            if (state.isClosed()) {
                throw new IllegalArgumentException("state is closed");
            }
            st = state.tensor();
        }
        NativeLibrary.ensureLoaded();
        Native.CallScratch call = Native.CallScratch.get();
        MemorySegment params = call.lightningParams;
        float[] slopes = options.slopes;
        attn4j_lightning_params.slopes(params, nativeSlopes);
        attn4j_lightning_params.num_slopes(params, slopes == null ? 0 : slopes.length);
        attn4j_lightning_params.block_size(params, options.blockSize());
        attn4j_lightning_params.num_threads(params, options.threads());
        attn4j_lightning_params.cuda_stream(params, MemorySegment.NULL);
        attn4j_lightning_params.cu_seqlens(params, lengths == null ? MemorySegment.NULL : lengths.prefixSums());
        attn4j_lightning_params.num_seqs(params, lengths == null ? 0 : lengths.count());
        MemorySegment[] d = call.tensors;
        try {
            if (Native.anyHeap(q, k, v, out, null)) {  // decode is forward with the state in and out
                Native.check(HeapCalls.lightning(q, k, v, out, st, d, params));
                return;
            }
            MemorySegment sd = Native.descriptorOrNull(d[4], st);
            Native.check(Attn4jNative.attn4j_lightning_forward_data(q.segment(), k.segment(), v.segment(), out.segment(),
                    Native.data(st), Native.data(st), Native.descriptor(d[0], q), Native.descriptor(d[1], k),
                    Native.descriptor(d[2], v), Native.descriptor(d[3], out), sd, sd, params));
        } finally {
            // The slopes' memory belongs to this object, reachable from the call only through an address.
            Reference.reachabilityFence(this);
            Reference.reachabilityFence(lengths);
        }
    }
}
