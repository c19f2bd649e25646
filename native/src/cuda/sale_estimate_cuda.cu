// SALE's estimation pass on NVIDIA GPUs (the CPU version and its choices: cpu/sale/sale.h). Q and K
// are quantized to 4-bit values held in int8 (K smoothed by its mean, one scale per 64-key block;
// one scale per query token), and every 64-query-row block walks its key blocks in SALE's order on
// integer tensor cores (mma.sync m16n8k32 s8.s8.s32): per block the estimated row maxima, the
// Relative Attention Score test against the running row maxima, one bit of the mask. On Hopper, with
// head dim 128, sale_estimate_sm90.cu replaces that last kernel.
#include <cuda_runtime.h>

#include <climits>
#include <cstdint>
#include <string>

#include "attn4j.h"
#include "cuda/cuda_backend.h"
#include "cuda/launch.h"
#include "cuda/mma.cuh"
#include "cuda/sale_estimate.cuh"

namespace attn4j::cuda {

using sale::EstParams;
using sale::kBlock;
using sale::kLevels;

namespace {

constexpr int kThreads = 128;  // 4 warps, 16 query rows each

template <typename T>
__device__ __forceinline__ float load_f(const void *base, int64_t off) {
    return static_cast<float>(static_cast<const T *>(base)[off]);
}

__device__ __forceinline__ int8_t quant(float x, float inv) {
    float v = x * inv;
    v = fminf(fmaxf(v, -kLevels), kLevels);
    return static_cast<int8_t>(__float2int_rn(v));
}

// Mean of every dimension over the keys of a kv head, in two deterministic steps (both kernels of a
// call quantize alike): per chunk of kMeanRows keys, partial sums; then their sum in order. Within a
// chunk, key j goes to the partial sum of lane j % kMeanLanes<D>, and the lanes add up in order.
constexpr int kMeanRows = 256;
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
    const float sc = red[0] > 0.0f && isfinite(red[0]) ? red[0] / kLevels : 0.0f, inv = sc > 0.0f ? 1.0f / sc : 0.0f;
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
    const float sc = mx > 0.0f && isfinite(mx) ? mx / kLevels : 0.0f, inv = sc > 0.0f ? 1.0f / sc : 0.0f;
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
    const float sc = mx > 0.0f && isfinite(mx) ? mx / kLevels : 0.0f, inv = sc > 0.0f ? 1.0f / sc : 0.0f;
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
    const float sc = mx > 0.0f && isfinite(mx) ? mx / kLevels : 0.0f, inv = sc > 0.0f ? 1.0f / sc : 0.0f;
    if (c == 0) p.qs[static_cast<int64_t>(bh) * p.len_q + i] = sc;
    *reinterpret_cast<uint2 *>(p.q8 + (static_cast<int64_t>(bh) * p.len_q + i) * D + 8 * c) = quant8(x, inv);
}

__device__ __forceinline__ void mma_s8(int (&c)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
    asm volatile("mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
                 : "+r"(c[0]), "+r"(c[1]), "+r"(c[2]), "+r"(c[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

// The mask row of one 64-query-row block: key blocks in SALE's order (diagonal and local blocks
// first, the sinks, then the rest nearest first), each estimated on the int8 tensor cores.
template <int D>
__global__ void __launch_bounds__(kThreads) estimate_rows(const EstParams p) {
    __shared__ __align__(16) int8_t sk[2][kBlock][D + 16];
    extern __shared__ uint8_t row_bits[];
    const int qb = blockIdx.x, bh = blockIdx.y, h = bh % p.heads_q, hk = bh / p.heads_q * (p.heads_q / p.group) + h / p.group;
    const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32, g = lane / 4, t4 = lane % 4;
    for (int x = tid; x < p.row_bytes; x += kThreads) row_bits[x] = 0;
    const sale::RowPlan plan = sale::row_plan(p, qb);
    const int64_t i0 = plan.i0;
    const int end = plan.end;
    __syncthreads();
    auto set_bit = [&](int kb) { atomicOr(reinterpret_cast<unsigned *>(row_bits) + kb / 32, 1u << (kb % 32)); };
    const float log_tau = p.log_tau[h];
    if (log_tau == -INFINITY || end == 0) {
        for (int kb = tid; kb < end; kb += kThreads) set_bit(kb);
    } else {
        // Query fragments (A of m16n8k32: rows g, g + 8; bytes 4 t4 .. and 16 + 4 t4 of each 32-wide k step).
        const int r0 = warp * 16;
        const int8_t *q8 = p.q8 + (static_cast<int64_t>(bh) * p.len_q + i0) * D;
        uint32_t qa[D / 32][4];
        for (int ks = 0; ks < D / 32; ++ks) {
            auto at = [&](int r, int c) -> uint32_t {
                return i0 + r < p.len_q ? *reinterpret_cast<const uint32_t *>(q8 + r * D + ks * 32 + c) : 0u;
            };
            qa[ks][0] = at(r0 + g, 4 * t4);
            qa[ks][1] = at(r0 + g + 8, 4 * t4);
            qa[ks][2] = at(r0 + g, 16 + 4 * t4);
            qa[ks][3] = at(r0 + g + 8, 16 + 4 * t4);
        }
        const int64_t row_abs[2] = {i0 + r0 + g, i0 + r0 + g + 8};
        const float qsc[2] = {row_abs[0] < p.len_q ? p.qs[static_cast<int64_t>(bh) * p.len_q + row_abs[0]] * p.scale : 0.0f,
                              row_abs[1] < p.len_q ? p.qs[static_cast<int64_t>(bh) * p.len_q + row_abs[1]] * p.scale : 0.0f};
        float run[2] = {-INFINITY, -INFINITY};
        const int diag = plan.diag, local_lo = plan.local_lo, sinks = plan.sinks;
        // Visit order: diag .. local_lo (kept), 0 .. sinks - 1 (kept), local_lo - 1 .. sinks, diag + 1 .. end - 1.
        const int n_local = diag - local_lo + 1;
        auto visit = [&](int v, bool &always) {
            always = v < n_local + sinks;
            if (v < n_local) return diag - v;
            if (v < n_local + sinks) return v - n_local;
            if (v < n_local + local_lo) return local_lo - 1 - (v - n_local - sinks);
            return diag + 1 + (v - n_local - local_lo);
        };
        // Key blocks stream into two shared buffers with cp.async, the next one while this one computes.
        auto fetch = [&](int kb, int buf) {
            const int8_t *k8 = p.k8 + (static_cast<int64_t>(hk) * p.k_blocks * kBlock + static_cast<int64_t>(kb) * kBlock) * D;
            for (int x = tid; x < kBlock * D / 16; x += kThreads) {
                const int r = x / (D / 16), c = (x % (D / 16)) * 16;
                cp_async16(&sk[buf][r][c], k8 + r * D + c, true);
            }
            cp_async_commit();
        };
        bool always0;
        fetch(visit(0, always0), 0);
        for (int v = 0; v < end; ++v) {
            bool always;
            const int kb = visit(v, always), buf = v & 1;
            if (v + 1 < end) {
                bool next_always;
                fetch(visit(v + 1, next_always), buf ^ 1);
                cp_async_wait<1>();
            } else {
                cp_async_wait<0>();
            }
            __syncthreads();
            // Interior blocks (every row sees every key) skip the per-element visibility tests.
            const int64_t j0 = static_cast<int64_t>(kb) * kBlock;
            const bool interior = kb <= plan.whole_hi;
            int best[2] = {INT_MIN, INT_MIN};
#pragma unroll
            for (int nt = 0; nt < kBlock / 8; ++nt) {
                int acc[4] = {0, 0, 0, 0};
#pragma unroll
                for (int ks = 0; ks < D / 32; ++ks)
                    mma_s8(acc, qa[ks], *reinterpret_cast<const uint32_t *>(&sk[buf][nt * 8 + g][ks * 32 + 4 * t4]),
                           *reinterpret_cast<const uint32_t *>(&sk[buf][nt * 8 + g][ks * 32 + 16 + 4 * t4]));
                if (interior) {
                    best[0] = max(best[0], max(acc[0], acc[1]));
                    best[1] = max(best[1], max(acc[2], acc[3]));
                    continue;
                }
#pragma unroll
                for (int c = 0; c < 4; ++c) {
                    const int half = c / 2;
                    const int64_t j = j0 + nt * 8 + 2 * t4 + (c & 1);
                    if (sale::sees(p, row_abs[half], j) && acc[c] > best[half]) best[half] = acc[c];
                }
            }
            bool keep = always;
            const float ksc = p.ks[static_cast<int64_t>(hk) * p.k_blocks + kb];
#pragma unroll
            for (int half = 0; half < 2; ++half) {
                best[half] = max(best[half], __shfl_xor_sync(0xffffffffu, best[half], 1));
                best[half] = max(best[half], __shfl_xor_sync(0xffffffffu, best[half], 2));
                const float est = sale::estimate(best[half], qsc[half], ksc);
                keep = keep || est > run[half] + log_tau;
                run[half] = fmaxf(run[half], est);
            }
            // One vote per block; the barrier also frees this buffer for the fetch two blocks on.
            if (__syncthreads_or(keep) && tid == 0) set_bit(kb);
        }
    }
    __syncthreads();
    uint8_t *out = p.mask + (static_cast<int64_t>(bh) * p.q_blocks + qb) * p.row_bytes;
    for (int x = tid; x < p.row_bytes; x += kThreads) out[x] = row_bits[x];
}

template <typename T, int D>
int32_t run(EstParams &e, int64_t bh_q, int64_t bh_kv, bool hopper, cudaStream_t s, std::string &error) {
    const int chunks = e.len_k > 0 ? (e.len_k + kMeanRows - 1) / kMeanRows : 1;
    const size_t q8 = static_cast<size_t>(bh_q) * e.len_q * D, k8 = static_cast<size_t>(bh_kv) * e.k_blocks * kBlock * D;
    const size_t floats = static_cast<size_t>(bh_q) * e.len_q + static_cast<size_t>(bh_kv) * e.k_blocks +
                          static_cast<size_t>(bh_kv) * D * (1 + chunks);
    void *work = nullptr;
    int32_t st = status_of(cudaMallocAsync(&work, q8 + k8 + 4 * floats + 64, s), "cudaMallocAsync (SALE estimation)", error);
    if (st != ATTN4J_STATUS_OK) return st;
    e.q8 = static_cast<int8_t *>(work);
    e.k8 = e.q8 + q8;
    e.qs = reinterpret_cast<float *>((reinterpret_cast<uintptr_t>(e.k8 + k8) + 15) & ~uintptr_t(15));
    e.ks = e.qs + static_cast<size_t>(bh_q) * e.len_q;
    e.mean = e.ks + static_cast<size_t>(bh_kv) * e.k_blocks;
    float *const partial = e.mean + static_cast<size_t>(bh_kv) * D;
    // 16-byte loads where every row of q and k starts 16-byte aligned with unit stride in the head dim.
    constexpr int kQueryRows8 = 2048 / D;  // rows of a quantize_queries8 block
    const bool vec = e.sq[3] == 1 && e.sk[3] == 1 && rows_aligned16({{e.q, e.sq}, {e.k, e.sk}});
    const dim3 mean_grid(static_cast<unsigned>(bh_kv), static_cast<unsigned>(chunks));
    if (vec)
        key_partial_sums8<T, D><<<mean_grid, 256, 0, s>>>(e, partial);
    else
        key_partial_sums<T, D><<<mean_grid, 256, 0, s>>>(e, partial);
    key_mean<<<static_cast<unsigned>(bh_kv), D, 0, s>>>(e, partial, chunks);
    const dim3 key_grid(static_cast<unsigned>(e.k_blocks), static_cast<unsigned>(bh_kv));
    if (vec && hopper)
        quantize_keys8<T, D, D == 128><<<key_grid, kThreads, 0, s>>>(e);
    else if (vec)
        quantize_keys8<T, D, false><<<key_grid, kThreads, 0, s>>>(e);
    else if (hopper)
        quantize_keys<T, true><<<key_grid, kThreads, 0, s>>>(e);
    else
        quantize_keys<T, false><<<key_grid, kThreads, 0, s>>>(e);
    if (vec)
        quantize_queries8<T, D><<<dim3(static_cast<unsigned>((e.len_q + kQueryRows8 - 1) / kQueryRows8), static_cast<unsigned>(bh_q)), 256, 0, s>>>(e);
    else
        quantize_queries<T><<<dim3(static_cast<unsigned>((e.len_q + 7) / 8), static_cast<unsigned>(bh_q)), 256, 0, s>>>(e);
    if (hopper) {
        st = sale::launch_estimate_sm90(e, bh_q, s, error);
    } else {
        const size_t row_smem = (static_cast<size_t>(e.row_bytes) + 3) / 4 * 4;
        estimate_rows<D><<<dim3(static_cast<unsigned>(e.q_blocks), static_cast<unsigned>(bh_q)), kThreads, row_smem, s>>>(e);
        st = status_of(cudaGetLastError(), "SALE estimation kernel launch", error);
    }
    const int32_t freed = status_of(cudaFreeAsync(work, s), "cudaFreeAsync", error);
    return st != ATTN4J_STATUS_OK ? st : freed;
}

}  // namespace

int32_t sale_estimate(const cpu::FlashProblem &p, const float *tau, int64_t sinks, int64_t locals, uint8_t *mask,
                      int64_t row_bytes, int32_t device, void *stream, std::string &error) {
    if (const int32_t st = use_device(device, error); st != ATTN4J_STATUS_OK) return st;
    EstParams e{};
    e.q = p.q;
    e.k = p.k;
    for (int i = 0; i < 4; ++i) {
        e.sq[i] = p.sq[i];
        e.sk[i] = p.sk[i];
    }
    e.heads_q = static_cast<int>(p.heads_q);
    e.group = static_cast<int>(p.heads_q / p.heads_kv);
    e.len_q = static_cast<int>(p.len_q);
    e.len_k = static_cast<int>(p.len_k);
    e.dim = static_cast<int>(p.dim);
    e.mask = mask;
    e.row_bytes = row_bytes;
    e.q_blocks = static_cast<int>((p.len_q + kBlock - 1) / kBlock);
    e.k_blocks = static_cast<int>((p.len_k + kBlock - 1) / kBlock);
    e.sinks = static_cast<int>(sinks);
    e.locals = static_cast<int>(locals);
    e.causal = p.window_right == 0;
    e.scale = p.scale;
    for (int64_t h = 0; h < p.heads_q; ++h) e.log_tau[h] = tau[h] > 0.0f ? logf(tau[h]) : -INFINITY;
    const auto s = static_cast<cudaStream_t>(stream);
    const int64_t bq = p.batch * p.heads_q, bk = p.batch * p.heads_kv;
    const bool bf16 = p.in_dtype == cpu::DType::BF16;
    if (p.dim == 64) return bf16 ? run<__nv_bfloat16, 64>(e, bq, bk, false, s, error) : run<__half, 64>(e, bq, bk, false, s, error);
    const bool hopper = sale::sm90_applies(static_cast<int>(p.dim), row_bytes, device);
    return bf16 ? run<__nv_bfloat16, 128>(e, bq, bk, hopper, s, error) : run<__half, 128>(e, bq, bk, hopper, s, error);
}

}  // namespace attn4j::cuda
