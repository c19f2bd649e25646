#include "cpu/reference/flash_reference.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "cpu/element.h"

namespace attn4j::cpu {

void flash_reference(const FlashProblem &p, std::vector<double> &out, std::vector<double> &lse) {
    const int64_t B = p.batch, H = p.heads_q, N = p.len_q, M = p.len_k, d = p.dim, dv = p.dim_v;
    const int64_t group = p.heads_q / p.heads_kv;
    out.assign(B * H * N * dv, 0.0);
    lse.assign(B * H * N, -std::numeric_limits<double>::infinity());
    std::vector<double> s(M);
    for (int64_t b = 0; b < B; ++b)
        for (int64_t h = 0; h < H; ++h)
            for (int64_t i = 0; i < N; ++i) {
                const int64_t hk = h / group, lo = p.key_lo(i), hi = p.key_hi(i);
                if (lo >= hi) continue;
                // Block-sparse: keys of unselected blocks are masked like keys outside the window.
                const uint8_t *row = p.mask != nullptr ? p.mask->row(b, h, i / p.mask->block_q) : nullptr;
                auto seen = [&](int64_t j) { return row == nullptr || BlockMask::test(row, j / p.mask->block_k); };
                double mx = -std::numeric_limits<double>::infinity();
                for (int64_t j = lo; j < hi; ++j) {
                    if (!seen(j)) continue;
                    double dot = 0.0;
                    for (int64_t e = 0; e < d; ++e)
                        dot += static_cast<double>(load_element(p.q, p.in_dtype, b * p.sq[0] + h * p.sq[1] + i * p.sq[2] + e * p.sq[3])) *
                               static_cast<double>(load_element(p.k, p.in_dtype, b * p.sk[0] + hk * p.sk[1] + j * p.sk[2] + e * p.sk[3]));
                    double x = dot * static_cast<double>(p.scale);
                    if (p.softcap > 0.0f) x = p.softcap * std::tanh(x / p.softcap);
                    s[j] = x;
                    mx = std::max(mx, x);
                }
                if (mx == -std::numeric_limits<double>::infinity()) {
                    // Dense: every visible score -inf from the inputs is NaN, as in any softmax. Block-sparse:
                    // no selected key.
                    if (p.mask == nullptr) {
                        std::fill_n(&out[((b * H + h) * N + i) * dv], dv, std::numeric_limits<double>::quiet_NaN());
                        lse[(b * H + h) * N + i] = std::numeric_limits<double>::quiet_NaN();
                    }
                    continue;
                }
                double sum = 0.0;
                for (int64_t j = lo; j < hi; ++j)
                    if (seen(j)) sum += std::exp(s[j] - mx);
                double *o = &out[((b * H + h) * N + i) * dv];
                for (int64_t j = lo; j < hi; ++j) {
                    if (!seen(j)) continue;
                    const double w = std::exp(s[j] - mx) / sum;
                    for (int64_t e = 0; e < dv; ++e)
                        o[e] += w * load_element(p.v, p.in_dtype, b * p.sv[0] + hk * p.sv[1] + j * p.sv[2] + e * p.sv[3]);
                }
                lse[(b * H + h) * N + i] = mx + std::log(sum);
            }
}

}  // namespace attn4j::cpu
