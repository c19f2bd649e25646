package org.attn4j;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Which (query block, key block) pairs a {@link SaleAttention} call computed, or which a caller wants
 * computed ({@link SaleAttention#blockSparse}): a bitmap {@code [B, H, ceil(Nq / blockQ), rowBytes]}
 * with {@code rowBytes = ceil(ceil(Nk / blockK) / 8)}, bit {@code j % 8} of byte {@code j / 8} of a
 * row standing for key block {@code j}. Lives in native memory owned by an {@link Arena}: host memory,
 * or CUDA device memory for SALE calls on GPU tensors (read it on the host through {@link #copyTo}).
 *
 * <pre>{@code
 * SaleMask mask = SaleMask.allocate(arena, q, k, sale.options());
 * sale.forward(q, k, v, out, null, mask);
 * System.out.printf("computed %.1f%% of the blocks%n", 100 * mask.density());
 * boolean kept = mask.isSet(0, 0, 10, 3);   // batch 0, head 0, query block 10, key block 3
 * }</pre>
 */
public final class SaleMask {
    private final MemorySegment bits;
    private final Device device;
    private final long batch, heads, lenQ, lenK, queryBlocks, keyBlocks, rowBytes;
    private final int blockQ, blockK;
    private double density = Double.NaN;

    private SaleMask(MemorySegment bits, Device device, long batch, long heads, long lenQ, long lenK, int blockQ, int blockK) {
        this.bits = bits;
        this.device = device;
        this.batch = batch;
        this.heads = heads;
        this.lenQ = lenQ;
        this.lenK = lenK;
        this.blockQ = blockQ;
        this.blockK = blockK;
        this.queryBlocks = Math.ceilDiv(lenQ, blockQ);
        this.keyBlocks = Math.ceilDiv(lenK, blockK);
        this.rowBytes = (keyBlocks + 7) / 8;
    }

    /** An empty mask (no block set) for {@code batch x heads} heads of {@code lenQ} queries over {@code lenK} keys. */
    public static SaleMask allocate(Arena arena, long batch, long heads, long lenQ, long lenK, int blockQ, int blockK) {
        return allocate(arena, Device.CPU, batch, heads, lenQ, lenK, blockQ, blockK);
    }

    /** The same on {@code device}: host memory (zeroed) or CUDA device memory (contents undefined until a call writes it). */
    public static SaleMask allocate(Arena arena, Device device, long batch, long heads, long lenQ, long lenK, int blockQ,
            int blockK) {
        Checks.notNull(arena, "arena");
        Checks.notNull(device, "device");
        if (batch < 0 || heads < 0 || lenQ < 0 || lenK < 0) {
            throw new IllegalArgumentException("batch, heads, lenQ, lenK must be >= 0 (got " + batch + ", " + heads + ", "
                    + lenQ + ", " + lenK + ")");
        }
        SaleAttention.Options.checkBlocks(blockQ, blockK);
        int bq = blockQ == 0 ? 64 : blockQ, bk = blockK == 0 ? 64 : blockK;
        long bytes;
        try {
            long rows = Math.multiplyExact(Math.multiplyExact(batch, heads), Math.ceilDiv(lenQ, bq));
            bytes = Math.multiplyExact(rows, Math.ceilDiv(Math.ceilDiv(lenK, bk), 8));
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException("a mask for batch " + batch + ", heads " + heads + ", lenQ " + lenQ + ", lenK "
                    + lenK + " needs more than 2^63 bytes");
        }
        MemorySegment bits = device.isCpu() ? arena.allocate(Math.max(bytes, 1), 8) : Tensor.allocateDevice(arena, device, Math.max(bytes, 1));
        return new SaleMask(bits, device, batch, heads, lenQ, lenK, bq, bk);
    }

    /** An empty mask sized for these q and k under these options' block sizes, on q's device. */
    public static SaleMask allocate(Arena arena, Tensor q, Tensor k, SaleAttention.Options options) {
        return allocate(arena, q, k, options, null);
    }

    /**
     * The same for a batch of sequences of different lengths: one entry per sequence, its blocks counted from
     * the sequence's first valid query row and key (padded form: the tensors' lengths; packed form: the
     * longest sequence's, {@code [count, H, ceil(maxQ / blockQ), rowBytes(maxK)]}). Null lengths: as above.
     */
    public static SaleMask allocate(Arena arena, Tensor q, Tensor k, SaleAttention.Options options, SequenceLengths lengths) {
        Checks.notNull(q, "q");
        Checks.notNull(k, "k");
        Checks.notNull(options, "options");
        long[] dims = layoutFor(q, k, lengths);
        return allocate(arena, q.device(), dims[0], q.shape(1), dims[1], dims[2], options.blockQ(), options.blockK());
    }

    // Entries, query rows and keys of the mask of a call on q and k with these lengths.
    private static long[] layoutFor(Tensor q, Tensor k, SequenceLengths lengths) {
        if (lengths != null && lengths.isPacked()) {
            return new long[] {lengths.count(), lengths.maxQueryLength(), lengths.maxKeyLength()};
        }
        return new long[] {q.shape(0), q.shape(2), k.shape(2)};
    }

    /** Where the bitmap lives. */
    public Device device() {
        return device;
    }

    /** Copies this mask's bits into {@code dst} (same layout; host or device on either side). Synchronous. */
    public void copyTo(SaleMask dst) {
        Checks.notNull(dst, "dst");
        if (dst.batch != batch || dst.heads != heads || dst.lenQ != lenQ || dst.lenK != lenK || dst.blockQ != blockQ
                || dst.blockK != blockK) {
            throw new IllegalArgumentException("dst " + dst + " has another layout than " + this);
        }
        if (device.isCpu() && dst.device.isCpu()) {
            MemorySegment.copy(bits, 0, dst.bits, 0, byteSize());
            return;
        }
        int kind = device.isCpu() ? 0 : dst.device.isCpu() ? 1 : 2;
        Native.check(org.attn4j.bindings.Attn4jNative.attn4j_cuda_memcpy(dst.bits, bits, byteSize(), kind));
    }

    public long batch() { return batch; }
    public long heads() { return heads; }
    public long lenQ() { return lenQ; }
    public long lenK() { return lenK; }
    public int blockQ() { return blockQ; }
    public int blockK() { return blockK; }
    public long queryBlocks() { return queryBlocks; }
    public long keyBlocks() { return keyBlocks; }

    /** Bytes the bitmap takes. */
    public long byteSize() {
        return batch * heads * queryBlocks * rowBytes;
    }

    /** The bitmap's memory (what the native calls read and write). */
    public MemorySegment segment() {
        return bits;
    }

    /** Whether key block {@code j} is computed for query block {@code i} of head {@code h} in batch {@code b}. */
    public boolean isSet(long b, long h, long i, long j) {
        return (bits.get(ValueLayout.JAVA_BYTE, byteOffset(b, h, i, j)) >> (j & 7) & 1) != 0;
    }

    /** Sets or clears one block (for masks passed to {@link SaleAttention#blockSparse}). */
    public void set(long b, long h, long i, long j, boolean on) {
        long off = byteOffset(b, h, i, j);
        byte x = bits.get(ValueLayout.JAVA_BYTE, off);
        int bit = 1 << (j & 7);
        bits.set(ValueLayout.JAVA_BYTE, off, (byte) (on ? x | bit : x & ~bit));
    }

    /** Clears every block (host masks). */
    public void clear() {
        requireHost();
        bits.fill((byte) 0);
    }

    /** Blocks set, over all rows (host masks). */
    public long count() {
        requireHost();
        long n = 0;
        for (long x = 0; x < byteSize(); x++) {
            n += Integer.bitCount(bits.get(ValueLayout.JAVA_BYTE, x) & 0xFF);
        }
        return n;
    }

    /**
     * The fraction of visible blocks the last call through this mask computed (causal calls see
     * about half of them); NaN before any call.
     */
    public double density() {
        return density;
    }

    void density(double d) {
        density = d;
    }

    /**
     * This mask was made for these q, k and block sizes and is alive, on q's device. Only Java knows a
     * mask's layout: the C library sees its address and byte count.
     */
    void checkFor(Tensor q, Tensor k, SaleAttention.Options options, SequenceLengths lengths) {
        int bq = options.blockQ() == 0 ? 64 : options.blockQ(), bk = options.blockK() == 0 ? 64 : options.blockK();
        long[] dims = layoutFor(q, k, lengths);
        if (batch != dims[0] || heads != q.shape(1) || lenQ != dims[1] || lenK != dims[2] || blockQ != bq || blockK != bk) {
            throw new IllegalArgumentException("mask is for " + this + " (lenQ " + lenQ + ", lenK " + lenK + "), not for q "
                    + java.util.Arrays.toString(q.shape()) + ", k length " + k.shape(2) + (lengths != null ? ", " + lengths : "")
                    + " and blocks " + bq + " x " + bk);
        }
        if (!bits.scope().isAlive()) {
            throw new IllegalArgumentException("mask: its arena is closed");
        }
        if (!device.equals(q.device())) {
            throw new IllegalArgumentException("mask.device = " + device + " differs from q.device = " + q.device());
        }
    }

    private void requireHost() {
        if (!device.isCpu()) {
            throw new IllegalStateException("this mask is on " + device + ": copyTo a host mask to read it");
        }
    }

    private long byteOffset(long b, long h, long i, long j) {
        requireHost();
        Checks.index(b, batch, "b");
        Checks.index(h, heads, "h");
        Checks.index(i, queryBlocks, "i (query block)");
        Checks.index(j, keyBlocks, "j (key block)");
        return ((b * heads + h) * queryBlocks + i) * rowBytes + (j >> 3);
    }

    @Override
    public String toString() {
        return "SaleMask[" + device + ", " + batch + " x " + heads + " heads, " + queryBlocks + " x " + keyBlocks + " blocks of " + blockQ
                + " x " + blockK + ", density " + density + "]";
    }
}
