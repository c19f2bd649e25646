// SALE on the host: the estimation pass writes the mask, then block-sparse FlashAttention runs over
// it. The estimation's integer kernel is the current ISA's (cpu/sale/sale_estimate.cpp).
#include <cstddef>
#include <vector>

#include "cpu/sale/sale.h"

namespace attn4j::cpu {

bool sale_forward(const SaleProblem &sp, const BlockMask &mask, double *density) {
    const FlashProblem &p = sp.attention;
    std::vector<uint8_t> own;
    BlockMask m = mask;
    if (m.bits == nullptr) {
        own.resize(static_cast<size_t>(sale_mask_bytes(p, m)));
        m.bits = own.data();
    }
    if (!sale_estimate(p, sp.config, m)) return false;
    FlashProblem sparse = p;
    sparse.mask = &m;
    return block_sparse_forward(sparse, density);
}

}  // namespace attn4j::cpu
