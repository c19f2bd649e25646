// A FlashAttention call after validation, the same for every backend: raw pointers (host memory, or
// device memory of `device`), element strides, and the mask resolved to a key window per query.
// Filled once from the C descriptors (fill_problem.cpp) and handed unchanged to cpu:: or cuda::.
#pragma once
#include <cstdint>

#include "core/dtype.h"
#include "core/sequences.h"

namespace attn4j::core {

// Which (query block, key block) pairs a block-sparse call computes: a bitmap
// [batch][heads_q][head_rows][row_bytes], bit kb of a row for key block kb (SALE's mask). q_blocks and
// k_blocks are the problem's; head_rows >= q_blocks and row_bytes >= ceil(k_blocks / 8) are the
// bitmap's, larger when the problem is one sequence of a batch whose mask is sized for the longest.
struct BlockMask {
    const uint8_t *bits;
    int64_t heads, block_q, block_k, q_blocks, k_blocks, row_bytes, head_rows;
    // Query tiles ((b * heads + h) * q_blocks + qb) in the order to run them: most blocks first, so
    // dense rows start early and sparse ones fill the gaps. Null: largest causal rows first.
    const int64_t *order = nullptr;

    const uint8_t *row(int64_t b, int64_t h, int64_t qb) const {
        return bits + ((b * heads + h) * head_rows + qb) * row_bytes;
    }
    static bool test(const uint8_t *row, int64_t kb) { return (row[kb >> 3] >> (kb & 7)) & 1; }
};

// Keys in a paged cache: key j of batch entry b is row j % size of page table[b * stride + j / size] of k
// and v, whose dim 0 counts pages. Null table: keys are contiguous rows of their batch entry.
struct KeyPages {
    const int32_t *table = nullptr;
    int64_t stride = 0;  // table entries per batch entry
    int64_t size = 0;    // keys per page, a power of two
    int64_t count = 0;   // pages in the pool (k.shape[0])
};

struct FlashProblem {
    const void *q, *k, *v;
    void *out;
    float *lse;  // may be null
    DType in_dtype, out_dtype;
    int64_t batch, heads_q, heads_kv, len_q, len_k, dim, dim_v;
    int64_t sq[4], sk[4], sv[4], so[4], sl[4];  // element strides (zeros for an empty tensor)
    float scale;    // already resolved (never 0)
    float softcap;  // 0 = off
    // Key window of query i (absolute position p = i + len_k - len_q): keys j with
    // p - left <= j <= p + right are visible; a negative bound means unlimited on that side.
    int64_t window_left, window_right;
    int threads;                      // CPU worker threads (resolved, >= 1)
    const BlockMask *mask = nullptr;  // block-sparse: only the selected blocks are computed
    int32_t device = -1;              // ATTN4J_DEVICE_HOST, or the CUDA device of every pointer
    void *stream = nullptr;           // CUDA: the cudaStream_t to run on (null: the default stream)
    Sequences seqs;                   // sequences of different lengths (padded or packed), or none
    KeyPages pages;                   // keys in a paged cache (with seqs.kv_lens), or contiguous

    // Element offset of key j (batch entry b, kv head h) in k or v, whose strides are s.
    int64_t key_offset(const int64_t *s, int64_t b, int64_t h, int64_t j) const {
        if (pages.table == nullptr) return b * s[0] + h * s[1] + j * s[2];
        return pages.table[b * pages.stride + j / pages.size] * s[0] + h * s[1] + (j % pages.size) * s[2];
    }
    // The end of the run of keys from j (before hi) that lie s[2] apart: the end of j's page when paged.
    int64_t key_run_end(int64_t j, int64_t hi) const {
        if (pages.table == nullptr) return hi;
        const int64_t end = (j / pages.size + 1) * pages.size;
        return end < hi ? end : hi;
    }

    int64_t offset() const { return len_k - len_q; }
    // Visible keys [lo, hi) of query row i; empty when lo >= hi.
    int64_t key_lo(int64_t i) const {
        if (window_left < 0) return 0;
        int64_t lo = i + offset() - window_left;
        return lo < 0 ? 0 : lo;
    }
    // Whether a row whose softmax sum is 0 was fed only -inf scores by its inputs (an infinite q or k)
    // rather than masked: then it is NaN, never a hidden 0. Block-sparse rows may see no selected key.
    bool hidden_infinity(int64_t i, float sum) const { return sum == 0.0f && mask == nullptr && key_lo(i) < key_hi(i); }
    int64_t key_hi(int64_t i) const {
        if (window_right < 0) return len_k;
        int64_t hi = i + offset() + window_right + 1;
        return hi > len_k ? len_k : (hi < 0 ? 0 : hi);
    }
};

}  // namespace attn4j::core
