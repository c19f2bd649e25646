// SALE on the host: the estimation pass writes the mask, then block-sparse FlashAttention runs over
// it. The estimation's integer kernel is the current ISA's (cpu/sale/sale_estimate.cpp).
#include <cstddef>
#include <vector>

#include "cpu/sale/sale.h"

namespace attn4j::cpu {

bool sale_forward(const SaleProblem &sp, uint8_t *mask, double *density) {
    const FlashProblem &p = sp.attention;
    const SaleConfig &c = sp.config;
    std::vector<uint8_t> own;
    if (mask == nullptr) {
        own.resize(static_cast<size_t>(sale_mask_bytes(p, sale_mask_layout(p, c.block_q, c.block_k, nullptr))));
        mask = own.data();
    }
    const BlockMask m = sale_mask_layout(p, c.block_q, c.block_k, mask);
    if (!sale_estimate(p, c, m)) return false;
    FlashProblem sparse = p;
    sparse.mask = &m;
    return block_sparse_forward(sparse, density);
}

}  // namespace attn4j::cpu
