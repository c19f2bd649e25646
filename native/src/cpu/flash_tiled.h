// The tiled FlashAttention body shared by the SIMD kernels; each ISA's .cpp includes it with its own
// vector traits T (width, registers, exp2, transpose) and is compiled for that ISA. Everything here
// has internal linkage so no code built for a wide ISA leaks into baseline code.
//
// Per task: one query tile Qi (kFlashTileRows rows of one (batch, head)) against one key range.
//   Q' = scale * Qi                                   (packed once, fp32)
//   for each key tile j (T::BK keys, only those some row of the tile can see):
//     Kt = Kj^T packed, V = Vj packed (fp32, bf16 widened while packing)
//     S = Q' Kt                                        (register-blocked micro-kernel)
//     softcap, mask (only on tiles that straddle a mask edge)
//     m' = max(m, rowmax S);  P = exp2(log2e * (S - m'))
//     l = exp(m - m') l + rowsum P;  acc = exp(m - m') acc + P V;  m = m'
//   out = acc / l, lse = m + log l   (or m, l, acc to the partial buffer when keys are split)
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

#include "common/bf16.h"
#include "common/thread_pool.h"
#include "cpu/flash.h"
#include "cpu/scratch.h"

namespace attn4j::cpu {
namespace {

template <class T>
struct FlashTiled {
    using V = typename T::V;
    static constexpr int W = T::W;
    static constexpr int64_t BQ = kFlashTileRows;
    static constexpr int64_t BK = T::BK;
    static constexpr float kLog2e = 1.4426950408889634f;

    // C[M x N] (+)= A[M x K] B[K x N]; N a multiple of W; rows of A broadcast element by element.
    template <int MR, int NV>
    static inline void micro(int64_t K, const float *A, int64_t lda, const float *B, int64_t ldb, float *C,
                             int64_t ldc, bool accumulate) {
        V c[MR][NV];
        for (int i = 0; i < MR; ++i)
            for (int v = 0; v < NV; ++v) c[i][v] = accumulate ? T::load(C + i * ldc + v * W) : T::zero();
#pragma GCC unroll 4
        for (int64_t k = 0; k < K; ++k) {
            V b[NV];
            for (int v = 0; v < NV; ++v) b[v] = T::load(B + k * ldb + v * W);
            for (int i = 0; i < MR; ++i) {
                const V a = T::set1(A[i * lda + k]);
                for (int v = 0; v < NV; ++v) c[i][v] = T::fmadd(a, b[v], c[i][v]);
            }
        }
        for (int i = 0; i < MR; ++i)
            for (int v = 0; v < NV; ++v) T::store(C + i * ldc + v * W, c[i][v]);
    }

    template <int NV, int R = T::MR>
    static inline void micro_rows(int rows, int64_t K, const float *A, int64_t lda, const float *B, int64_t ldb,
                                  float *C, int64_t ldc, bool accumulate) {
        if constexpr (R >= 1) {
            if (rows == R) {
                micro<R, NV>(K, A, lda, B, ldb, C, ldc, accumulate);
            } else {
                micro_rows<NV, R - 1>(rows, K, A, lda, B, ldb, C, ldc, accumulate);
            }
        }
    }

    static void gemm(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda, const float *B, int64_t ldb,
                     float *C, int64_t ldc, bool accumulate) {
        int64_t j = 0;
        for (; j + T::NV * W <= N; j += T::NV * W)
            for (int64_t i = 0; i < M; i += T::MR)
                micro_rows<T::NV>(static_cast<int>(M - i < T::MR ? M - i : T::MR), K, A + i * lda, lda, B + j, ldb,
                                  C + i * ldc + j, ldc, accumulate);
        for (; j < N; j += W)
            for (int64_t i = 0; i < M; i += T::MR)
                micro_rows<1>(static_cast<int>(M - i < T::MR ? M - i : T::MR), K, A + i * lda, lda, B + j, ldb,
                              C + i * ldc + j, ldc, accumulate);
    }

    static int64_t round_up(int64_t x, int64_t m) { return (x + m - 1) / m * m; }

    static float load1(const void *base, DType t, int64_t off) {
        if (t == DType::BF16) return bf16_to_f32(static_cast<const uint16_t *>(base)[off]);
        return static_cast<const float *>(base)[off];
    }

    // W consecutive elements widened to fp32.
    static V load_vec(const void *base, DType t, int64_t off) {
        if (t == DType::F32) return T::load(static_cast<const float *>(base) + off);
        return T::load_bf16(static_cast<const uint16_t *>(base) + off);
    }

    // n consecutive elements (element stride 1) widened to fp32.
    static void load_row(const void *base, DType t, int64_t off, int64_t n, float *dst) {
        if (t == DType::F32) {
            std::memcpy(dst, static_cast<const float *>(base) + off, static_cast<size_t>(n) * sizeof(float));
        } else {
            const uint16_t *src = static_cast<const uint16_t *>(base) + off;
            int64_t e = 0;
            for (; e + W <= n; e += W) T::store(dst + e, T::load_bf16(src + e));
            for (; e < n; ++e) dst[e] = bf16_to_f32(src[e]);
        }
    }

    // rows x cols elements (row stride rs, element stride cs) into dst with row stride ld, times mul.
    static void pack_rows(const void *base, DType t, int64_t rows, int64_t cols, int64_t rs, int64_t cs, float mul,
                          float *dst, int64_t ld) {
        for (int64_t r = 0; r < rows; ++r) {
            float *d = dst + r * ld;
            if (cs == 1) {
                load_row(base, t, r * rs, cols, d);
            } else {
                for (int64_t c = 0; c < cols; ++c) d[c] = load1(base, t, r * rs + c * cs);
            }
            if (mul != 1.0f)
                for (int64_t c = 0; c < cols; ++c) d[c] *= mul;
            for (int64_t c = cols; c < ld; ++c) d[c] = 0.0f;
        }
    }

    // Kt[e * BK + c] = K[c][e] for c < cols, zero for c in [cols, cols_pad).
    static void pack_kt(const void *base, DType t, int64_t cols, int64_t cols_pad, int64_t d, int64_t rs, int64_t cs,
                        float *kt) {
        int64_t c = 0;
        if (cs == 1) {
            for (; c + W <= cols; c += W) {
                int64_t e = 0;
                for (; e + W <= d; e += W) {
                    V rows[W];
                    for (int i = 0; i < W; ++i) rows[i] = load_vec(base, t, (c + i) * rs + e);
                    T::transpose(rows);
                    for (int i = 0; i < W; ++i) T::store(kt + (e + i) * BK + c, rows[i]);
                }
                for (; e < d; ++e)
                    for (int i = 0; i < W; ++i) kt[e * BK + c + i] = load1(base, t, (c + i) * rs + e);
            }
        }
        for (; c < cols; ++c)
            for (int64_t e = 0; e < d; ++e) kt[e * BK + c] = load1(base, t, c * rs + e * cs);
        for (int64_t e = 0; e < d; ++e)
            for (int64_t x = cols; x < cols_pad; ++x) kt[e * BK + x] = 0.0f;
    }

    struct Task {
        const FlashProblem *p;
        const FlashPlan *plan;
        int64_t tiles;
    };

    static void run_task(void *ctx, int64_t t) {
        const Task &task = *static_cast<const Task *>(ctx);
        const FlashProblem &p = *task.p;
        const int64_t splits = task.plan->splits;
        const int64_t bh_count = p.batch * p.heads_q;
        // Largest tiles first (causal rows grow with the tile index), then heads, then key splits.
        const int64_t split = t % splits;
        const int64_t rest = t / splits;
        const int64_t bh = rest % bh_count;
        const int64_t tile = task.tiles - 1 - rest / bh_count;
        query_tile(p, *task.plan, bh / p.heads_q, bh % p.heads_q, tile * BQ, split);
    }

    static void query_tile(const FlashProblem &p, const FlashPlan &plan, int64_t b, int64_t hq, int64_t i0,
                           int64_t split) {
        const int64_t d = p.dim, dv = p.dim_v, dvp = round_up(dv, W);
        const int64_t hk = hq / (p.heads_q / p.heads_kv);
        const int64_t rows = BQ < p.len_q - i0 ? BQ : p.len_q - i0;
        const float neg_inf = -std::numeric_limits<float>::infinity();

        // Keys any row of this tile can see, cut to this task's share when keys are split.
        int64_t lo = p.key_lo(i0), hi = p.key_hi(i0 + rows - 1);
        if (plan.splits > 1) {
            const int64_t per = round_up((p.len_k + plan.splits - 1) / plan.splits, BK);
            lo = lo > split * per ? lo : split * per;
            hi = hi < (split + 1) * per ? hi : (split + 1) * per;
        }

        float *q = thread_scratch(static_cast<size_t>(BQ * d + d * BK + BK * dvp + BQ * BK + BQ * dvp + 2 * BQ));
        float *kt = q + BQ * d;
        float *vt = kt + d * BK;
        float *s = vt + BK * dvp;
        float *acc = s + BQ * BK;
        float *m = acc + BQ * dvp;
        float *l = m + BQ;

        const void *qbase = advance(p.q, p.in_dtype, b * p.sq[0] + hq * p.sq[1] + i0 * p.sq[2]);
        pack_rows(qbase, p.in_dtype, rows, d, p.sq[2], p.sq[3], p.scale, q, d);
        for (int64_t r = 0; r < rows; ++r) {
            m[r] = neg_inf;
            l[r] = 0.0f;
        }
        for (int64_t x = 0; x < rows * dvp; ++x) acc[x] = 0.0f;

        const void *kbase = advance(p.k, p.in_dtype, b * p.sk[0] + hk * p.sk[1]);
        const void *vbase = advance(p.v, p.in_dtype, b * p.sv[0] + hk * p.sv[1]);
        const bool v_in_place = p.in_dtype == DType::F32 && p.sv[3] == 1 && dv == dvp;
        for (int64_t j0 = lo; j0 < hi; j0 += BK) {
            const int64_t cols = BK < hi - j0 ? BK : hi - j0;
            const int64_t cols_pad = round_up(cols, W);
            pack_kt(advance(kbase, p.in_dtype, j0 * p.sk[2]), p.in_dtype, cols, cols_pad, d, p.sk[2], p.sk[3], kt);
            // fp32 V rows that are already dense vectors are read in place; others are packed.
            const float *vrows = vt;
            int64_t ldv = dvp;
            if (v_in_place) {
                vrows = static_cast<const float *>(vbase) + j0 * p.sv[2];
                ldv = p.sv[2];
            } else {
                pack_rows(advance(vbase, p.in_dtype, j0 * p.sv[2]), p.in_dtype, cols, dv, p.sv[2], p.sv[3], 1.0f, vt, dvp);
            }
            gemm(rows, cols_pad, d, q, d, kt, BK, s, BK, false);

            // Does any row of the tile see only part of [j0, j0 + cols_pad)?
            const bool edge = cols_pad != cols || p.key_lo(i0 + rows - 1) > j0 || p.key_hi(i0) < j0 + cols;
            for (int64_t r = 0; r < rows; ++r) {
                float *sr = s + r * BK;
                if (p.softcap > 0.0f)
                    for (int64_t c = 0; c < cols; ++c) sr[c] = p.softcap * std::tanh(sr[c] / p.softcap);
                if (edge) {
                    const int64_t rlo = p.key_lo(i0 + r) - j0, rhi = p.key_hi(i0 + r) - j0;
                    for (int64_t c = 0; c < cols_pad; ++c)
                        if (c < rlo || c >= rhi || c >= cols) sr[c] = neg_inf;
                }
                V vmax = T::set1(neg_inf);
                for (int64_t c = 0; c < cols_pad; c += W) vmax = T::max(vmax, T::load(sr + c));
                const float mx = T::hmax(vmax);
                if (mx == neg_inf) {  // this row sees nothing here: P = 0, state unchanged
                    for (int64_t c = 0; c < cols_pad; ++c) sr[c] = 0.0f;
                    continue;
                }
                const float m_new = m[r] > mx ? m[r] : mx;
                const float alpha = std::exp(m[r] - m_new);
                const V shift = T::set1(-m_new * kLog2e), l2e = T::set1(kLog2e);
                V vsum = T::zero();
                for (int64_t c = 0; c < cols_pad; c += W) {
                    const V e = T::exp2(T::fmadd(T::load(sr + c), l2e, shift));
                    T::store(sr + c, e);
                    vsum = T::add(vsum, e);
                }
                l[r] = alpha * l[r] + T::hsum(vsum);
                m[r] = m_new;
                if (alpha != 1.0f) {
                    const V a = T::set1(alpha);
                    float *ar = acc + r * dvp;
                    for (int64_t e = 0; e < dvp; e += W) T::store(ar + e, T::mul(T::load(ar + e), a));
                }
            }
            gemm(rows, dvp, cols, s, BK, vrows, ldv, acc, dvp, true);
        }

        if (plan.splits > 1) {
            for (int64_t r = 0; r < rows; ++r) {
                float *dst = plan.partial + (((b * p.heads_q + hq) * p.len_q + i0 + r) * plan.splits + split) * (2 + dv);
                dst[0] = m[r];
                dst[1] = l[r];
                std::memcpy(dst + 2, acc + r * dvp, static_cast<size_t>(dv) * sizeof(float));
            }
            return;
        }
        void *obase = advance(p.out, p.out_dtype, b * p.so[0] + hq * p.so[1] + i0 * p.so[2]);
        for (int64_t r = 0; r < rows; ++r) {
            const bool empty = l[r] == 0.0f;
            const float inv = empty ? 0.0f : 1.0f / l[r];
            const float *ar = acc + r * dvp;
            if (p.out_dtype == DType::F32) {
                float *o = static_cast<float *>(obase) + r * p.so[2];
                for (int64_t e = 0; e < dv; ++e) o[e * p.so[3]] = ar[e] * inv;
            } else {
                uint16_t *o = static_cast<uint16_t *>(obase) + r * p.so[2];
                for (int64_t e = 0; e < dv; ++e) o[e * p.so[3]] = f32_to_bf16(ar[e] * inv);
            }
            if (p.lse != nullptr)
                p.lse[b * p.sl[0] + hq * p.sl[1] + (i0 + r) * p.sl[2]] = empty ? neg_inf : m[r] + std::log(l[r]);
        }
    }

    static const void *advance(const void *base, DType t, int64_t n) {
        return static_cast<const char *>(base) + n * (t == DType::F32 ? 4 : 2);
    }
    static void *advance(void *base, DType t, int64_t n) {
        return static_cast<char *>(base) + n * (t == DType::F32 ? 4 : 2);
    }

    static bool run(const FlashProblem &p, const FlashPlan &plan) {
        Task task{&p, &plan, (p.len_q + BQ - 1) / BQ};
        const int64_t tasks = task.tiles * p.batch * p.heads_q * plan.splits;
        return parallel_for(tasks, p.threads, &run_task, &task);
    }
};

}  // namespace
}  // namespace attn4j::cpu
