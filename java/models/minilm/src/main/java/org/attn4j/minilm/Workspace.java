package org.attn4j.minilm;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * The encoder's activations, off-heap and reused from batch to batch (fresh memory would cost a page
 * fault per 4 KiB on every call): the batch-wide buffers attention reads and writes, in the padded
 * {@code [batch, seq, features]} layout, and each thread's scratch for one row group's projections.
 * Grows when a batch needs more; freed by {@link #close()}.
 */
final class Workspace implements AutoCloseable {
    private final int threads;
    private Arena arena;
    private long rows = -1;
    MemorySegment hidden;   // [rows, HIDDEN]: the residual stream
    MemorySegment qkv;      // [rows, 3 * HIDDEN]: query | key | value of each token
    MemorySegment context;  // [rows, HIDDEN]: attention's output
    MemorySegment[] projected;  // per thread [GROUP, HIDDEN]
    MemorySegment[] ffn;        // per thread [GROUP, FFN]

    Workspace(int threads) {
        this.threads = threads;
    }

    /** Makes room for {@code rows} padded rows; keeps the contents' layout undefined. */
    void ensure(long needed) {
        if (needed <= rows) {
            return;
        }
        close();
        arena = Arena.ofShared();
        rows = needed;
        hidden = floats(needed * Weights.HIDDEN);
        qkv = floats(needed * 3 * Weights.HIDDEN);
        context = floats(needed * Weights.HIDDEN);
        projected = new MemorySegment[threads];
        ffn = new MemorySegment[threads];
        for (int t = 0; t < threads; t++) {
            projected[t] = floats((long) Encoder.GROUP * Weights.HIDDEN);
            ffn[t] = floats((long) Encoder.GROUP * Weights.FFN);
        }
    }

    private MemorySegment floats(long count) {
        return arena.allocate(count * Float.BYTES, 64);
    }

    @Override
    public void close() {
        if (arena != null) {
            arena.close();
            arena = null;
            rows = -1;
        }
    }
}
