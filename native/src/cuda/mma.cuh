// Device helpers shared by the CUDA kernels: mma.sync m16n8k16 on bf16/fp16 pairs with fp32
// accumulators, fragment loads, conversions, and tile copies from global to shared memory.
#pragma once
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>

namespace attn4j::cuda {

template <typename T>
__device__ __forceinline__ uint32_t pack2(float a, float b);
template <>
__device__ __forceinline__ uint32_t pack2<__nv_bfloat16>(float a, float b) {
    __nv_bfloat162 v = __floats2bfloat162_rn(a, b);
    return *reinterpret_cast<uint32_t *>(&v);
}
template <>
__device__ __forceinline__ uint32_t pack2<__half>(float a, float b) {
    __half2 v = __floats2half2_rn(a, b);
    return *reinterpret_cast<uint32_t *>(&v);
}

template <typename T>
__device__ __forceinline__ void mma(float (&c)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1);
template <>
__device__ __forceinline__ void mma<__nv_bfloat16>(float (&c)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
                 : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}
template <>
__device__ __forceinline__ void mma<__half>(float (&c)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
                 : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

template <typename T>
__device__ __forceinline__ T from_float(float x);
template <>
__device__ __forceinline__ __nv_bfloat16 from_float<__nv_bfloat16>(float x) { return __float2bfloat16_rn(x); }
template <>
__device__ __forceinline__ __half from_float<__half>(float x) { return __float2half_rn(x); }

__device__ __forceinline__ uint32_t ld32(const void *p) { return *reinterpret_cast<const uint32_t *>(p); }

// Four 8x8 b16 matrices from shared memory; lanes 8m .. 8m + 7 address the rows of matrix m.
__device__ __forceinline__ void ldmatrix_x4(uint32_t (&r)[4], const void *row_address) {
    const uint32_t a = static_cast<uint32_t>(__cvta_generic_to_shared(row_address));
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(a));
}

// Two B fragments (head-dim tiles dt and dt + 1) of V for keys [k0, k0 + 16), straight from V's
// row-major tile in shared memory: ldmatrix.trans delivers them already transposed.
__device__ __forceinline__ void ldmatrix_x4_trans(uint32_t (&r)[4], const void *row_address) {
    const uint32_t a = static_cast<uint32_t>(__cvta_generic_to_shared(row_address));
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(a));
}

// Four 8x8 16-bit matrices to shared memory: register i is this thread's pair (row lane / 4, columns
// 2 (lane % 4) and + 1) of matrix i, whose row lane % 8 goes to the address lane 8 i + lane % 8 gives.
__device__ __forceinline__ void stmatrix_x4(uint32_t row_address, uint32_t r0, uint32_t r1, uint32_t r2, uint32_t r3) {
    asm volatile("stmatrix.sync.aligned.m8n8.x4.shared.b16 [%0], {%1,%2,%3,%4};\n" ::"r"(row_address), "r"(r0), "r"(r1),
                 "r"(r2), "r"(r3)
                 : "memory");
}

// Copies rows [r0, r0 + rows) of a [len][D] slice (row stride ld elements) into shared memory, zero
// past `len`; 16-byte vectors when the caller checked alignment (Vec), else element by element.
template <typename T, int D, int Threads, bool Vec>
__device__ __forceinline__ void load_rows(T *dst, int ldd, const T *src, int64_t ld, int64_t r0, int rows, int64_t len,
                                          int tid) {
    if constexpr (Vec) {
        constexpr int kVec = 8;  // elements per 16 bytes
        for (int x = tid; x < rows * (D / kVec); x += Threads) {
            const int r = x / (D / kVec), c = (x % (D / kVec)) * kVec;
            uint4 val = make_uint4(0, 0, 0, 0);
            if (r0 + r < len) val = *reinterpret_cast<const uint4 *>(src + (r0 + r) * ld + c);
            *reinterpret_cast<uint4 *>(dst + r * ldd + c) = val;
        }
    } else {
        for (int x = tid; x < rows * D; x += Threads) {
            const int r = x / D, c = x % D;
            dst[r * ldd + c] = r0 + r < len ? src[(r0 + r) * ld + c] : from_float<T>(0.0f);
        }
    }
}

// acc[dt] += a x B[16 rows from b][8 dt, 8 dt + 8) for every 8-column tile dt of N columns: B row-major in
// shared memory (row stride ld), its fragments by ldmatrix.trans, two tiles per load.
template <typename T, int N>
__device__ __forceinline__ void mma_by_row_tiles(float (&acc)[N / 8][4], const uint32_t (&a)[4], const T *b, int ld, int lane) {
    const T *row = b + (lane % 16) * ld + (lane / 16) * 8;
#pragma unroll
    for (int dt = 0; dt < N / 8; dt += 2) {
        uint32_t bf[4];
        ldmatrix_x4_trans(bf, row + dt * 8);
        mma<T>(acc[dt], a, bf[0], bf[1]);
        mma<T>(acc[dt + 1], a, bf[2], bf[3]);
    }
}

// Asynchronous 16-byte global -> shared copies (sm_80): the next K/V tile streams in while this one
// computes. A false predicate zero-fills the destination without reading.
__device__ __forceinline__ void cp_async16(void *dst, const void *src, bool pred) {
    const uint32_t d = static_cast<uint32_t>(__cvta_generic_to_shared(dst));
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(d), "l"(src), "r"(pred ? 16 : 0));
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
template <int N>
__device__ __forceinline__ void cp_async_wait() { asm volatile("cp.async.wait_group %0;\n" ::"n"(N)); }

template <typename T, int D, int Threads>
__device__ __forceinline__ void load_rows_async(T *dst, int ldd, const T *src, int64_t ld, int64_t r0, int rows,
                                                int64_t len, int tid) {
    constexpr int kVec = 8;
    for (int x = tid; x < rows * (D / kVec); x += Threads) {
        const int r = x / (D / kVec), c = (x % (D / kVec)) * kVec;
        const bool in = r0 + r < len;
        cp_async16(dst + r * ldd + c, in ? src + (r0 + r) * ld + c : src, in);
    }
}

// load_rows and load_rows_async over rows that need not be one stride apart: rows.row(j) gives row j's
// address, or null for a row to zero-fill; rows.base is a valid global address.
template <typename T, int D, int Threads, bool Vec, class Rows>
__device__ __forceinline__ void load_rows_by(T *dst, int ldd, const Rows &rows, int64_t r0, int n, int64_t len, int tid) {
    constexpr int kVec = Vec ? 8 : 1;
    for (int x = tid; x < n * (D / kVec); x += Threads) {
        const int r = x / (D / kVec), c = (x % (D / kVec)) * kVec;
        const T *src = r0 + r < len ? rows.row(r0 + r) : nullptr;
        if constexpr (Vec) {
            const uint4 val = src != nullptr ? *reinterpret_cast<const uint4 *>(src + c) : make_uint4(0, 0, 0, 0);
            *reinterpret_cast<uint4 *>(dst + r * ldd + c) = val;
        } else {
            dst[r * ldd + c] = src != nullptr ? src[c] : from_float<T>(0.0f);
        }
    }
}
template <typename T, int D, int Threads, class Rows>
__device__ __forceinline__ void load_rows_async_by(T *dst, int ldd, const Rows &rows, int64_t r0, int n, int64_t len,
                                                   int tid) {
    constexpr int kVec = 8;
    for (int x = tid; x < n * (D / kVec); x += Threads) {
        const int r = x / (D / kVec), c = (x % (D / kVec)) * kVec;
        const T *src = r0 + r < len ? rows.row(r0 + r) : nullptr;
        cp_async16(dst + r * ldd + c, src != nullptr ? src + c : rows.base, src != nullptr);
    }
}

}  // namespace attn4j::cuda
