// A SALE call after validation, the same for every backend: the attention it computes (a
// FlashProblem: scale, causal window, threads, device, stream) plus the estimation's options.
// Math and choices: cpu/sale/sale.h.
#pragma once
#include <cstdint>

#include "core/flash_problem.h"

namespace attn4j::core {

struct SaleConfig {
    const float *tau;  // one threshold per head of q (resolved)
    int64_t block_q, block_k, sink_blocks, local_blocks;
};

struct SaleProblem {
    FlashProblem attention;
    SaleConfig config;
};

// Bitmap layout of a call's mask: blocks per axis and bytes per row. With sequence lengths the bitmap
// has one entry per sequence: the padded form's [B][Hq] rows span the tensors' lengths, the packed
// form's [num_seqs][Hq] rows the longest sequence's, and each sequence's blocks count from its first
// valid query row and key (sale_sequence_mask).
BlockMask sale_mask_layout(const FlashProblem &p, int64_t block_q, int64_t block_k, const uint8_t *bits);

// Bytes of the whole mask [entries][heads_q][head_rows][row_bytes].
inline int64_t sale_mask_bytes(const FlashProblem &p, const BlockMask &m) {
    return (p.seqs.packed() ? p.seqs.num_seqs : p.batch) * p.heads_q * m.head_rows * m.row_bytes;
}

// The part of a call's mask `full` that sequence `seq` (a problem of its own, `part`) reads and writes.
BlockMask sale_sequence_mask(const BlockMask &full, const FlashProblem &part, int64_t seq);

// Key blocks [0, end) that some row of query block qb can see (causal or not).
int64_t sale_visible_blocks(const FlashProblem &p, const BlockMask &m, int64_t qb);

}  // namespace attn4j::core
