#include "core/sale_problem.h"

#include <algorithm>

namespace attn4j::core {

namespace {

BlockMask layout(int64_t heads, int64_t len_q, int64_t len_k, int64_t block_q, int64_t block_k, const uint8_t *bits) {
    BlockMask m{};
    m.bits = bits;
    m.heads = heads;
    m.block_q = block_q;
    m.block_k = block_k;
    m.q_blocks = (len_q + block_q - 1) / block_q;
    m.k_blocks = (len_k + block_k - 1) / block_k;
    m.row_bytes = (m.k_blocks + 7) / 8;
    m.head_rows = m.q_blocks;
    return m;
}

}  // namespace

BlockMask sale_mask_layout(const FlashProblem &p, int64_t block_q, int64_t block_k, const uint8_t *bits) {
    const bool packed = p.seqs.packed();
    return layout(p.heads_q, packed ? p.seqs.max_q : p.len_q, packed ? p.seqs.max_k : p.len_k, block_q, block_k, bits);
}

BlockMask sale_sequence_mask(const BlockMask &full, const FlashProblem &part, int64_t seq) {
    BlockMask m = layout(full.heads, part.len_q, part.len_k, full.block_q, full.block_k, full.bits);
    m.head_rows = full.head_rows;
    m.row_bytes = full.row_bytes;
    if (full.bits != nullptr) m.bits = full.bits + seq * full.heads * full.head_rows * full.row_bytes;
    return m;
}

int64_t sale_visible_blocks(const FlashProblem &p, const BlockMask &m, int64_t qb) {
    const int64_t last = std::min((qb + 1) * m.block_q, p.len_q) - 1;
    return (p.key_hi(last) + m.block_k - 1) / m.block_k;
}

}  // namespace attn4j::core
