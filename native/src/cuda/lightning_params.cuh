// What the CUDA Lightning Attention-2 kernels share (lightning_forward_cuda.cu: the portable kernels and
// the host side; lightning_forward_sm90.cu: the Hopper passes; lightning_decode_cuda.cu: decode): chunk
// and segment sizes, the launch parameters, the decay, and the output rows' store.
#pragma once
#include <cuda.h>
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <string>

#include "cuda/cuda_backend.h"
#include "cuda/mma.cuh"
#include "cuda/tma.cuh"

namespace attn4j::cuda::lightning {

constexpr int kChunk = 128;
constexpr int64_t kSegment = 65536;
constexpr float kLog2e = 1.4426950408889634f;

struct Params {
    const void *q, *k, *v;
    void *out;
    int64_t sq[4], sk[4], sv[4], so[4];
    int heads_q, group;
    int64_t t0, len;          // this segment's first token and length
    int run_chunks;           // R: chunks per run
    int n_runs;               // runs per (batch, head) in this segment
    float *runs;              // [B*Hq][n_runs][D][D] run states S_r (fp32)
    float *before;            // [B*Hq][n_runs][D][D] the state before each run, KV_r (fp32)
    const float *state_in;    // [B*Hq][D][D] contiguous carry in (null = zero)
    float *state_out;         // carry out
    bool scan_in_prologue;    // Hopper output pass: each block scans the earlier runs itself (few runs)
    bool write_carry;         // ... and the last run's block writes the carry (else no one reads it)
    bool out_f32;
    bool out_pairs;  // out's columns are contiguous and every column pair is aligned: one store a pair
    bool out_tma;    // Hopper output pass: out (of the input type) through Maps::out
    float slope_log2[kMaxCudaHeads];  // slope * log2(e) per head: lambda^x = exp2(-slope_log2 * x)
};

__device__ __forceinline__ float decay(float slope_log2, float x) { return exp2f(-slope_log2 * x); }

// The decay over run r of the current segment (lambda^(its tokens)), by which the state before it is
// multiplied in the scan over runs: the scan kernel and the Hopper output pass's prologue share it.
__device__ __forceinline__ float run_decay(const Params &p, float slope_log2, int r) {
    const int64_t run_tokens = static_cast<int64_t>(p.run_chunks) * kChunk, n_r = p.len - r * run_tokens;
    return exp2f(-slope_log2 * static_cast<float>(n_r >= run_tokens ? run_tokens : n_r));
}

// x (two values of the storage type) times (a, b), rounded back.
template <typename T>
__device__ __forceinline__ uint32_t scale2(uint32_t x, float a, float b);
template <>
__device__ __forceinline__ uint32_t scale2<__nv_bfloat16>(uint32_t x, float a, float b) {
    const float2 f = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162 *>(&x));
    return pack2<__nv_bfloat16>(f.x * a, f.y * b);
}
template <>
__device__ __forceinline__ uint32_t scale2<__half>(uint32_t x, float a, float b) {
    const float2 f = __half22float2(*reinterpret_cast<const __half2 *>(&x));
    return pack2<__half>(f.x * a, f.y * b);
}

// The two output rows a thread holds in the mma accumulator layout (chunk rows t_lo, t_hi; register
// [dt][x] is row x < 2 ? t_lo : t_hi, column 8 dt + 2 t4 + x % 2) to out, but rows past the segment.
template <typename T, int D>
__device__ __forceinline__ void store_rows(const Params &p, int64_t b, int64_t h, int64_t c0, int t_lo, int t_hi,
                                           const float (&acc)[D / 8][4], int t4) {
#pragma unroll
    for (int half = 0; half < 2; ++half) {
        const int64_t t = c0 + (half ? t_hi : t_lo);
        if (t >= p.len) continue;
        const int64_t row = b * p.so[0] + h * p.so[1] + (p.t0 + t) * p.so[2];
        if (p.out_pairs) {  // one store per pair, at fixed offsets from the row's first pair
#pragma unroll
            for (int dt = 0; dt < D / 8; ++dt) {
                const float x0 = acc[dt][2 * half], x1 = acc[dt][2 * half + 1];
                if (p.out_f32) {
                    *reinterpret_cast<float2 *>(static_cast<float *>(p.out) + row + 2 * t4 + 8 * dt) = make_float2(x0, x1);
                } else {
                    *reinterpret_cast<uint32_t *>(static_cast<T *>(p.out) + row + 2 * t4 + 8 * dt) = pack2<T>(x0, x1);
                }
            }
            continue;
        }
        // Any column stride, opaque to the compiler: callers' loops would otherwise keep every column's
        // offset in registers.
        int64_t s3 = p.so[3];
        asm volatile("" : "+l"(s3));
        const int64_t base = row + 2 * t4 * s3;
#pragma unroll
        for (int dt = 0; dt < D / 8; ++dt) {
            const float x0 = acc[dt][2 * half], x1 = acc[dt][2 * half + 1];
            if (p.out_f32) {
                float *o = static_cast<float *>(p.out) + base + 8 * dt * s3;
                o[0] = x0;
                o[s3] = x1;
            } else {
                T *o = static_cast<T *>(p.out) + base + 8 * dt * s3;
                o[0] = from_float<T>(x0);
                o[s3] = from_float<T>(x1);
            }
        }
    }
}

// The Hopper passes (lightning_forward_sm90.cu; head dim 128, 16-bit inputs whose rows TMA can load).
// Over the whole sequence: q, k, v in boxes of one chunk, out (when Params::out_tma) of half a chunk.
struct Maps {
    tma::QkvMaps qkv;
    CUtensorMap out;
};
// Runs per (batch, head) for a segment of n_chunks chunks on the Hopper passes (one block per SM).
int64_t sm90_runs(int64_t n_chunks, int64_t batch_heads, int sms);
// One pass over the grid (runs, batch x heads) of the current segment: the run states (states = true)
// or the outputs; early: launched to overlap the tail of the kernel before it on the stream (only right
// after the run-state pass: the output kernel waits for it where it reads its states).
int32_t launch_sm90(const Params &p, const Maps &maps, dim3 grid, bool states, bool early, bool bf16, int device,
                    cudaStream_t stream, std::string &error);

// The passes over a whole call (lightning_forward_cuda.cu): segments of kSegment tokens, each run states,
// their scan and the outputs, with p's launch parameters (filled but for the per-segment fields), on
// the Hopper passes through *sm90_maps when given, else on the portable mma.sync kernels (16-byte loads
// where vec). Copies lp.state_in in and the final state to lp.state_out.
int32_t run_passes(const core::LightningProblem &lp, Params &p, const Maps *sm90_maps, bool vec, int device,
                   cudaStream_t stream, std::string &error);

// Decode (lightning_decode_cuda.cu): every entry of lp (the batch, or the packed sequences) has at most
// kDecodeMaxLen tokens; one launch (per 512 packed sequences) reads and writes each state once, on the
// current device.
constexpr int kDecodeMaxLen = 16;
int32_t run_decode(const core::LightningProblem &lp, cudaStream_t stream, std::string &error);

}  // namespace attn4j::cuda::lightning
