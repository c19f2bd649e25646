package org.attn4j;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
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
     */
    public record Options(boolean causal, int windowLeft, int windowRight, float scale, float softcap, int threads) {
        /** Non-causal, no window, scale 1/sqrt(d), no soft-capping, default threads. */
        public static final Options DEFAULT = new Options(false, -1, -1, 0f, 0f, 0);

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

        private Builder() {}

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
            return new FlashAttention(new Options(causal, windowLeft, windowRight, scale, softcap, threads));
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

    /** Allocates {@code out} (f32, contiguous) in {@code arena}, computes into it and returns it. */
    public Tensor forward(Arena arena, Tensor q, Tensor k, Tensor v) {
        if (arena == null) {
            throw new IllegalArgumentException("arena must not be null");
        }
        checkInputs(q, k, v);
        Tensor out = Tensor.allocate(arena, DType.F32, q.shape(0), q.shape(1), q.shape(2), v.shape(3));
        forward(q, k, v, out, null);
        return out;
    }

    /** Computes into the caller's {@code out}; no allocation of tensors. */
    public void forward(Tensor q, Tensor k, Tensor v, Tensor out) {
        forward(q, k, v, out, null);
    }

    /** Computes into {@code out} and writes each row's log-sum-exp into {@code lse} (may be null). */
    public void forward(Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse) {
        checkInputs(q, k, v);
        checkOutputs(q, k, v, out, lse);
        NativeLibrary.ensureLoaded();
        try (Arena call = Arena.ofConfined()) {
            MemorySegment params = attn4j_flash_params.allocate(call);
            attn4j_flash_params.scale(params, options.scale());
            attn4j_flash_params.softcap(params, options.softcap());
            attn4j_flash_params.causal(params, options.causal() ? 1 : 0);
            attn4j_flash_params.window_left(params, options.windowLeft());
            attn4j_flash_params.window_right(params, options.windowRight());
            attn4j_flash_params.num_threads(params, options.threads());
            Native.check(Attn4jNative.attn4j_flash_forward(
                    Native.descriptor(call, q), Native.descriptor(call, k), Native.descriptor(call, v),
                    Native.descriptor(call, out), lse == null ? MemorySegment.NULL : Native.descriptor(call, lse), params));
        }
    }

    private static void checkInputs(Tensor q, Tensor k, Tensor v) {
        Checks.notNull(q, "q");
        Checks.notNull(k, "k");
        Checks.notNull(v, "v");
        Checks.usable(q, "q");
        Checks.usable(k, "k");
        Checks.usable(v, "v");
        Checks.cpuDtype(q, "q");
        Checks.sameDtype(k, "k", q, "q");
        Checks.sameDtype(v, "v", q, "q");
        Checks.sameDevice(k, "k", q, "q");
        Checks.sameDevice(v, "v", q, "q");
        Checks.headDim(q, "q");
        Checks.headDim(v, "v");
        Checks.dim(k, "k", 0, q.shape(0), "batch of q");
        Checks.dim(k, "k", 3, q.shape(3), "head dim of q");
        Checks.dim(v, "v", 0, q.shape(0), "batch of q");
        Checks.dim(v, "v", 1, k.shape(1), "heads of k");
        Checks.dim(v, "v", 2, k.shape(2), "sequence length of k");
        long hq = q.shape(1), hkv = k.shape(1);
        if (hkv == 0 ? hq != 0 : hq % hkv != 0) {
            throw new IllegalArgumentException("k.shape[1] = " + hkv + " does not divide q.shape[1] = " + hq
                    + " (query heads must be a multiple of key/value heads)");
        }
    }

    private static void checkOutputs(Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse) {
        Checks.notNull(out, "out");
        Checks.usable(out, "out");
        Checks.cpuDtype(out, "out");
        Checks.sameDevice(out, "out", q, "q");
        Checks.dim(out, "out", 0, q.shape(0), "batch of q");
        Checks.dim(out, "out", 1, q.shape(1), "heads of q");
        Checks.dim(out, "out", 2, q.shape(2), "sequence length of q");
        Checks.dim(out, "out", 3, v.shape(3), "head dim of v");
        Checks.noSelfOverlap(out, "out");
        Checks.disjoint(out, "out", q, "q");
        Checks.disjoint(out, "out", k, "k");
        Checks.disjoint(out, "out", v, "v");
        if (lse != null) {
            Checks.usable(lse, "lse");
            if (lse.dtype() != DType.F32) {
                throw new IllegalArgumentException("lse.dtype = " + lse.dtype() + " must be F32");
            }
            Checks.sameDevice(lse, "lse", q, "q");
            Checks.dim(lse, "lse", 0, q.shape(0), "batch of q");
            Checks.dim(lse, "lse", 1, q.shape(1), "heads of q");
            Checks.dim(lse, "lse", 2, q.shape(2), "sequence length of q");
            Checks.dim(lse, "lse", 3, 1, "one value per row");
            Checks.noSelfOverlap(lse, "lse");
            Checks.disjoint(lse, "lse", out, "out");
            Checks.disjoint(lse, "lse", q, "q");
            Checks.disjoint(lse, "lse", k, "k");
            Checks.disjoint(lse, "lse", v, "v");
        }
    }
}
