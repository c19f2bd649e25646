// SALE's quantization on NVIDIA GPUs, before either estimation kernel: Q to 4-bit values held in int8
// with one scale per token; K smoothed by its mean over the sequence (which leaves softmax unchanged),
// then 4-bit values with one scale per 64-key block, stored by block (128B-swizzled for the Hopper
// kernel). v -> round(v / s) clamped to [-7, 7], s = max |v| / 7. Rows that start 16-byte aligned with
// unit stride in the head dim take 16-byte loads; others go element by element, with the same float
// operations in the same order, so both give the same bytes.
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>

#include "cuda/launch.h"
#include "cuda/sale_estimate.cuh"

namespace attn4j::cuda::sale {

namespace {

constexpr int kThreads = 128;  // threads of a key block's quantization

template <typename T>
__device__ __forceinline__ float load_f(const void *base, int64_t off) {
    return static_cast<float>(static_cast<const T *>(base)[off]);
}

// The scale of values whose largest magnitude is max_abs (0 where there is none, or it is not finite:
// every value then quantizes to 0), as the CPU's scale_for; and what multiplies a value before rounding.
__device__ __forceinline__ float scale_for(float max_abs) { return max_abs > 0.0f && isfinite(max_abs) ? max_abs / kLevels : 0.0f; }
__device__ __forceinline__ float inverse(float scale) { return scale > 0.0f ? 1.0f / scale : 0.0f; }

__device__ __forceinline__ int8_t quant(float x, float inv) {
    float v = x * inv;
    v = fminf(fmaxf(v, -kLevels), kLevels);
    return static_cast<int8_t>(__float2int_rn(v));
}

// Mean of every dimension over the keys of a kv head, in two deterministic steps (both estimation
// kernels of a call see the same values): per chunk of kMeanRows keys, partial sums; then their sum in
// order. Within a chunk, key j goes to the partial sum of lane j % kMeanLanes<D>, and the lanes add up
// in order.
template <int D>
constexpr int kMeanLanes = 2048 / D;  // 256 threads of 8 dims each

template <typename T, int D>
__global__ void key_partial_sums(const EstParams p, float *partial) {
    constexpr int kLanes = kMeanLanes<D>, kThreadLanes = 256 / D;
    const int bh = blockIdx.x, chunk = blockIdx.y, hk = p.heads_q / p.group, b = bh / hk, h = bh % hk;
    const int e = threadIdx.x % D;
    const int j_end = min(p.len_k, (chunk + 1) * kMeanRows);
    __shared__ float part[kLanes][D + 1];
    for (int lane = threadIdx.x / D; lane < kLanes; lane += kThreadLanes) {
        float sum = 0.0f;
        for (int j = chunk * kMeanRows + lane; j < j_end; j += kLanes)
            sum += load_f<T>(p.k, b * p.sk[0] + h * p.sk[1] + j * p.sk[2] + e * p.sk[3]);
        part[lane][e] = sum;
    }
    __syncthreads();
    if (threadIdx.x < D) {
        float s = part[0][threadIdx.x];
        for (int r = 1; r < kLanes; ++r) s += part[r][threadIdx.x];
        partial[(static_cast<int64_t>(bh) * gridDim.y + chunk) * D + threadIdx.x] = s;
    }
}

__global__ void key_mean(const EstParams p, const float *partial, int chunks) {
    const int bh = blockIdx.x, e = threadIdx.x;
    float sum = 0.0f;
    for (int c = 0; c < chunks; ++c) sum += partial[(static_cast<int64_t>(bh) * chunks + c) * p.dim + e];
    p.mean[bh * p.dim + e] = p.len_k > 0 ? sum / p.len_k : 0.0f;
}

// One 64-key block of a kv head: smoothed, one scale for the block, int8 values (zeros past len_k),
// rows in order, or (Swizzled, head dim 128) each block in the layout wgmma reads.
template <typename T, bool Swizzled>
__global__ void quantize_keys(const EstParams p) {
    const int kb = blockIdx.x, bh = blockIdx.y, hk = p.heads_q / p.group, b = bh / hk, h = bh % hk;
    __shared__ float red[kThreads];
    float mx = 0.0f;
    for (int x = threadIdx.x; x < kBlock * p.dim; x += kThreads) {
        const int j = kb * kBlock + x / p.dim, e = x % p.dim;
        if (j < p.len_k) mx = fmaxf(mx, fabsf(load_f<T>(p.k, b * p.sk[0] + h * p.sk[1] + j * p.sk[2] + e * p.sk[3]) - p.mean[bh * p.dim + e]));
    }
    red[threadIdx.x] = mx;
    __syncthreads();
    for (int s = kThreads / 2; s > 0; s /= 2) {
        if (threadIdx.x < s) red[threadIdx.x] = fmaxf(red[threadIdx.x], red[threadIdx.x + s]);
        __syncthreads();
    }
    const float sc = scale_for(red[0]), inv = inverse(sc);
    if (threadIdx.x == 0) p.ks[static_cast<int64_t>(bh) * p.k_blocks + kb] = sc;
    for (int x = threadIdx.x; x < kBlock * p.dim; x += kThreads) {
        const int j = kb * kBlock + x / p.dim, e = x % p.dim;
        const float v = j < p.len_k ? load_f<T>(p.k, b * p.sk[0] + h * p.sk[1] + j * p.sk[2] + e * p.sk[3]) - p.mean[bh * p.dim + e] : 0.0f;
        const int64_t block = (static_cast<int64_t>(bh) * p.k_blocks + kb) * kBlock * p.dim;
        p.k8[block + (Swizzled ? sale::swizzled128(x / p.dim, e) : x)] = quant(v, inv);
    }
}

// Query rows: one warp per row, one scale per token.
template <typename T>
__global__ void quantize_queries(const EstParams p) {
    const int bh = blockIdx.y, b = bh / p.heads_q, h = bh % p.heads_q;
    const int i = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32, lane = threadIdx.x % 32;
    if (i >= p.len_q) return;
    const int64_t base = b * p.sq[0] + h * p.sq[1] + static_cast<int64_t>(i) * p.sq[2];
    float mx = 0.0f;
    for (int e = lane; e < p.dim; e += 32) mx = fmaxf(mx, fabsf(load_f<T>(p.q, base + e * p.sq[3])));
    for (int o = 16; o > 0; o /= 2) mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, o));
    const float sc = scale_for(mx), inv = inverse(sc);
    if (lane == 0) p.qs[static_cast<int64_t>(bh) * p.len_q + i] = sc;
    for (int e = lane; e < p.dim; e += 32)
        p.q8[(static_cast<int64_t>(bh) * p.len_q + i) * p.dim + e] = quant(load_f<T>(p.q, base + e * p.sq[3]), inv);
}

// The same three steps over rows that start 16-byte aligned with unit stride in the head dimension:
// 16-byte loads of 8 values, 8-byte stores of their int8 values; the same float operations, so the
// results equal the kernels above bit for bit (the sums add in the same order).
template <typename T>
__device__ __forceinline__ void load8(const void *base, int64_t off, float (&x)[8]) {
    const uint4 raw = *reinterpret_cast<const uint4 *>(static_cast<const T *>(base) + off);
    const T *v = reinterpret_cast<const T *>(&raw);
#pragma unroll
    for (int i = 0; i < 8; ++i) x[i] = static_cast<float>(v[i]);
}

__device__ __forceinline__ uint2 quant8(const float (&v)[8], float inv) {
    uint32_t w[2] = {0u, 0u};
#pragma unroll
    for (int i = 0; i < 8; ++i) w[i / 4] |= static_cast<uint32_t>(static_cast<uint8_t>(quant(v[i], inv))) << (8 * (i % 4));
    return make_uint2(w[0], w[1]);
}

// Partial sums: thread (lane, c) adds dims [8c, 8c + 8) over keys lane, lane + lanes, ... of the chunk.
template <typename T, int D>
__global__ void __launch_bounds__(256) key_partial_sums8(const EstParams p, float *partial) {
    constexpr int kChunks = D / 8, kLanes = kMeanLanes<D>;
    static_assert(kLanes * kChunks == 256, "one lane and 8 dims per thread");
    const int bh = blockIdx.x, chunk = blockIdx.y, hk = p.heads_q / p.group, b = bh / hk, h = bh % hk;
    const int c = threadIdx.x % kChunks, lane = threadIdx.x / kChunks;
    const int j_end = min(p.len_k, (chunk + 1) * kMeanRows);
    float sum[8] = {};
    for (int j = chunk * kMeanRows + lane; j < j_end; j += kLanes) {
        float x[8];
        load8<T>(p.k, b * p.sk[0] + h * p.sk[1] + static_cast<int64_t>(j) * p.sk[2] + 8 * c, x);
#pragma unroll
        for (int i = 0; i < 8; ++i) sum[i] += x[i];
    }
    __shared__ float part[kLanes][D + 1];
#pragma unroll
    for (int i = 0; i < 8; ++i) part[lane][8 * c + i] = sum[i];
    __syncthreads();
    if (threadIdx.x < D) {
        float s = part[0][threadIdx.x];
        for (int r = 1; r < kLanes; ++r) s += part[r][threadIdx.x];
        partial[(static_cast<int64_t>(bh) * gridDim.y + chunk) * D + threadIdx.x] = s;
    }
}

template <typename T, int D, bool Swizzled>
__global__ void __launch_bounds__(kThreads) quantize_keys8(const EstParams p) {
    static_assert(!Swizzled || D == 128, "the 128-byte swizzle lays out rows of 128 values");
    constexpr int kChunks = D / 8, kRowStep = kThreads / kChunks, kPer = kBlock / kRowStep;
    const int kb = blockIdx.x, bh = blockIdx.y, hk = p.heads_q / p.group, b = bh / hk, h = bh % hk;
    const int c = threadIdx.x % kChunks, r0 = threadIdx.x / kChunks;
    float mean[8];
#pragma unroll
    for (int i = 0; i < 8; ++i) mean[i] = p.mean[bh * D + 8 * c + i];
    float v[kPer][8];
    float mx = 0.0f;
#pragma unroll
    for (int t = 0; t < kPer; ++t) {
        const int j = kb * kBlock + r0 + t * kRowStep;
        if (j < p.len_k) {
            load8<T>(p.k, b * p.sk[0] + h * p.sk[1] + static_cast<int64_t>(j) * p.sk[2] + 8 * c, v[t]);
#pragma unroll
            for (int i = 0; i < 8; ++i) {
                v[t][i] -= mean[i];
                mx = fmaxf(mx, fabsf(v[t][i]));
            }
        } else {
#pragma unroll
            for (int i = 0; i < 8; ++i) v[t][i] = 0.0f;
        }
    }
    for (int o = 16; o > 0; o /= 2) mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, o));
    __shared__ float red[kThreads / 32];
    if (threadIdx.x % 32 == 0) red[threadIdx.x / 32] = mx;
    __syncthreads();
#pragma unroll
    for (int w = 0; w < kThreads / 32; ++w) mx = fmaxf(mx, red[w]);
    const float sc = scale_for(mx), inv = inverse(sc);
    if (threadIdx.x == 0) p.ks[static_cast<int64_t>(bh) * p.k_blocks + kb] = sc;
    int8_t *const block = p.k8 + (static_cast<int64_t>(bh) * p.k_blocks + kb) * kBlock * D;
#pragma unroll
    for (int t = 0; t < kPer; ++t) {
        const int r = r0 + t * kRowStep;
        *reinterpret_cast<uint2 *>(block + (Swizzled ? sale::swizzled128(r, 8 * c) : r * D + 8 * c)) = quant8(v[t], inv);
    }
}

template <typename T, int D>
__global__ void __launch_bounds__(256) quantize_queries8(const EstParams p) {
    constexpr int kChunks = D / 8, kRows = 256 / kChunks;  // 2048 / D
    const int bh = blockIdx.y, b = bh / p.heads_q, h = bh % p.heads_q;
    const int i = blockIdx.x * kRows + static_cast<int>(threadIdx.x) / kChunks, c = threadIdx.x % kChunks;
    float x[8];
    float mx = 0.0f;
    if (i < p.len_q) {
        load8<T>(p.q, b * p.sq[0] + h * p.sq[1] + static_cast<int64_t>(i) * p.sq[2] + 8 * c, x);
#pragma unroll
        for (int e = 0; e < 8; ++e) mx = fmaxf(mx, fabsf(x[e]));
    }
    for (int o = kChunks / 2; o > 0; o /= 2) mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, o));
    if (i >= p.len_q) return;
    const float sc = scale_for(mx), inv = inverse(sc);
    if (c == 0) p.qs[static_cast<int64_t>(bh) * p.len_q + i] = sc;
    *reinterpret_cast<uint2 *>(p.q8 + (static_cast<int64_t>(bh) * p.len_q + i) * D + 8 * c) = quant8(x, inv);
}

template <typename T, int D>
void launch(const EstParams &e, float *partial, int64_t bh_q, int64_t bh_kv, bool swizzled, cudaStream_t s) {
    const int chunks = mean_chunks(e.len_k);
    constexpr int kQueryRows8 = 2048 / D;  // rows of a quantize_queries8 block
    const bool vec = e.sq[3] == 1 && e.sk[3] == 1 && rows_aligned16({{e.q, e.sq}, {e.k, e.sk}});
    const dim3 mean_grid(static_cast<unsigned>(bh_kv), static_cast<unsigned>(chunks));
    if (vec)
        key_partial_sums8<T, D><<<mean_grid, 256, 0, s>>>(e, partial);
    else
        key_partial_sums<T, D><<<mean_grid, 256, 0, s>>>(e, partial);
    key_mean<<<static_cast<unsigned>(bh_kv), D, 0, s>>>(e, partial, chunks);
    const dim3 key_grid(static_cast<unsigned>(e.k_blocks), static_cast<unsigned>(bh_kv));
    if (e.k_blocks == 0) {  // no keys (a sequence of none): nothing to quantize
    } else if (vec && swizzled)
        quantize_keys8<T, D, D == 128><<<key_grid, kThreads, 0, s>>>(e);
    else if (vec)
        quantize_keys8<T, D, false><<<key_grid, kThreads, 0, s>>>(e);
    else if (swizzled)
        quantize_keys<T, true><<<key_grid, kThreads, 0, s>>>(e);
    else
        quantize_keys<T, false><<<key_grid, kThreads, 0, s>>>(e);
    if (vec)
        quantize_queries8<T, D><<<dim3(static_cast<unsigned>((e.len_q + kQueryRows8 - 1) / kQueryRows8), static_cast<unsigned>(bh_q)), 256, 0, s>>>(e);
    else
        quantize_queries<T><<<dim3(static_cast<unsigned>((e.len_q + 7) / 8), static_cast<unsigned>(bh_q)), 256, 0, s>>>(e);
}

}  // namespace

int mean_chunks(int len_k) { return len_k > 0 ? (len_k + kMeanRows - 1) / kMeanRows : 1; }

void quantize(const EstParams &e, float *partial, int64_t bh_q, int64_t bh_kv, bool bf16, bool swizzled, cudaStream_t s) {
    if (e.dim == 64)
        bf16 ? launch<__nv_bfloat16, 64>(e, partial, bh_q, bh_kv, false, s) : launch<__half, 64>(e, partial, bh_q, bh_kv, false, s);
    else
        bf16 ? launch<__nv_bfloat16, 128>(e, partial, bh_q, bh_kv, swizzled, s) : launch<__half, 128>(e, partial, bh_q, bh_kv, swizzled, s);
}

}  // namespace attn4j::cuda::sale
