// A FlashAttention call after validation: raw pointers, element strides, and the mask resolved
// to a key window per query. Shared by the dispatcher, every ISA's kernel and the reference.
#pragma once
#include <cstdint>

namespace attn4j::cpu {

enum class DType : int32_t { F32 = 0, BF16 = 1, F16 = 2 };

struct FlashProblem {
    const void *q, *k, *v;
    void *out;
    float *lse;  // may be null
    DType in_dtype, out_dtype;
    int64_t batch, heads_q, heads_kv, len_q, len_k, dim, dim_v;
    int64_t sq[4], sk[4], sv[4], so[4], sl[4];  // element strides
    float scale;    // already resolved (never 0)
    float softcap;  // 0 = off
    // Key window of query i (absolute position p = i + len_k - len_q): keys j with
    // p - left <= j <= p + right are visible; a negative bound means unlimited on that side.
    int64_t window_left, window_right;
    int threads;

    int64_t offset() const { return len_k - len_q; }
    // Visible keys [lo, hi) of query row i; empty when lo >= hi.
    int64_t key_lo(int64_t i) const {
        if (window_left < 0) return 0;
        int64_t lo = i + offset() - window_left;
        return lo < 0 ? 0 : lo;
    }
    int64_t key_hi(int64_t i) const {
        if (window_right < 0) return len_k;
        int64_t hi = i + offset() + window_right + 1;
        return hi > len_k ? len_k : (hi < 0 ? 0 : hi);
    }
};

// How the tiled kernels split the work: `splits` > 1 divides every row's keys into that many
// ranges processed by different threads (flash-decoding); their partial results go to `partial`
// ([B*Hq*Nq][splits][2 + dv]: m, l, unnormalized acc) and are merged afterwards.
struct FlashPlan {
    int64_t splits = 1;
    float *partial = nullptr;
    bool bf16_dot = false;  // the CPU has a bf16 dot product (AVX512_BF16)
};

// Dispatches to the current ISA's kernel. Returns false on out-of-memory in a worker.
bool flash_forward(const FlashProblem &p);

// One kernel per ISA, side by side in cpu/<isa>/.
bool flash_forward_scalar(const FlashProblem &p);
bool flash_forward_avx2(const FlashProblem &p, const FlashPlan &plan);
bool flash_forward_avx512(const FlashProblem &p, const FlashPlan &plan);

// Query rows per tile of the tiled kernels (the unit of work besides key splits).
constexpr int64_t kFlashTileRows = 96;

}  // namespace attn4j::cpu
