// Block-sparse FlashAttention: the dense kernels walk only the key blocks set in the mask
// (for_each_key_tile). Rows differ in density, so query tiles run most-blocks-first.
#include <algorithm>
#include <numeric>
#include <vector>

#include "cpu/sale/sale.h"

namespace attn4j::cpu {

bool block_sparse_forward(const FlashProblem &problem, double *density) {
    const BlockMask &m = *problem.mask;
    const int64_t tasks = problem.batch * problem.heads_q * m.q_blocks;
    std::vector<int64_t> cost(static_cast<size_t>(tasks)), order(static_cast<size_t>(tasks));
    double kept = 0.0, visible = 0.0;
    for (int64_t t = 0; t < tasks; ++t) {
        const int64_t qb = t % m.q_blocks, bh = t / m.q_blocks;
        const uint8_t *row = m.row(bh / problem.heads_q, bh % problem.heads_q, qb);
        const int64_t end = sale_visible_blocks(problem, m, qb);
        int64_t n = 0;
        for (int64_t kb = 0; kb < end; ++kb) n += BlockMask::test(row, kb);
        cost[t] = n;
        kept += static_cast<double>(n);
        visible += static_cast<double>(end);
    }
    if (density != nullptr) *density = visible > 0.0 ? kept / visible : 1.0;
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return cost[a] > cost[b]; });
    BlockMask ordered = m;
    ordered.order = order.data();
    FlashProblem p = problem;
    p.mask = &ordered;
    return flash_forward(p);
}

}  // namespace attn4j::cpu
