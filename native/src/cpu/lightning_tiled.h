// Lightning Attention-2 forward, shared by every ISA's kernel (T = that ISA's vector traits).
//
// Per head, lambda = exp(-slope); o_i = sum_{j <= i} lambda^(i-j) (q_i . k_j) v_j, computed block by
// block (n tokens, local index i, j) with a d x dv state KV of all earlier tokens:
//   intra:  O  = [(Q K^T) * D] V,          D[i][j] = lambda^(i-j) for j <= i, else 0
//   inter:  O += diag(lambda^(i+1)) Q KV
//   update: KV = lambda^n KV + (diag(lambda^(n-1-j)) K)^T V
// Every power is exp(-slope * k) for an integer k <= n, computed directly: no cumulative product
// that could drift or underflow early, and slope 0 gives exact ones. The state handed in and out is
// KV after the last token, the same state the one-token recurrence KV = lambda KV + k^T v keeps.
// A task is one (batch, head) and a slice of the value columns, so small batches still fill cores.
#pragma once

#include <cmath>
#include <cstdint>

#include "common/thread_pool.h"
#include "cpu/lightning.h"
#include "cpu/scratch.h"
#include "cpu/simd_kernels.h"

namespace attn4j::cpu {
namespace {

template <class T>
struct LightningTiled {
    using G = SimdKernels<T>;
    using V = typename T::V;
    static constexpr int W = T::W;

    struct Task {
        const LightningProblem *p;
        int64_t chunks, chunk_cols;
    };

    static void run_task(void *ctx, int64_t t) {
        const Task &task = *static_cast<const Task *>(ctx);
        const LightningProblem &p = *task.p;
        const int64_t chunk = t % task.chunks, bh = t / task.chunks;
        const int64_t e0 = chunk * task.chunk_cols;
        const int64_t e1 = e0 + task.chunk_cols < p.dim_v ? e0 + task.chunk_cols : p.dim_v;
        if (e0 >= e1) return;
        if (p.num_seqs > 0) {
            const LightningProblem s = p.sequence(bh / p.heads_q);
            head(s, 0, bh % p.heads_q, e0, e1);
        } else {
            head(p, bh / p.heads_q, bh % p.heads_q, e0, e1);
        }
    }

    static void head(const LightningProblem &p, int64_t b, int64_t h, int64_t e0, int64_t e1) {
        const int64_t d = p.dim, n_max = p.block, ldk = G::round_up(n_max, W);
        const int64_t ew = e1 - e0, ewp = G::round_up(ew, W);
        const int64_t hk = h / (p.heads_q / p.heads_kv);
        const float slope = p.slope(h);

        float *q = thread_scratch(static_cast<size_t>(n_max * d + d * ldk + n_max * ldk + 2 * n_max * ewp + d * ewp + 2 * (n_max + 1)));
        float *kt = q + n_max * d;
        float *s = kt + d * ldk;
        float *vt = s + n_max * ldk;
        float *o = vt + n_max * ewp;
        float *pw = o + n_max * ewp;  // pw[k] = lambda^k, k = 0..n_max
        float *rv = pw + n_max + 1;   // rv[k] = pw[n_max - k]: decays read in increasing order vectorize
        for (int64_t k = 0; k <= n_max; ++k) pw[k] = std::exp(-slope * static_cast<float>(k));
        for (int64_t k = 0; k <= n_max; ++k) rv[k] = pw[n_max - k];

        // The state is worked on in place when it is updated in place with dense rows (decode);
        // otherwise in scratch, copied in and out.
        const bool in_place = p.state_in != nullptr && p.state_in == p.state_out && p.ssi[3] == 1 && ew == ewp &&
                              p.ssi[0] == p.sso[0] && p.ssi[1] == p.sso[1] && p.ssi[2] == p.sso[2];
        float *kv = in_place ? p.state_out + b * p.sso[0] + h * p.sso[1] + e0 : rv + n_max + 1;
        const int64_t ldkv = in_place ? p.sso[2] : ewp;
        if (!in_place)
            for (int64_t e = 0; e < d; ++e) {
                float *row = kv + e * ewp;
                for (int64_t c = 0; c < ewp; ++c) row[c] = 0.0f;
                if (p.state_in != nullptr) {
                    const float *src = p.state_in + b * p.ssi[0] + h * p.ssi[1] + e * p.ssi[2] + e0 * p.ssi[3];
                    for (int64_t c = 0; c < ew; ++c) row[c] = src[c * p.ssi[3]];
                }
            }

        const void *qbase = G::advance(p.q, p.in_dtype, b * p.sq[0] + h * p.sq[1]);
        const void *kbase = G::advance(p.k, p.in_dtype, b * p.sk[0] + hk * p.sk[1]);
        const void *vbase = G::advance(p.v, p.in_dtype, b * p.sv[0] + hk * p.sv[1] + e0 * p.sv[3]);
        for (int64_t t0 = 0; t0 < p.len; t0 += n_max) {
            const int64_t n = n_max < p.len - t0 ? n_max : p.len - t0, n_pad = G::round_up(n, W);
            G::pack_rows(G::advance(qbase, p.in_dtype, t0 * p.sq[2]), p.in_dtype, n, d, p.sq[2], p.sq[3], 1.0f, q, d);
            G::pack_kt(G::advance(kbase, p.in_dtype, t0 * p.sk[2]), p.in_dtype, n, n_pad, d, p.sk[2], p.sk[3], kt, ldk);
            G::pack_rows(G::advance(vbase, p.in_dtype, t0 * p.sv[2]), p.in_dtype, n, ew, p.sv[2], p.sv[3], 1.0f, vt, ewp);

            // intra: S = Q K^T, decayed and masked below the diagonal, then O = S V.
            G::gemm(n, n_pad, d, q, d, kt, ldk, s, ldk, false);
            for (int64_t i = 0; i < n; ++i) {
                float *si = s + i * ldk;
                const float *di = rv + (n_max - i);  // di[j] = lambda^(i-j)
                for (int64_t j = 0; j <= i; ++j) si[j] *= di[j];
                for (int64_t j = i + 1; j < n_pad; ++j) si[j] = 0.0f;
            }
            G::gemm(n, ewp, n, s, ldk, vt, ewp, o, ewp, false);

            // inter: O += diag(lambda^(i+1)) Q KV, with the decay folded into Q's rows.
            for (int64_t i = 0; i < n; ++i) {
                const V f = T::set1(pw[i + 1]);
                float *qi = q + i * d;
                int64_t e = 0;
                for (; e + W <= d; e += W) T::store(qi + e, T::mul(T::load(qi + e), f));
                for (; e < d; ++e) qi[e] *= pw[i + 1];
            }
            G::gemm(n, ewp, d, q, d, kv, ldkv, o, ewp, true);
            write_rows(p, b, h, t0, n, e0, ew, o, ewp);

            // update: KV = lambda^n KV + (K^T diag(lambda^(n-1-j))) V, KV decayed inside the product.
            for (int64_t e = 0; e < d; ++e) {
                float *ke = kt + e * ldk;
                const float *dj = rv + (n_max - n + 1);  // dj[j] = lambda^(n-1-j)
                for (int64_t j = 0; j < n; ++j) ke[j] *= dj[j];
            }
            G::gemm(d, ewp, n, kt, ldk, vt, ewp, kv, ldkv, true, pw[n]);
        }

        if (p.state_out != nullptr && !in_place)
            for (int64_t e = 0; e < d; ++e) {
                float *dst = p.state_out + b * p.sso[0] + h * p.sso[1] + e * p.sso[2] + e0 * p.sso[3];
                for (int64_t c = 0; c < ew; ++c) dst[c * p.sso[3]] = kv[e * ewp + c];
            }
    }

    static void write_rows(const LightningProblem &p, int64_t b, int64_t h, int64_t t0, int64_t n, int64_t e0,
                           int64_t ew, const float *o, int64_t ldo) {
        for (int64_t i = 0; i < n; ++i) {
            const int64_t base = b * p.so[0] + h * p.so[1] + (t0 + i) * p.so[2] + e0 * p.so[3];
            const float *oi = o + i * ldo;
            if (p.out_dtype == DType::F32) {
                float *dst = static_cast<float *>(p.out) + base;
                for (int64_t c = 0; c < ew; ++c) dst[c * p.so[3]] = oi[c];
            } else {
                uint16_t *dst = static_cast<uint16_t *>(p.out) + base;
                for (int64_t c = 0; c < ew; ++c) dst[c * p.so[3]] = f32_to_bf16(oi[c]);
            }
        }
    }

    // Heads first; when they cannot fill every thread twice, slices of the value columns too
    // (each slice recomputes Q K^T, so slices stay at least 4 vectors wide).
    static bool run(const LightningProblem &p) {
        const int64_t heads = p.entries() * p.heads_q;
        int64_t chunks = 1;
        if (heads < 2 * p.threads) {
            const int64_t most = p.dim_v / (4 * W) > 1 ? p.dim_v / (4 * W) : 1;
            chunks = (2 * p.threads + heads - 1) / heads;
            if (chunks > most) chunks = most;
        }
        const int64_t cols = G::round_up((p.dim_v + chunks - 1) / chunks, W);
        Task task{&p, (p.dim_v + cols - 1) / cols, cols};
        return parallel_for(heads * task.chunks, p.threads, &run_task, &task);
    }
};

}  // namespace
}  // namespace attn4j::cpu
