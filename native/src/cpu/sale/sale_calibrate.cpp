// Per-head threshold calibration: halve tau from a generous start until SALE's output on the
// sample inputs is within the target relative L2 error of dense attention (as the paper calibrates
// offline, head by head). Below 1e-4 the head runs dense (tau = 0).
#include <cmath>
#include <vector>

#include "cpu/element.h"
#include "cpu/sale/sale.h"

namespace attn4j::cpu {

namespace {

constexpr float kStartTau = 0.1f;
constexpr float kMinTau = 1e-4f;

// The problem restricted to head h of q (and its kv head), writing fp32 rows to `out`.
FlashProblem one_head(const FlashProblem &p, int64_t h, float *out) {
    FlashProblem s = p;
    const int64_t hkv = h / (p.heads_q / p.heads_kv);
    s.q = advance(p.q, p.in_dtype, h * p.sq[1]);
    s.k = advance(p.k, p.in_dtype, hkv * p.sk[1]);
    s.v = advance(p.v, p.in_dtype, hkv * p.sv[1]);
    s.heads_q = s.heads_kv = 1;
    s.out = out;
    s.out_dtype = DType::F32;
    s.so[0] = p.len_q * p.dim_v;
    s.so[1] = 0;
    s.so[2] = p.dim_v;
    s.so[3] = 1;
    s.lse = nullptr;
    s.mask = nullptr;
    return s;
}

double rel_l2(const std::vector<float> &x, const std::vector<float> &ref) {
    double num = 0.0, den = 0.0;
    for (size_t i = 0; i < x.size(); ++i) {
        const double e = static_cast<double>(x[i]) - ref[i];
        num += e * e;
        den += static_cast<double>(ref[i]) * ref[i];
    }
    return den > 0.0 ? std::sqrt(num / den) : std::sqrt(num);
}

}  // namespace

bool sale_calibrate(const FlashProblem &p, const SaleConfig &c, float target, float *tau_out) {
    const size_t n = static_cast<size_t>(p.batch * p.len_q * p.dim_v);
    std::vector<float> dense(n), sparse(n);
    for (int64_t h = 0; h < p.heads_q; ++h) {
        const FlashProblem ref = one_head(p, h, dense.data());
        if (!flash_forward(ref)) return false;
        FlashProblem s = one_head(p, h, sparse.data());
        std::vector<uint8_t> bits;
        float tau = kStartTau;
        while (tau > 0.0f) {
            const BlockMask layout = sale_mask_layout(s, c.block_q, c.block_k, nullptr);
            bits.assign(static_cast<size_t>(p.batch * layout.q_blocks * layout.row_bytes), 0);
            const BlockMask m = sale_mask_layout(s, c.block_q, c.block_k, bits.data());
            const SaleConfig one{&tau, c.block_q, c.block_k, c.sink_blocks, c.local_blocks};
            if (!sale_estimate(s, one, m)) return false;
            s.mask = &m;
            const bool ok = block_sparse_forward(s, nullptr);
            s.mask = nullptr;
            if (!ok) return false;
            if (rel_l2(sparse, dense) <= target) break;
            tau *= 0.5f;
            if (tau < kMinTau) tau = 0.0f;
        }
        tau_out[h] = tau;
    }
    return true;
}

}  // namespace attn4j::cpu
