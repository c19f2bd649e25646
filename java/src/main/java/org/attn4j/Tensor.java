package org.attn4j;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * A rank-4 tensor {@code [batch, heads, seq, head_dim]} over a {@link MemorySegment}: shape, element
 * strides (so BHND, BNHD and strided views need no copy), a {@link DType} and a {@link Device}.
 * A tensor never owns memory; its segment's arena decides how long it lives.
 *
 * <pre>{@code
 * try (Arena arena = Arena.ofConfined()) {
 *     Tensor q = Tensor.allocate(arena, DType.F32, 1, 8, 1024, 64);           // zeroed, contiguous
 *     Tensor k = Tensor.of(arena, new float[8 * 1024 * 64], 1, 8, 1024, 64);  // copied from a float[]
 *     Tensor v = Tensor.wrap(someSegment, DType.F32, new long[] {1, 8, 1024, 64}); // zero copy
 * }
 * }</pre>
 */
public final class Tensor {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ValueLayout.OfShort BF16 = ValueLayout.JAVA_SHORT_UNALIGNED;  // and F16: 16-bit patterns

    private final MemorySegment segment;
    private final DType dtype;
    private final Device device;
    private final long[] shape;
    private final long[] strides;
    private final long capacity;  // bytes the memory holds (a device segment itself is address-only)

    private Tensor(MemorySegment segment, DType dtype, Device device, long[] shape, long[] strides, long capacity) {
        this.segment = segment;
        this.dtype = dtype;
        this.device = device;
        this.shape = shape;
        this.strides = strides;
        this.capacity = capacity;
    }

    private Tensor(MemorySegment segment, DType dtype, Device device, long[] shape, long[] strides) {
        this(segment, dtype, device, shape, strides, segment.byteSize());
    }

    /**
     * Allocates a contiguous tensor on {@code device}: zeroed host memory for {@link Device#CPU}, or
     * CUDA device memory, freed when {@code arena} closes. A device tensor's segment is address-only
     * (Java cannot read it): move data with {@link #copy(Tensor, Tensor)}.
     */
    public static Tensor allocate(Arena arena, DType dtype, Device device, long... shape) {
        requireNonNull(device, "device");
        if (device.isCpu()) {
            return allocate(arena, dtype, shape);
        }
        requireNonNull(arena, "arena");
        requireNonNull(dtype, "dtype");
        checkShape(shape);
        int devices = Attn4j.cudaDeviceCount();
        if (device.ordinal() >= devices) {
            throw new IllegalArgumentException("device = " + device + ": no such CUDA device (this machine has " + devices
                    + (Attn4j.cudaAvailable() ? "" : "; attn4j was built without CUDA") + ")");
        }
        long bytes = byteCount(shape, dtype);
        return new Tensor(allocateDevice(arena, device, bytes), dtype, device, shape.clone(), contiguousStrides(shape), bytes);
    }

    /** {@code bytes} of CUDA device memory, freed when {@code arena} closes (an address-only segment). */
    static MemorySegment allocateDevice(Arena arena, Device device, long bytes) {
        MemorySegment address;
        try (Arena call = Arena.ofConfined()) {
            MemorySegment out = call.allocate(java.lang.foreign.ValueLayout.ADDRESS);
            Native.check(org.attn4j.bindings.Attn4jNative.attn4j_cuda_malloc(device.ordinal(), bytes, out));
            address = out.get(java.lang.foreign.ValueLayout.ADDRESS, 0);
        }
        int ordinal = device.ordinal();
        return address.reinterpret(arena, s -> org.attn4j.bindings.Attn4jNative.attn4j_cuda_free(ordinal, s));
    }

    /**
     * Copies {@code src} into {@code dst} (same shape and dtype, both contiguous), between any two of
     * host and CUDA devices. Synchronous.
     */
    public static void copy(Tensor src, Tensor dst) {
        requireNonNull(src, "src");
        requireNonNull(dst, "dst");
        if (!Arrays.equals(src.shape, dst.shape) || src.dtype != dst.dtype) {
            throw new IllegalArgumentException("src " + src + " and dst " + dst + " differ in shape or dtype");
        }
        if (!src.isContiguous() || !dst.isContiguous()) {
            throw new IllegalArgumentException("copy needs contiguous tensors (src " + src + ", dst " + dst + ")");
        }
        Checks.usable(src, "src");
        Checks.usable(dst, "dst");
        long bytes = src.extentBytes();
        if (src.device.isCpu() && dst.device.isCpu()) {
            MemorySegment.copy(src.segment, 0, dst.segment, 0, bytes);
            return;
        }
        int kind = src.device.isCpu() ? 0 : dst.device.isCpu() ? 1 : 2;
        Native.check(org.attn4j.bindings.Attn4jNative.attn4j_cuda_memcpy(dst.segment, src.segment, bytes, kind));
    }

    /** Bytes of memory behind the tensor's first element (host: the segment's size). */
    public long capacity() {
        return capacity;
    }

    /** Allocates a zeroed, contiguous (BHND) host tensor in {@code arena}. */
    public static Tensor allocate(Arena arena, DType dtype, long... shape) {
        requireNonNull(arena, "arena");
        requireNonNull(dtype, "dtype");
        checkShape(shape);
        long bytes = byteCount(shape, dtype);
        MemorySegment seg = arena.allocate(Math.max(bytes, 1), 64);
        return new Tensor(seg, dtype, Device.CPU, shape.clone(), contiguousStrides(shape));
    }

    /** Views existing host memory as a contiguous (BHND) tensor, without copying. */
    public static Tensor wrap(MemorySegment segment, DType dtype, long[] shape) {
        checkShape(shape);
        return wrap(segment, dtype, shape, contiguousStrides(shape));
    }

    /**
     * Views existing host memory with explicit element strides (e.g. BNHD: {@code {N*H*D, D, H*D, 1}}),
     * without copying. The strides must stay inside the segment.
     */
    public static Tensor wrap(MemorySegment segment, DType dtype, long[] shape, long[] strides) {
        requireNonNull(segment, "segment");
        requireNonNull(dtype, "dtype");
        checkShape(shape);
        if (strides == null || strides.length != 4) {
            throw new IllegalArgumentException("strides must have 4 entries, got "
                    + (strides == null ? "null" : Arrays.toString(strides)));
        }
        for (int i = 0; i < 4; i++) {
            if (strides[i] < 0) {
                throw new IllegalArgumentException("strides[" + i + "] = " + strides[i] + " is negative");
            }
        }
        if (!segment.isNative()) {
            throw new IllegalArgumentException("segment is a heap segment; kernels need native (off-heap) memory"
                    + " (for Java arrays use Tensor.wrap(float[], ...) or Tensor.wrapBf16(short[], ...))");
        }
        if (!segment.scope().isAlive()) {
            throw new IllegalArgumentException("segment: its arena is already closed");
        }
        if (segment.address() % dtype.byteSize() != 0) {
            throw new IllegalArgumentException("segment address 0x" + Long.toHexString(segment.address())
                    + " is not aligned to the " + dtype.byteSize() + "-byte elements of " + dtype);
        }
        long needed = extentBytes(shape, strides, dtype);
        if (needed > segment.byteSize()) {
            throw new IllegalArgumentException("segment has " + segment.byteSize() + " bytes but shape "
                    + Arrays.toString(shape) + " with strides " + Arrays.toString(strides) + " reaches " + needed);
        }
        return new Tensor(segment, dtype, Device.CPU, shape.clone(), strides.clone());
    }

    /** Views a direct {@link ByteBuffer} (from position 0 to its capacity) as a contiguous tensor, zero copy. */
    public static Tensor wrap(ByteBuffer buffer, DType dtype, long... shape) {
        requireNonNull(buffer, "buffer");
        if (!buffer.isDirect()) {
            throw new IllegalArgumentException("buffer is not direct; allocate it with ByteBuffer.allocateDirect");
        }
        return wrap(MemorySegment.ofBuffer(buffer.duplicate().clear()), dtype, shape);
    }

    /**
     * Views a Java {@code float[]} (dense, BHND order) as an f32 tensor, without copying: kernels read
     * and write the array itself, pinned for the duration of each call (the JVM's critical native
     * calls: garbage collection waits until the call returns, so prefer off-heap memory for long
     * calls and many threads). Views of parts of an array need {@link #wrap(MemorySegment, DType, long[], long[])}
     * over off-heap memory instead.
     */
    public static Tensor wrap(float[] data, long... shape) {
        requireNonNull(data, "data");
        return wrapArray(MemorySegment.ofArray(data), DType.F32, data.length, shape);
    }

    /** Views a Java {@code short[]} of bf16 bit patterns (dense, BHND order) as a bf16 tensor, without copying. */
    public static Tensor wrapBf16(short[] data, long... shape) {
        requireNonNull(data, "data");
        return wrapArray(MemorySegment.ofArray(data), DType.BF16, data.length, shape);
    }

    private static Tensor wrapArray(MemorySegment segment, DType dtype, long length, long[] shape) {
        checkShape(shape);
        if (elementCount(shape) != length) {
            throw new IllegalArgumentException("data has " + length + " elements but shape " + Arrays.toString(shape)
                    + " needs " + elementCount(shape));
        }
        return new Tensor(segment, dtype, Device.CPU, shape.clone(), contiguousStrides(shape));
    }

    /** Whether the tensor is a view of a Java array (see {@link #wrap(float[], long...)}). */
    public boolean isHeap() {
        return !segment.isNative();
    }

    /** Copies {@code data} (dense, BHND order) into a new f32 tensor in {@code arena}. */
    public static Tensor of(Arena arena, float[] data, long... shape) {
        return of(arena, DType.F32, data, shape);
    }

    /** Copies {@code data} (dense, BHND order) into a new tensor of {@code dtype}, rounding to bf16 if asked. */
    public static Tensor of(Arena arena, DType dtype, float[] data, long... shape) {
        requireNonNull(data, "data");
        Tensor t = allocate(arena, dtype, shape);
        t.copyFrom(data);
        return t;
    }

    /**
     * Dense BHND strides of a shape. An empty shape's products may exceed a long: those strides are 0
     * (they address nothing).
     */
    public static long[] contiguousStrides(long... shape) {
        checkShape(shape);
        long s2 = shape[3], s1 = product(shape[2], s2), s0 = product(shape[1], s1);
        return new long[] {s0, s1, s2, 1};
    }

    private static long product(long a, long b) {
        long hi = Math.multiplyHigh(a, b), lo = a * b;
        return hi != 0 || lo < 0 ? 0 : lo;
    }

    public MemorySegment segment() {
        return segment;
    }

    public DType dtype() {
        return dtype;
    }

    public Device device() {
        return device;
    }

    /** A copy of the shape {@code [batch, heads, seq, head_dim]}. */
    public long[] shape() {
        return shape.clone();
    }

    public long shape(int dim) {
        return shape[dim];
    }

    /** A copy of the element strides. */
    public long[] strides() {
        return strides.clone();
    }

    public long stride(int dim) {
        return strides[dim];
    }

    public long elementCount() {
        return elementCount(shape);
    }

    /** Bytes from the first element to the end of the last one (what the segment must hold). */
    public long extentBytes() {
        return extentBytes(shape, strides, dtype);
    }

    /** Element at {@code [b, h, n, d]} as fp32. */
    public float get(long b, long h, long n, long d) {
        requireHost();
        long off = offset(b, h, n, d);
        return switch (dtype) {
            case F32 -> segment.getAtIndex(F32, off);
            case BF16 -> BFloat16.toFloat(segment.getAtIndex(BF16, off));
            case F16 -> Float.float16ToFloat(segment.getAtIndex(BF16, off));
        };
    }

    /** Sets element {@code [b, h, n, d]}, rounding to the tensor's dtype. */
    public void set(long b, long h, long n, long d, float x) {
        requireHost();
        long off = offset(b, h, n, d);
        switch (dtype) {
            case F32 -> segment.setAtIndex(F32, off, x);
            case BF16 -> segment.setAtIndex(BF16, off, BFloat16.fromFloat(x));
            case F16 -> segment.setAtIndex(BF16, off, Float.floatToFloat16(x));
        }
    }

    /** Sets every element to {@code x} (e.g. NaN to poison an output). */
    public void fill(float x) {
        forEachIndex((i, b, h, n, d) -> set(b, h, n, d, x));
    }

    /** Copies {@code data}, dense in BHND order, into this tensor (which may be strided). */
    public void copyFrom(float[] data) {
        requireHost();
        requireNonNull(data, "data");
        if (data.length != elementCount()) {
            throw new IllegalArgumentException("data has " + data.length + " elements, shape "
                    + Arrays.toString(shape) + " needs " + elementCount());
        }
        if (dtype == DType.F32 && isContiguous()) {
            MemorySegment.copy(data, 0, segment, F32, 0, data.length);
            return;
        }
        forEachIndex((i, b, h, n, d) -> set(b, h, n, d, data[(int) i]));
    }

    /** The elements as a dense BHND {@code float[]} (a copy). */
    public float[] toFloatArray() {
        requireHost();
        long count = elementCount();
        if (count > Integer.MAX_VALUE - 8) {
            throw new IllegalStateException("tensor has " + count + " elements, too many for a float[]");
        }
        float[] out = new float[(int) count];
        if (dtype == DType.F32 && isContiguous()) {
            MemorySegment.copy(segment, F32, 0, out, 0, out.length);
            return out;
        }
        forEachIndex((i, b, h, n, d) -> out[(int) i] = get(b, h, n, d));
        return out;
    }

    /** True when the strides are dense BHND. */
    public boolean isContiguous() {
        return Arrays.equals(strides, contiguousStrides(shape));
    }

    @Override
    public String toString() {
        return "Tensor" + Arrays.toString(shape) + " " + dtype + " on " + device + " strides " + Arrays.toString(strides);
    }

    private void requireHost() {
        if (!device.isCpu()) {
            throw new IllegalStateException("tensor is on " + device + ": copy it to a host tensor first (Tensor.copy)");
        }
    }

    private long offset(long b, long h, long n, long d) {
        long[] idx = {b, h, n, d};
        long off = 0;
        for (int i = 0; i < 4; i++) {
            if (idx[i] < 0 || idx[i] >= shape[i]) {
                throw new IndexOutOfBoundsException("index " + Arrays.toString(idx) + " outside shape " + Arrays.toString(shape));
            }
            off += idx[i] * strides[i];
        }
        return off;
    }

    private interface IndexVisitor {
        void visit(long dense, long b, long h, long n, long d);
    }

    private void forEachIndex(IndexVisitor v) {
        long i = 0;
        for (long b = 0; b < shape[0]; b++)
            for (long h = 0; h < shape[1]; h++)
                for (long n = 0; n < shape[2]; n++)
                    for (long d = 0; d < shape[3]; d++) v.visit(i++, b, h, n, d);
    }

    static long elementCount(long[] shape) {
        long n = 1;
        for (long s : shape) {
            n = Math.multiplyExact(n, s);
        }
        return n;
    }

    static long extentBytes(long[] shape, long[] strides, DType dtype) {
        for (int i = 0; i < 4; i++) {
            if (shape[i] == 0) {
                return 0;
            }
        }
        try {
            long last = 0;
            for (int i = 0; i < 4; i++) {
                last = Math.addExact(last, Math.multiplyExact(shape[i] - 1, strides[i]));
            }
            return Math.multiplyExact(last + 1, (long) dtype.byteSize());
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " with strides " + Arrays.toString(strides)
                    + " reaches past 2^63 bytes");
        }
    }

    /** Bytes of a dense tensor of this shape. */
    private static long byteCount(long[] shape, DType dtype) {
        try {
            return Math.multiplyExact(elementCount(shape), (long) dtype.byteSize());
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " of " + dtype + " needs more than 2^63 bytes");
        }
    }

    private static void checkShape(long[] shape) {
        if (shape == null || shape.length != 4) {
            throw new IllegalArgumentException("shape must be [batch, heads, seq, head_dim], got "
                    + (shape == null ? "null" : Arrays.toString(shape)));
        }
        for (int i = 0; i < 4; i++) {
            if (shape[i] < 0) {
                throw new IllegalArgumentException("shape[" + i + "] = " + shape[i] + " is negative");
            }
        }
        try {
            elementCount(shape);
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " has more elements than a long holds");
        }
    }

    private static void requireNonNull(Object o, String name) {
        if (o == null) {
            throw new IllegalArgumentException(name + " must not be null");
        }
    }
}
