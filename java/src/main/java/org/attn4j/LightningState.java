package org.attn4j;

import java.lang.foreign.Arena;

/**
 * The recurrent state of {@link LightningAttention}: for every (batch, head) the {@code d x dv} sum
 * {@code S = sum_j lambda^(N-1-j) k_j^T v_j} over the tokens seen so far, in fp32. It owns its
 * off-heap memory (freed by {@link #close()}) and is carried from a prefill to the decode steps
 * after it: each call reads it and leaves the state after its last token.
 *
 * <pre>{@code
 * try (LightningState state = LightningState.allocate(1, 8, 128, 128)) {
 *     lightning.forward(prompt.q(), prompt.k(), prompt.v(), promptOut, state); // prefill
 *     lightning.decode(nextQ, nextK, nextV, nextOut, state);                   // one more token
 * }
 * }</pre>
 */
public final class LightningState implements AutoCloseable {
    private final Arena arena;
    private final Tensor tensor;

    private LightningState(Arena arena, Tensor tensor) {
        this.arena = arena;
        this.tensor = tensor;
    }

    /** A zero state for {@code batch} sequences of {@code heads} query heads, head dims {@code dim} and {@code dimV}. */
    public static LightningState allocate(long batch, long heads, long dim, long dimV) {
        return allocate(Device.CPU, batch, heads, dim, dimV);
    }

    /**
     * A zero state on {@code device}: host memory, or CUDA device memory for calls whose tensors live on
     * that GPU ({@code Device.cuda(n)}), freed by {@link #close()}.
     */
    public static LightningState allocate(Device device, long batch, long heads, long dim, long dimV) {
        Checks.notNull(device, "device");
        if (batch < 0 || heads < 0 || dim < 1 || dimV < 1) {
            throw new IllegalArgumentException("state shape [" + batch + ", " + heads + ", " + dim + ", " + dimV
                    + "] needs batch, heads >= 0 and head dims >= 1");
        }
        Arena arena = Arena.ofShared();
        try {
            LightningState state = new LightningState(arena, Tensor.allocate(arena, DType.F32, device, batch, heads, dim, dimV));
            if (!device.isCpu()) {
                state.reset();  // device memory comes uninitialized
            }
            return state;
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    /** The state as a {@code [B, Hq, d, dv]} f32 tensor (valid until {@link #close()}). */
    public Tensor tensor() {
        return tensor;
    }

    /** Back to the zero state (as if no token had been seen). */
    public void reset() {
        if (tensor.device().isCpu()) {
            tensor.segment().fill((byte) 0);
            return;
        }
        try (Arena zeros = Arena.ofConfined()) {
            Tensor.copy(Tensor.allocate(zeros, DType.F32, tensor.shape()), tensor);
        }
    }

    /** Whether {@link #close()} has freed the memory. */
    public boolean isClosed() {
        return !arena.scope().isAlive();
    }

    @Override
    public void close() {
        if (arena.scope().isAlive()) {
            arena.close();
        }
    }
}
