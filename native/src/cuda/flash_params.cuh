// What a FlashAttention CUDA kernel launch takes (shared by the mma.sync kernel and the sm_90a wgmma
// kernel), and each query row's visible key range.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>
#include <string>

namespace attn4j::cuda::flash {

struct Params {
    const void *q, *k, *v;
    void *out;
    float *lse;
    int64_t sq[4], sk[4], sv[4], so[4], sl[4];
    int heads_q, group, len_q, len_k;
    float scale_log2;  // scale * log2(e)
    float softcap;     // 0: off (applied to scale * q.k, before the log2 conversion)
    float scale;
    int64_t window_left, window_right;
    bool out_f32;
    // Block-sparse (64 x 64 blocks): bit kb of a query tile's row says key tile kb is computed; null: all.
    const uint8_t *mask;
    int64_t mask_row_bytes;
    // Split keys (decode): block z covers keys [z * split_keys, (z + 1) * split_keys) and writes its
    // normalized partial output and log2-sum-exp to part_o [splits][B * Hq][len_q][D] and part_lse
    // [splits][B * Hq][len_q] (fp32) for merge_splits; kv_splits = 1: no split.
    int kv_splits;
    int64_t split_keys;
    float *part_o, *part_lse;
};

__device__ __forceinline__ int64_t key_lo(const Params &p, int64_t i) {
    if (p.window_left < 0) return 0;
    const int64_t lo = i + p.len_k - p.len_q - p.window_left;
    return lo < 0 ? 0 : lo;
}
__device__ __forceinline__ int64_t key_hi(const Params &p, int64_t i) {
    if (p.window_right < 0) return p.len_k;
    const int64_t hi = i + p.len_k - p.len_q + p.window_right + 1;
    return hi > p.len_k ? p.len_k : (hi < 0 ? 0 : hi);
}

// The Hopper kernel (flash_forward_sm90.cu): wgmma with 128 x 128 tiles loaded by TMA, for head dim
// 128, dense attention, 16-byte aligned rows, on sm_90 devices. sm90_applies is false where it does not
// apply (another device, a build without sm_90a code, a problem outside those bounds); launch_sm90
// returns false (and launches nothing) when TMA cannot describe the tensors, else launches and sets
// status.
bool sm90_applies(const Params &p, int dim, int device);
bool launch_sm90(const Params &p, bool bf16, int64_t batch, int64_t heads_kv, cudaStream_t stream, int32_t &status,
                 std::string &error);

}  // namespace attn4j::cuda::flash
