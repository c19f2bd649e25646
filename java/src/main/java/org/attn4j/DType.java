package org.attn4j;

/**
 * Storage type of a tensor's elements. Kernels always accumulate in fp32 or wider.
 *
 * <pre>{@code
 * Tensor q = Tensor.allocate(arena, DType.BF16, 1, 8, 1024, 128);
 * }</pre>
 */
public enum DType {
    /** IEEE 754 binary32. */
    F32(0, 4),
    /** bfloat16: the top 16 bits of an fp32 (see {@link BFloat16}). */
    BF16(1, 2),
    /** IEEE 754 binary16 (CUDA devices only). */
    F16(2, 2);

    private final int code;
    private final int byteSize;

    DType(int code, int byteSize) {
        this.code = code;
        this.byteSize = byteSize;
    }

    /** The matching {@code ATTN4J_DTYPE_*} value of the C ABI. */
    public int code() {
        return code;
    }

    /** Bytes per element. */
    public int byteSize() {
        return byteSize;
    }
}
