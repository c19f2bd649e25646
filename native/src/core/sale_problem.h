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

// Bitmap layout for a problem: blocks per axis and bytes per row.
BlockMask sale_mask_layout(const FlashProblem &p, int64_t block_q, int64_t block_k, const uint8_t *bits);

// Bytes of the whole mask [batch][heads_q][q_blocks][row_bytes].
inline int64_t sale_mask_bytes(const FlashProblem &p, const BlockMask &m) {
    return p.batch * p.heads_q * m.q_blocks * m.row_bytes;
}

// Key blocks [0, end) that some row of query block qb can see (causal or not).
int64_t sale_visible_blocks(const FlashProblem &p, const BlockMask &m, int64_t qb);

}  // namespace attn4j::core
