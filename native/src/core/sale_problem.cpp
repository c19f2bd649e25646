#include "core/sale_problem.h"

#include <algorithm>

namespace attn4j::core {

BlockMask sale_mask_layout(const FlashProblem &p, int64_t block_q, int64_t block_k, const uint8_t *bits) {
    BlockMask m{};
    m.bits = bits;
    m.heads = p.heads_q;
    m.block_q = block_q;
    m.block_k = block_k;
    m.q_blocks = (p.len_q + block_q - 1) / block_q;
    m.k_blocks = (p.len_k + block_k - 1) / block_k;
    m.row_bytes = (m.k_blocks + 7) / 8;
    return m;
}

int64_t sale_visible_blocks(const FlashProblem &p, const BlockMask &m, int64_t qb) {
    const int64_t last = std::min((qb + 1) * m.block_q, p.len_q) - 1;
    return (p.key_hi(last) + m.block_k - 1) / m.block_k;
}

}  // namespace attn4j::core
