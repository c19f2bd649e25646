// Portable FlashAttention forward, the baseline every ISA kernel is measured against.
//
// For a query tile Qi and each visible key tile Kj, Vj (online softmax, no N x N buffer):
//   S = scale * Qi Kj^T; softcap: S = c * tanh(S / c); masked entries = -inf
//   m' = max(m, rowmax S);  P = exp(S - m')
//   l  = exp(m - m') l + rowsum P;  acc = exp(m - m') acc + P Vj;  m = m'
//   O  = acc / l;  LSE = m + log l   (rows with no visible key: O = 0, LSE = -inf)
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "common/thread_pool.h"
#include "cpu/element.h"
#include "cpu/flash.h"

namespace attn4j::cpu {

namespace {

constexpr int64_t kTileQ = 16;
constexpr int64_t kTileK = 64;

struct Scratch {
    std::vector<float> q, k, v, s, acc, m, l;
    void reserve(int64_t rows, int64_t d, int64_t dv) {
        q.resize(rows * d);
        k.resize(kTileK * d);
        v.resize(kTileK * dv);
        s.resize(kTileK);
        acc.resize(rows * dv);
        m.resize(rows);
        l.resize(rows);
    }
};

void query_tile(const FlashProblem &p, int64_t b, int64_t hq, int64_t i0, Scratch &w) {
    const int64_t d = p.dim, dv = p.dim_v;
    const int64_t hk = hq / (p.heads_q / p.heads_kv);
    const int64_t rows = std::min(tile_rows(p, kTileQ), p.len_q - i0);
    const float neg_inf = -std::numeric_limits<float>::infinity();

    load_tile(advance(p.q, p.in_dtype, b * p.sq[0] + hq * p.sq[1] + i0 * p.sq[2]), p.in_dtype, rows, d,
              p.sq[2], p.sq[3], w.q.data());
    std::fill(w.acc.begin(), w.acc.begin() + rows * dv, 0.0f);
    std::fill(w.m.begin(), w.m.begin() + rows, neg_inf);
    std::fill(w.l.begin(), w.l.begin() + rows, 0.0f);

    const int64_t lo = p.key_lo(i0), hi = p.key_hi(i0 + rows - 1);
    for_each_key_tile(p, b, hq, i0, lo, hi, kTileK, [&](int64_t j0, int64_t j1) {
        const int64_t cols = j1 - j0;
        load_tile(advance(p.k, p.in_dtype, p.key_offset(p.sk, b, hk, j0)), p.in_dtype, cols, d, p.sk[2], p.sk[3], w.k.data());
        load_tile(advance(p.v, p.in_dtype, p.key_offset(p.sv, b, hk, j0)), p.in_dtype, cols, dv, p.sv[2], p.sv[3], w.v.data());
        for (int64_t r = 0; r < rows; ++r) {
            const int64_t rlo = p.key_lo(i0 + r), rhi = p.key_hi(i0 + r);
            const float *qr = &w.q[r * d];
            float mx = neg_inf;
            for (int64_t c = 0; c < cols; ++c) {
                const int64_t j = j0 + c;
                if (j < rlo || j >= rhi) {
                    w.s[c] = neg_inf;
                    continue;
                }
                const float *kc = &w.k[c * d];
                float dot = 0.0f;
                for (int64_t e = 0; e < d; ++e) dot += qr[e] * kc[e];
                float s = dot * p.scale;
                if (p.softcap > 0.0f) s = p.softcap * std::tanh(s / p.softcap);
                w.s[c] = s;
                if (!(s <= mx)) mx = s;  // NaN wins, so it reaches the output
            }
            if (mx == neg_inf) continue;  // nothing visible for this row in this tile
            const float m_new = std::isnan(mx) || mx > w.m[r] ? mx : w.m[r];
            const float alpha = std::exp(w.m[r] - m_new);
            float sum = 0.0f;
            float *acc = &w.acc[r * dv];
            for (int64_t e = 0; e < dv; ++e) acc[e] *= alpha;
            for (int64_t c = 0; c < cols; ++c) {
                const float pc = std::exp(w.s[c] - m_new);
                sum += pc;
                const float *vc = &w.v[c * dv];
                for (int64_t e = 0; e < dv; ++e) acc[e] += pc * vc[e];
            }
            w.l[r] = alpha * w.l[r] + sum;
            w.m[r] = m_new;
        }
    });

    void *obase = advance(p.out, p.out_dtype, b * p.so[0] + hq * p.so[1] + i0 * p.so[2]);
    for (int64_t r = 0; r < rows; ++r) {
        const float l = p.hidden_infinity(i0 + r, w.l[r]) ? std::numeric_limits<float>::quiet_NaN() : w.l[r];
        const bool empty = l == 0.0f;
        const float inv = empty ? 0.0f : 1.0f / l;
        for (int64_t e = 0; e < dv; ++e)
            store_element(obase, p.out_dtype, r * p.so[2] + e * p.so[3], w.acc[r * dv + e] * inv);
        if (p.lse != nullptr)
            p.lse[b * p.sl[0] + hq * p.sl[1] + (i0 + r) * p.sl[2]] = empty ? neg_inf : w.m[r] + std::log(l);
    }
}

}  // namespace

bool flash_forward_scalar(const FlashProblem &p) {
    const int64_t tq = tile_rows(p, kTileQ);
    const int64_t tiles = (p.len_q + tq - 1) / tq;
    const int64_t tasks = p.batch * p.heads_q * tiles;
    return parallel_for(tasks, p.threads, [&](int64_t t) {
        thread_local Scratch w;
        w.reserve(tq, p.dim, p.dim_v);
        const int64_t id = p.mask != nullptr && p.mask->order != nullptr ? p.mask->order[t] : t;
        const int64_t tile = id % tiles, bh = id / tiles;
        query_tile(p, bh / p.heads_q, bh % p.heads_q, tile * tq, w);
    });
}

}  // namespace attn4j::cpu
