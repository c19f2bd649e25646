// What SALE's CUDA estimation shares (sale_quantize_cuda.cu: quantization; sale_estimate_cuda.cu: the
// mma.sync kernel; sale_estimate_sm90.cu: the Hopper kernel): their parameters and the plan of one mask row.
#pragma once
#include <cuda_runtime.h>

#include <climits>
#include <cstdint>
#include <string>

#include "cuda/cuda_backend.h"

namespace attn4j::cuda::sale {

constexpr int kBlock = 64;  // query rows and keys per mask block
constexpr int kLevels = 7;  // 4-bit values in [-7, 7]

struct EstParams {
    const void *q, *k;
    int64_t sq[4], sk[4];
    int heads_q, group, len_q, len_k, dim;
    int8_t *q8, *k8;  // [BHq][len_q][D], [BHkv][k_blocks * 64][D] (Hopper: each block 128B-swizzled)
    float *qs, *ks;   // per query token, per key block
    float *mean;      // [BHkv][D]
    uint8_t *mask;
    int64_t row_bytes, head_rows;  // the bitmap's bytes per row and rows per (batch, head)
    int q_blocks, k_blocks, sinks, locals;
    bool causal;
    float scale;
    float log_tau[kMaxCudaHeads];  // -inf: keep everything visible
};

// The key blocks one 64-row query block visits: [0, end) are visible; diag is its diagonal block,
// [local_lo, diag] its local blocks and [0, sinks) its sink blocks (both always kept). SALE's order:
// the local blocks from the diagonal down, the sinks, the rest from local_lo - 1 down to the sinks,
// then (without a causal mask) diag + 1 up to end - 1. Only the rest is tested; the kept blocks just
// raise the running row maxima, so their order among themselves does not matter.
// whole_hi is the last key block every row sees whole (-1: none), so interior blocks skip the
// per-element visibility test.
struct RowPlan {
    int64_t i0, rows;
    int end, diag, local_lo, sinks, whole_hi;
};

__device__ __forceinline__ RowPlan row_plan(const EstParams &p, int qb) {
    RowPlan r;
    r.i0 = static_cast<int64_t>(qb) * kBlock;
    r.rows = p.len_q - r.i0 < kBlock ? p.len_q - r.i0 : kBlock;
    const int64_t offset = static_cast<int64_t>(p.len_k) - p.len_q, last = r.i0 + r.rows - 1;
    int64_t hi = p.len_k;
    if (p.causal) hi = last + offset + 1 < 0 ? 0 : (last + offset + 1 < p.len_k ? last + offset + 1 : p.len_k);
    r.end = static_cast<int>((hi + kBlock - 1) / kBlock);
    int64_t d = last + offset < p.len_k - 1 ? last + offset : p.len_k - 1;
    d = (d > 0 ? d : 0) / kBlock;
    r.diag = static_cast<int>(d < r.end - 1 ? d : r.end - 1);
    r.local_lo = r.diag - p.locals + 1 > 0 ? r.diag - p.locals + 1 : 0;
    r.sinks = p.sinks < r.local_lo ? p.sinks : r.local_lo;
    int64_t whole = p.len_k / kBlock - 1;  // full key blocks
    const int64_t edge = r.i0 + offset - (kBlock - 1);  // the first row's last visible key, less a block
    if (p.causal) whole = edge < 0 ? -1 : (edge / kBlock < whole ? edge / kBlock : whole);
    r.whole_hi = r.rows == kBlock ? static_cast<int>(whole) : -1;
    return r;
}

// The estimated score of one row of a block: the largest integer product times the row's scale
// (already times the softmax scale) and the key block's; -inf where the row sees no key of the block.
// Both kernels round alike (scaled: the same for a product of a key the row sees).
__device__ __forceinline__ float scaled(int best, float q_scale, float k_scale) { return static_cast<float>(best) * (q_scale * k_scale); }
__device__ __forceinline__ float estimate(int best, float q_scale, float k_scale) {
    return best == INT_MIN ? -INFINITY : scaled(best, q_scale, k_scale);
}

// Query row `row` sees key `col` (both absolute; the causal diagonal follows the ends of the sequences).
__device__ __forceinline__ bool sees(const EstParams &p, int64_t row, int64_t col) {
    return col < p.len_k && row < p.len_q && (!p.causal || col <= row + (static_cast<int64_t>(p.len_k) - p.len_q));
}

// Key means: partial sums per chunk of kMeanRows keys (the caller's workspace holds mean_chunks(len_k)
// x dim floats per kv head for them).
constexpr int kMeanRows = 256;
int mean_chunks(int len_k);

// sale_quantize_cuda.cu: e.q8/e.qs from q, e.mean, e.k8/e.ks from k (head dim 64 or 128, bf16 or f16;
// keys 128B-swizzled per block where `swizzled`, head dim 128 only), on stream s.
void quantize(const EstParams &e, float *partial, int64_t bh_q, int64_t bh_kv, bool bf16, bool swizzled, cudaStream_t s);

// Key (row r, byte e) of a 64 x 128 int8 block in the layout wgmma reads with the 128-byte swizzle.
__host__ __device__ __forceinline__ int swizzled128(int r, int e) { return r * 128 + ((((e >> 4) ^ (r & 7))) << 4) + (e & 15); }

// The estimation (sale_estimate_cuda.cu): quantization, then the Hopper kernel where `hopper` (head dim
// 128 only), else the mma.sync kernel, writing e.mask; workspace from the stream's pool, on stream s.
int32_t estimate_mask(EstParams &e, int64_t bh_q, int64_t bh_kv, bool bf16, bool hopper, cudaStream_t s,
                      std::string &error);

// The Hopper kernel (sale_estimate_sm90.cu): head dim 128 on sm_90 devices, mask rows that fit its
// shared memory; false when it does not apply (the caller then runs the mma.sync kernel over
// unswizzled keys).
bool sm90_applies(int dim, int64_t row_bytes, int device);
int32_t launch_estimate_sm90(const EstParams &e, int64_t bh_q, cudaStream_t s, std::string &error);

}  // namespace attn4j::cuda::sale
