package org.attn4j;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.ref.Reference;
import org.attn4j.bindings.Attn4jNative;
import org.attn4j.bindings.attn4j_flash_params;

/**
 * Exact softmax attention, {@code out = softmax(scale * q k^T + mask) v}, tiled with the online
 * softmax (O(N) memory). Immutable and thread-safe: build one per configuration and share it.
 *
 * <p>Shapes: q {@code [B, Hq, Nq, d]}, k {@code [B, Hkv, Nk, d]}, v {@code [B, Hkv, Nk, dv]},
 * out {@code [B, Hq, Nq, dv]}, optional lse {@code [B, Hq, Nq, 1]} (f32). Hq must be a multiple of
 * Hkv (MHA, GQA, MQA). Masks are bottom-right aligned: query i sits at key position
 * {@code i + Nk - Nq}, so one kernel serves prefill, chunked prefill and decode. Rows that see no
 * key give 0 and an lse of -infinity.
 *
 * <pre>{@code
 * FlashAttention attention = FlashAttention.builder().causal(true).build();
 * try (Arena arena = Arena.ofConfined()) {
 *     Tensor q = Tensor.allocate(arena, DType.F32, 1, 8, 512, 64);
 *     Tensor k = Tensor.allocate(arena, DType.F32, 1, 8, 512, 64);
 *     Tensor v = Tensor.allocate(arena, DType.F32, 1, 8, 512, 64);
 *     Tensor out = attention.forward(arena, q, k, v);
 * }
 * }</pre>
 */
public final class FlashAttention {

    /**
     * Options of a FlashAttention call.
     *
     * @param causal      bottom-right aligned causal mask
     * @param windowLeft  keys more than this far left of the query are masked; -1 = unlimited
     * @param windowRight keys more than this far right of the query are masked; -1 = unlimited
     * @param scale       softmax scale; 0 = 1/sqrt(head_dim)
     * @param softcap     logit soft-capping {@code cap * tanh(s / cap)}; 0 = off
     * @param threads     CPU threads; 0 = library default
     * @param cudaStream  for CUDA tensors, the {@code cudaStream_t} to run on; null = the default stream
     */
    public record Options(boolean causal, int windowLeft, int windowRight, float scale, float softcap, int threads,
            MemorySegment cudaStream) {
        /** Non-causal, no window, scale 1/sqrt(d), no soft-capping, default threads and stream. */
        public static final Options DEFAULT = new Options(false, -1, -1, 0f, 0f, 0, null);

        // Checked here as well as in the C library: an options object exists before any tensor, and a bad
        // option should fail where it is written, not at the first call.
        public Options {
            if (windowLeft < -1) {
                throw new IllegalArgumentException("windowLeft = " + windowLeft + " must be >= -1 (-1 = unlimited)");
            }
            if (windowRight < -1) {
                throw new IllegalArgumentException("windowRight = " + windowRight + " must be >= -1 (-1 = unlimited)");
            }
            if (!Float.isFinite(scale)) {
                throw new IllegalArgumentException("scale = " + scale + " is not finite");
            }
            if (!Float.isFinite(softcap) || softcap < 0) {
                throw new IllegalArgumentException("softcap = " + softcap + " must be finite and >= 0 (0 = off)");
            }
            if (threads < 0) {
                throw new IllegalArgumentException("threads = " + threads + " must be >= 0 (0 = default)");
            }
        }
    }

    /** Builds a {@link FlashAttention}; every setter validates its argument at once. */
    public static final class Builder {
        private boolean causal;
        private int windowLeft = -1;
        private int windowRight = -1;
        private float scale;
        private float softcap;
        private int threads;
        private MemorySegment cudaStream;

        private Builder() {}

        /** The CUDA stream (a {@code cudaStream_t} as an address) kernels on CUDA tensors run on. */
        public Builder cudaStream(MemorySegment stream) {
            this.cudaStream = stream;
            return this;
        }

        public Builder causal(boolean causal) {
            this.causal = causal;
            return this;
        }

        /** Sliding window: {@code left} keys before and {@code right} after each query (-1 = unlimited). */
        public Builder window(int left, int right) {
            this.windowLeft = left;
            this.windowRight = right;
            return this;
        }

        public Builder scale(float scale) {
            this.scale = scale;
            return this;
        }

        public Builder softcap(float softcap) {
            this.softcap = softcap;
            return this;
        }

        public Builder threads(int threads) {
            this.threads = threads;
            return this;
        }

        public FlashAttention build() {
            return new FlashAttention(new Options(causal, windowLeft, windowRight, scale, softcap, threads, cudaStream));
        }
    }

    private final Options options;

    private FlashAttention(Options options) {
        this.options = options;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** A FlashAttention with the given options. */
    public static FlashAttention of(Options options) {
        if (options == null) {
            throw new IllegalArgumentException("options must not be null");
        }
        return new FlashAttention(options);
    }

    public Options options() {
        return options;
    }

    /**
     * Allocates {@code out} in {@code arena} (f32 on the host; q's dtype on a CUDA device), computes into
     * it and returns it. On a CUDA device the kernel runs asynchronously: see {@link Attn4j#synchronize}.
     */
    public Tensor forward(Arena arena, Tensor q, Tensor k, Tensor v) {
        if (arena == null) {
            throw new IllegalArgumentException("arena must not be null");
        }
        Checks.qkv(q, k, v);
        Tensor out = Tensor.allocate(arena, q.device().isCpu() ? DType.F32 : q.dtype(), q.device(),
                q.shape(0), q.shape(1), q.shape(2), v.shape(3));
        forward(q, k, v, out, null);
        return out;
    }

    /** Computes into the caller's {@code out}; no allocation of tensors. */
    public void forward(Tensor q, Tensor k, Tensor v, Tensor out) {
        forward(q, k, v, out, null);
    }

    /** Computes into {@code out} and writes each row's log-sum-exp into {@code lse} (may be null). */
    public void forward(Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse) {
        forward(q, k, v, out, lse, null);
    }

    /**
     * The same for a batch of sequences of different lengths (padded or packed, see
     * {@link SequenceLengths}; null: every sequence spans its tensors). {@code lse} follows q's layout.
     */
    public void forward(Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse, SequenceLengths lengths) {
        Checks.qkv(q, k, v);
        Checks.tensor(out, "out");
        Checks.optional(lse, "lse");
        if (lengths != null) {
            lengths.checkFor(q);
        }
        NativeLibrary.ensureLoaded();
        Native.CallScratch call = Native.CallScratch.get();
        MemorySegment params = call.flashParams;
        attn4j_flash_params.scale(params, options.scale());
        attn4j_flash_params.softcap(params, options.softcap());
        attn4j_flash_params.causal(params, options.causal() ? 1 : 0);
        attn4j_flash_params.window_left(params, options.windowLeft());
        attn4j_flash_params.window_right(params, options.windowRight());
        attn4j_flash_params.num_threads(params, options.threads());
        attn4j_flash_params.cuda_stream(params, options.cudaStream() == null ? MemorySegment.NULL : options.cudaStream());
        SequenceLengths.writeTo(params, lengths);
        MemorySegment[] d = call.tensors;
        try {
            if (Native.anyHeap(q, k, v, out, lse)) {
                Native.check(HeapCalls.flash(q, k, v, out, lse, d, params));
                return;
            }
            Native.check(Attn4jNative.attn4j_flash_forward_data(q.segment(), k.segment(), v.segment(), out.segment(),
                    Native.data(lse), Native.descriptor(d[0], q), Native.descriptor(d[1], k), Native.descriptor(d[2], v),
                    Native.descriptor(d[3], out), Native.descriptorOrNull(d[4], lse), params));
        } finally {
            // The lengths' memory is reachable from the call only through addresses in the params.
            Reference.reachabilityFence(lengths);
        }
    }
}
