#include "cpu/reference/lightning_reference.h"

#include <cmath>

#include "cpu/element.h"

namespace attn4j::cpu {

void lightning_reference(const LightningProblem &p, std::vector<double> &out, std::vector<double> &state) {
    const int64_t B = p.batch, H = p.heads_q, N = p.len, d = p.dim, dv = p.dim_v, group = p.heads_q / p.heads_kv;
    out.assign(B * H * N * dv, 0.0);
    state.assign(B * H * d * dv, 0.0);
    for (int64_t b = 0; b < B; ++b)
        for (int64_t h = 0; h < H; ++h) {
            const int64_t hk = h / group;
            const double slope = p.slope(h);
            auto q = [&](int64_t i, int64_t e) { return static_cast<double>(load_element(p.q, p.in_dtype, b * p.sq[0] + h * p.sq[1] + i * p.sq[2] + e * p.sq[3])); };
            auto k = [&](int64_t j, int64_t e) { return static_cast<double>(load_element(p.k, p.in_dtype, b * p.sk[0] + hk * p.sk[1] + j * p.sk[2] + e * p.sk[3])); };
            auto v = [&](int64_t j, int64_t e) { return static_cast<double>(load_element(p.v, p.in_dtype, b * p.sv[0] + hk * p.sv[1] + j * p.sv[2] + e * p.sv[3])); };
            auto s0 = [&](int64_t e, int64_t c) {
                return p.state_in == nullptr ? 0.0 : static_cast<double>(p.state_in[b * p.ssi[0] + h * p.ssi[1] + e * p.ssi[2] + c * p.ssi[3]]);
            };
            for (int64_t i = 0; i < N; ++i) {
                double *o = &out[((b * H + h) * N + i) * dv];
                for (int64_t j = 0; j <= i; ++j) {
                    double dot = 0.0;
                    for (int64_t e = 0; e < d; ++e) dot += q(i, e) * k(j, e);
                    const double w = std::exp(-slope * static_cast<double>(i - j)) * dot;
                    for (int64_t c = 0; c < dv; ++c) o[c] += w * v(j, c);
                }
                const double f = std::exp(-slope * static_cast<double>(i + 1));
                for (int64_t e = 0; e < d; ++e) {
                    const double qe = f * q(i, e);
                    for (int64_t c = 0; c < dv; ++c) o[c] += qe * s0(e, c);
                }
            }
            double *st = &state[(b * H + h) * d * dv];
            const double fN = std::exp(-slope * static_cast<double>(N));
            for (int64_t e = 0; e < d; ++e)
                for (int64_t c = 0; c < dv; ++c) st[e * dv + c] = fN * s0(e, c);
            for (int64_t j = 0; j < N; ++j) {
                const double f = std::exp(-slope * static_cast<double>(N - 1 - j));
                for (int64_t e = 0; e < d; ++e) {
                    const double ke = f * k(j, e);
                    for (int64_t c = 0; c < dv; ++c) st[e * dv + c] += ke * v(j, c);
                }
            }
        }
}

}  // namespace attn4j::cpu
