// A FlashAttention call after validation: raw pointers, element strides, and the mask resolved
// to a key window per query. Shared by the dispatcher, every ISA's kernel and the reference.
#pragma once
#include <cstdint>

namespace attn4j::cpu {

enum class DType : int32_t { F32 = 0, BF16 = 1, F16 = 2 };

// Which (query block, key block) pairs a block-sparse call computes: a bitmap
// [batch][heads_q][q_blocks][row_bytes], bit kb of a row for key block kb (SALE's mask).
struct BlockMask {
    const uint8_t *bits;
    int64_t heads, block_q, block_k, q_blocks, k_blocks, row_bytes;
    // Query tiles ((b * heads + h) * q_blocks + qb) in the order to run them: most blocks first, so
    // dense rows start early and sparse ones fill the gaps. Null: largest causal rows first.
    const int64_t *order = nullptr;

    const uint8_t *row(int64_t b, int64_t h, int64_t qb) const {
        return bits + ((b * heads + h) * q_blocks + qb) * row_bytes;
    }
    static bool test(const uint8_t *row, int64_t kb) { return (row[kb >> 3] >> (kb & 7)) & 1; }
};

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
    const BlockMask *mask = nullptr;  // block-sparse: only the selected blocks are computed

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

// Calls f(j0, j1) for every key tile [j0, j1) of at most `width` keys in [lo, hi) that query rows
// starting at i0 compute: all of them, or with a block mask only those of selected blocks (a tile
// never straddles a block edge). Shared by every kernel, so dense and sparse walk keys alike.
template <class F>
void for_each_key_tile(const FlashProblem &p, int64_t b, int64_t h, int64_t i0, int64_t lo, int64_t hi,
                       int64_t width, F &&f) {
    if (p.mask == nullptr) {
        for (int64_t j0 = lo; j0 < hi; j0 += width) f(j0, j0 + width < hi ? j0 + width : hi);
        return;
    }
    const BlockMask &m = *p.mask;
    const uint8_t *row = m.row(b, h, i0 / m.block_q);
    for (int64_t kb = lo / m.block_k; kb * m.block_k < hi; ++kb) {
        if (!BlockMask::test(row, kb)) continue;
        const int64_t s = kb * m.block_k > lo ? kb * m.block_k : lo;
        const int64_t e = (kb + 1) * m.block_k < hi ? (kb + 1) * m.block_k : hi;
        for (int64_t j0 = s; j0 < e; j0 += width) f(j0, j0 + width < e ? j0 + width : e);
    }
}

// Query rows per tile: the mask's query block when block-sparse, else `dense`.
inline int64_t tile_rows(const FlashProblem &p, int64_t dense) { return p.mask != nullptr ? p.mask->block_q : dense; }

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

// Below this much arithmetic a call finishes before sleeping pool threads could wake up to help.
constexpr double kMinParallelFlops = 4e6;

// Query rows per tile of the tiled kernels (the unit of work besides key splits).
constexpr int64_t kFlashTileRows = 96;

}  // namespace attn4j::cpu
