// Lightning Attention-2 decode on NVIDIA GPUs: a few tokens per sequence (n <= kDecodeMaxLen) against
// its fp32 state, at the bandwidth of the state. Per (entry, query head) with lambda = exp(-slope), the
// state S0 (d x dv) and tokens t = 0..n-1 (q_t, k_t of k/v head h / group):
//   o_t = lambda^(t+1) q_t S0 + sum_{s <= t} lambda^(t-s) (q_t . k_s) v_s
//   S   = lambda^n S0 + sum_s lambda^(n-1-s) k_s^T v_s
// the chunked forward's formulas for one chunk (the same decay placement, so both paths agree), in fp32.
// A block owns a d x kCols column tile of one head's state: it reads the tile once (float4 along dv) into
// registers, writes its output columns and the updated tile, so state_in may be state_out. The tokens'
// rows are tiny and shared by every tile: they are staged in shared memory as fp32. Column tiles are
// narrow when there are few heads, so that a batch of one still spreads over every SM.
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <string>

#include "attn4j.h"
#include "cuda/cuda_backend.h"
#include "cuda/launch.h"
#include "cuda/lightning_params.cuh"
#include "cuda/mma.cuh"

namespace attn4j::cuda {

namespace {

using lightning::decay;
using lightning::kDecodeMaxLen;
using lightning::kLog2e;

constexpr int kThreads = 128;
constexpr int kWarps = kThreads / 32;
// Packed sequences per launch: their prefix sums travel in the kernel's parameters (4 KiB in all).
constexpr int kSeqsPerLaunch = 512;

struct DecodeParams {
    const void *q, *k, *v;
    void *out;
    int64_t sq[4], sk[4], sv[4], so[4];
    const float *state_in;  // null: a zero state
    float *state_out;       // null: not written
    int64_t ssi[3], sso[3];
    int heads_q, group;
    int64_t len;       // tokens of every entry (not packed)
    bool packed;       // entry e: rows cu[e] .. cu[e + 1] - 1 of batch entry 0, state first + e
    bool out_f32;
    int64_t first;
    int32_t cu[kSeqsPerLaunch + 1];
    float slope_log2[kMaxCudaHeads];
};

template <typename T>
__device__ __forceinline__ float to_float(T x);
template <>
__device__ __forceinline__ float to_float<__nv_bfloat16>(__nv_bfloat16 x) { return __bfloat162float(x); }
template <>
__device__ __forceinline__ float to_float<__half>(__half x) { return __half2float(x); }

template <bool Vec>
__device__ __forceinline__ float4 load4(const float *p) {
    if constexpr (Vec) return *reinterpret_cast<const float4 *>(p);
    return make_float4(p[0], p[1], p[2], p[3]);
}
template <bool Vec>
__device__ __forceinline__ void store4(float *p, float4 x) {
    if constexpr (Vec) {
        *reinterpret_cast<float4 *>(p) = x;
    } else {
        p[0] = x.x;
        p[1] = x.y;
        p[2] = x.z;
        p[3] = x.w;
    }
}

__device__ __forceinline__ void fma4(float4 &acc, float a, float4 b) {
    acc.x = fmaf(a, b.x, acc.x);
    acc.y = fmaf(a, b.y, acc.y);
    acc.z = fmaf(a, b.z, acc.z);
    acc.w = fmaf(a, b.w, acc.w);
}

// Floats of shared memory for n tokens: q and k rows, the tile's v columns, each warp's partial q_t S0
// over its rows (float4 aligned, as the ones before it), and the decayed scores A[t][s] = lambda^(t-s) q_t . k_s.
constexpr int smem_floats(int n, int d, int cols) { return n * (2 * d + cols + kWarps * cols + n); }

// One block per (entry, head) (blockIdx.x) and column tile (blockIdx.y). Thread tid holds the float4 of
// columns 4 (tid % kQuads) at rows tid / kQuads + i kRowStep, so a warp reads whole row segments.
template <typename T, int D, int kCols, bool Vec>
__global__ void __launch_bounds__(kThreads) decode(const DecodeParams p) {
    constexpr int kQuads = kCols / 4, kRowStep = kThreads / kQuads, kRows = D / kRowStep;
    static_assert(kRows >= 1 && D % kRowStep == 0, "a tile's rows split evenly over the threads");
    extern __shared__ __align__(16) float smem[];
    const int tid = threadIdx.x, lane = tid % 32, warp = tid / 32, quad = tid % kQuads, row = tid / kQuads;
    const int h = static_cast<int>(blockIdx.x % p.heads_q), hk = h / p.group;
    const int64_t e = blockIdx.x / p.heads_q;
    const int c0 = blockIdx.y * kCols, col = c0 + 4 * quad;
    const int64_t b = p.packed ? 0 : e, row0 = p.packed ? p.cu[e] : 0, s = p.packed ? p.first + e : e;
    const int n = static_cast<int>(p.packed ? p.cu[e + 1] - p.cu[e] : p.len);
    const float sl = p.slope_log2[h];

    // The state tile first: its loads are in flight while the tokens are staged.
    float4 st[kRows];
    if (p.state_in != nullptr) {
        const float *src = p.state_in + s * p.ssi[0] + h * p.ssi[1] + col;
#pragma unroll
        for (int i = 0; i < kRows; ++i) st[i] = load4<Vec>(src + (row + i * kRowStep) * p.ssi[2]);
    } else {
#pragma unroll
        for (int i = 0; i < kRows; ++i) st[i] = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
    }

    float *sq = smem, *sk = sq + n * D, *sv = sk + n * D, *red = sv + n * kCols, *sa = red + kWarps * n * kCols;
    if (n > 0) {
        const T *q = static_cast<const T *>(p.q) + b * p.sq[0] + h * p.sq[1] + row0 * p.sq[2];
        const T *k = static_cast<const T *>(p.k) + b * p.sk[0] + hk * p.sk[1] + row0 * p.sk[2];
        const T *v = static_cast<const T *>(p.v) + b * p.sv[0] + hk * p.sv[1] + row0 * p.sv[2] + c0;
        for (int x = tid; x < n * D; x += kThreads) {
            const int t = x / D, c = x % D;
            sq[x] = to_float(q[t * p.sq[2] + c]);
            sk[x] = to_float(k[t * p.sk[2] + c]);
        }
        for (int x = tid; x < n * kCols; x += kThreads) sv[x] = to_float(v[(x / kCols) * p.sv[2] + x % kCols]);
        __syncthreads();
        // The scores, one (t, s <= t) pair per warp at a time.
        for (int t = 0, pair = 0; t < n; ++t)
            for (int s2 = 0; s2 <= t; ++s2, ++pair) {
                if (pair % kWarps != warp) continue;
                float dot = 0.0f;
#pragma unroll
                for (int c = lane; c < D; c += 32) dot = fmaf(sq[t * D + c], sk[s2 * D + c], dot);
#pragma unroll
                for (int off = 16; off > 0; off /= 2) dot += __shfl_xor_sync(0xffffffffu, dot, off);
                if (lane == 0) sa[t * n + s2] = decay(sl, static_cast<float>(t - s2)) * dot;
            }
        // q_t S0 over this thread's rows, summed over the warp's lanes of the same columns.
        for (int t = 0; t < n; ++t) {
            float4 acc = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
#pragma unroll
            for (int i = 0; i < kRows; ++i) fma4(acc, sq[t * D + row + i * kRowStep], st[i]);
#pragma unroll
            for (int off = kQuads; off < 32; off *= 2) {
                acc.x += __shfl_xor_sync(0xffffffffu, acc.x, off);
                acc.y += __shfl_xor_sync(0xffffffffu, acc.y, off);
                acc.z += __shfl_xor_sync(0xffffffffu, acc.z, off);
                acc.w += __shfl_xor_sync(0xffffffffu, acc.w, off);
            }
            if (lane < kQuads) *reinterpret_cast<float4 *>(&red[(warp * n + t) * kCols + 4 * quad]) = acc;
        }
        // S = lambda^n S0 + sum_s (lambda^(n-1-s) v_s) k_s^T, in place in registers.
        const float all = decay(sl, static_cast<float>(n));
#pragma unroll
        for (int i = 0; i < kRows; ++i) st[i] = make_float4(all * st[i].x, all * st[i].y, all * st[i].z, all * st[i].w);
        for (int t = 0; t < n; ++t) {
            const float w = decay(sl, static_cast<float>(n - 1 - t));
            const float4 vt = *reinterpret_cast<const float4 *>(&sv[t * kCols + 4 * quad]);
            const float4 vw = make_float4(w * vt.x, w * vt.y, w * vt.z, w * vt.w);
#pragma unroll
            for (int i = 0; i < kRows; ++i) fma4(st[i], sk[t * D + row + i * kRowStep], vw);
        }
    }
    if (p.state_out != nullptr) {
        float *dst = p.state_out + s * p.sso[0] + h * p.sso[1] + col;
#pragma unroll
        for (int i = 0; i < kRows; ++i) store4<Vec>(dst + (row + i * kRowStep) * p.sso[2], st[i]);
    }
    if (n == 0) return;
    __syncthreads();  // every warp's partials and the scores are in shared memory
    const int64_t out0 = b * p.so[0] + h * p.so[1] + row0 * p.so[2] + c0;
    for (int x = tid; x < n * kCols; x += kThreads) {
        const int t = x / kCols, c = x % kCols;
        float inter = 0.0f;
#pragma unroll
        for (int w = 0; w < kWarps; ++w) inter += red[(w * n + t) * kCols + c];
        float o = decay(sl, static_cast<float>(t + 1)) * inter;
        for (int s2 = 0; s2 <= t; ++s2) o = fmaf(sa[t * n + s2], sv[s2 * kCols + c], o);
        const int64_t at = out0 + t * p.so[2] + c;
        if (p.out_f32) static_cast<float *>(p.out)[at] = o;
        else static_cast<T *>(p.out)[at] = from_float<T>(o);
    }
}

template <typename T, int D, int kCols>
void launch(const DecodeParams &p, bool vec, unsigned blocks, int n_max, cudaStream_t stream) {
    const dim3 grid(blocks, D / kCols);
    const size_t smem = sizeof(float) * smem_floats(n_max, D, kCols);
    if (vec) decode<T, D, kCols, true><<<grid, kThreads, smem, stream>>>(p);
    else decode<T, D, kCols, false><<<grid, kThreads, smem, stream>>>(p);
}

template <typename T, int D>
void launch_tiles(const DecodeParams &p, int cols, bool vec, unsigned blocks, int n_max, cudaStream_t stream) {
    if (cols == 64) launch<T, D, 64>(p, vec, blocks, n_max, stream);
    else if (cols == 32) launch<T, D, 32>(p, vec, blocks, n_max, stream);
    else launch<T, D, 16>(p, vec, blocks, n_max, stream);
}

// float4 access to a state: 16-byte aligned base and strides of whole float4s.
bool state_vec(const float *s, const int64_t *st) {
    return s == nullptr || (reinterpret_cast<uintptr_t>(s) % 16 == 0 && st[0] % 4 == 0 && st[1] % 4 == 0 && st[2] % 4 == 0);
}

}  // namespace

int32_t lightning::run_decode(const core::LightningProblem &lp, cudaStream_t stream, std::string &error) {
    DecodeParams p{};
    copy_operands(p, lp);
    p.state_in = lp.state_in;
    p.state_out = lp.state_out;
    for (int i = 0; i < 3; ++i) {
        p.ssi[i] = lp.ssi[i];
        p.sso[i] = lp.sso[i];
    }
    p.len = lp.len;
    p.packed = lp.num_seqs > 0;
    p.out_f32 = lp.out_dtype == core::DType::F32;
    for (int64_t h = 0; h < lp.heads_q; ++h) p.slope_log2[h] = lp.slope(h) * kLog2e;
    const bool vec = state_vec(lp.state_in, lp.ssi) && state_vec(lp.state_out, lp.sso);
    const bool bf16 = lp.in_dtype == core::DType::BF16;
    int sms = 0;
    if (const int32_t st = status_of(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, lp.device),
                                     "cudaDeviceGetAttribute", error))
        return st;
    const int64_t entries = lp.entries(), step = p.packed ? kSeqsPerLaunch : entries;
    for (int64_t first = 0; first < entries; first += step) {
        const int64_t count = std::min(step, entries - first);
        int n_max = static_cast<int>(lp.len);
        if (p.packed) {
            p.first = first;
            n_max = 0;
            for (int64_t i = 0; i <= count; ++i) p.cu[i] = lp.cu_seqlens[first + i];
            for (int64_t i = 0; i < count; ++i) n_max = std::max(n_max, p.cu[i + 1] - p.cu[i]);
        }
        if (n_max > kDecodeMaxLen) {
            error = "Lightning decode: a sequence of " + std::to_string(n_max) + " tokens (at most " +
                    std::to_string(kDecodeMaxLen) + ")";
            return ATTN4J_STATUS_INTERNAL;
        }
        // The widest tile (fewer blocks re-stage the same tokens) that still gives two blocks per SM.
        const int64_t heads = count * lp.heads_q;
        int cols = 64;
        while (cols > 16 && heads * (lp.dim / cols) < 2 * static_cast<int64_t>(sms)) cols /= 2;
        const unsigned blocks = static_cast<unsigned>(heads);
        if (lp.dim == 64) {
            if (bf16) launch_tiles<__nv_bfloat16, 64>(p, cols, vec, blocks, n_max, stream);
            else launch_tiles<__half, 64>(p, cols, vec, blocks, n_max, stream);
        } else {
            if (bf16) launch_tiles<__nv_bfloat16, 128>(p, cols, vec, blocks, n_max, stream);
            else launch_tiles<__half, 128>(p, cols, vec, blocks, n_max, stream);
        }
        if (const int32_t st = status_of(cudaGetLastError(), "Lightning decode launch", error)) return st;
    }
    return ATTN4J_STATUS_OK;
}

}  // namespace attn4j::cuda
