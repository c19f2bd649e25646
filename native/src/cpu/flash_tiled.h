// The tiled FlashAttention body shared by the SIMD kernels; each ISA's .cpp includes it with its own
// vector traits T (width, registers, exp2) and is compiled for that ISA. Everything here
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

#include <immintrin.h>

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

    // The same on bf16 pairs: C[M x N] (+)= sum over K pairs of A2[i][k] . B2[k][j], each entry a
    // uint32 holding two bf16 (lower = even index), fp32 accumulation (T::dot2, e.g. vdpbf16ps).
    template <int MR, int NV>
    static inline void micro_pairs(int64_t K, const uint32_t *A, int64_t lda, const uint32_t *B, int64_t ldb,
                                   float *C, int64_t ldc, bool accumulate) {
        V c[MR][NV];
        for (int i = 0; i < MR; ++i)
            for (int v = 0; v < NV; ++v) c[i][v] = accumulate ? T::load(C + i * ldc + v * W) : T::zero();
#pragma GCC unroll 4
        for (int64_t k = 0; k < K; ++k) {
            typename T::VB b[NV];
            for (int v = 0; v < NV; ++v) b[v] = T::load_pairs(B + k * ldb + v * W);
            for (int i = 0; i < MR; ++i) {
                const typename T::VB a = T::broadcast_pair(A[i * lda + k]);
                for (int v = 0; v < NV; ++v) c[i][v] = T::dot2(c[i][v], a, b[v]);
            }
        }
        for (int i = 0; i < MR; ++i)
            for (int v = 0; v < NV; ++v) T::store(C + i * ldc + v * W, c[i][v]);
    }

    template <int NV, int R = T::MR>
    static inline void micro_pairs_rows(int rows, int64_t K, const uint32_t *A, int64_t lda, const uint32_t *B,
                                        int64_t ldb, float *C, int64_t ldc, bool accumulate) {
        if constexpr (R >= 1) {
            if (rows == R) {
                micro_pairs<R, NV>(K, A, lda, B, ldb, C, ldc, accumulate);
            } else {
                micro_pairs_rows<NV, R - 1>(rows, K, A, lda, B, ldb, C, ldc, accumulate);
            }
        }
    }

    static void gemm_pairs(int64_t M, int64_t N, int64_t K, const uint32_t *A, int64_t lda, const uint32_t *B,
                           int64_t ldb, float *C, int64_t ldc, bool accumulate) {
        if constexpr (T::kBf16Dot) {
            int64_t j = 0;
            for (; j + T::NV * W <= N; j += T::NV * W)
                for (int64_t i = 0; i < M; i += T::MR)
                    micro_pairs_rows<T::NV>(static_cast<int>(M - i < T::MR ? M - i : T::MR), K, A + i * lda, lda,
                                            B + j, ldb, C + i * ldc + j, ldc, accumulate);
            for (; j < N; j += W)
                for (int64_t i = 0; i < M; i += T::MR)
                    micro_pairs_rows<1>(static_cast<int>(M - i < T::MR ? M - i : T::MR), K, A + i * lda, lda, B + j,
                                        ldb, C + i * ldc + j, ldc, accumulate);
        }
    }

    static uint32_t pair(uint16_t lo, uint16_t hi) { return static_cast<uint32_t>(lo) | static_cast<uint32_t>(hi) << 16; }

    // Q rows as bf16 pairs [rows][dp], zero-padded when d is odd.
    static void pack_pairs(const uint16_t *src, int64_t rows, int64_t d, int64_t rs, int64_t cs, uint32_t *dst,
                           int64_t dp) {
        for (int64_t r = 0; r < rows; ++r)
            for (int64_t k = 0; k < dp; ++k) {
                const uint16_t a = src[r * rs + 2 * k * cs];
                const uint16_t b = 2 * k + 1 < d ? src[r * rs + (2 * k + 1) * cs] : 0;
                dst[r * dp + k] = pair(a, b);
            }
    }

    // Kt2[k * BK + c] = (K[c][2k], K[c][2k+1]): the transpose of K in units of pairs, zero past cols.
    static void pack_kt_pairs(const uint16_t *src, int64_t cols, int64_t cols_pad, int64_t d, int64_t rs, int64_t cs,
                              uint32_t *kt) {
        const int64_t dp = (d + 1) / 2, full = d / 2;  // pairs, and pairs with both halves inside the row
        int64_t c = 0;
        if (cs == 1) {
            for (; c + 8 <= cols; c += 8) {
                int64_t k = 0;
                for (; k + 8 <= full; k += 8) {
                    __m256 r[8];
                    for (int i = 0; i < 8; ++i) r[i] = _mm256_loadu_ps(reinterpret_cast<const float *>(src + (c + i) * rs + 2 * k));
                    transpose8x8(r);
                    for (int i = 0; i < 8; ++i) _mm256_storeu_ps(reinterpret_cast<float *>(kt + (k + i) * BK + c), r[i]);
                }
                for (; k < dp; ++k)
                    for (int i = 0; i < 8; ++i)
                        kt[k * BK + c + i] = pair(src[(c + i) * rs + 2 * k], 2 * k + 1 < d ? src[(c + i) * rs + 2 * k + 1] : 0);
            }
        }
        for (; c < cols; ++c)
            for (int64_t k = 0; k < dp; ++k)
                kt[k * BK + c] = pair(src[c * rs + 2 * k * cs], 2 * k + 1 < d ? src[c * rs + (2 * k + 1) * cs] : 0);
        for (int64_t k = 0; k < dp; ++k)
            for (int64_t x = cols; x < cols_pad; ++x) kt[k * BK + x] = 0;
    }

    // V2[k][j] = (V[2k][j], V[2k+1][j]) for j < dvp (zero past dv and past the last row).
    static void pack_v_pairs(const uint16_t *src, int64_t cols, int64_t dv, int64_t dvp, int64_t rs, int64_t cs,
                             uint32_t *vt) {
        for (int64_t k = 0; 2 * k < cols; ++k) {
            const uint16_t *r0 = src + 2 * k * rs, *r1 = 2 * k + 1 < cols ? r0 + rs : nullptr;
            uint32_t *dst = vt + k * dvp;
            int64_t j = 0;
            if constexpr (T::kBf16Dot) {
                if (cs == 1 && r1 != nullptr) j = T::interleave_rows(r0, r1, dv, dst);
            }
            for (; j < dv; ++j) dst[j] = pair(r0[j * cs], r1 != nullptr ? r1[j * cs] : 0);
            for (; j < dvp; ++j) dst[j] = 0;
        }
    }

    // A row of P (n floats, n a multiple of W) rounded to bf16 in place order, i.e. as pairs.
    static void to_pairs(const float *src, int64_t n, uint32_t *dst) {
        if constexpr (T::kBf16Dot) T::to_bf16_pairs(src, n, dst);
    }

    static int64_t round_up(int64_t x, int64_t m) { return (x + m - 1) / m * m; }

    static float load1(const void *base, DType t, int64_t off) {
        if (t == DType::BF16) return bf16_to_f32(static_cast<const uint16_t *>(base)[off]);
        return static_cast<const float *>(base)[off];
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

    // Kt[e * BK + c] = K[c][e] for c < cols, zero for c in [cols, cols_pad): 8x8 blocks through
    // registers (AVX2, which every SIMD kernel's ISA includes), scalar at the edges.
    static void pack_kt(const void *base, DType t, int64_t cols, int64_t cols_pad, int64_t d, int64_t rs, int64_t cs,
                        float *kt) {
        int64_t c = 0;
        if (cs == 1) {
            for (; c + 8 <= cols; c += 8) {
                int64_t e = 0;
                for (; e + 8 <= d; e += 8) {
                    __m256 r[8];
                    for (int i = 0; i < 8; ++i) r[i] = load8(base, t, (c + i) * rs + e);
                    transpose8x8(r);
                    for (int i = 0; i < 8; ++i) _mm256_storeu_ps(kt + (e + i) * BK + c, r[i]);
                }
                for (; e < d; ++e)
                    for (int i = 0; i < 8; ++i) kt[e * BK + c + i] = load1(base, t, (c + i) * rs + e);
            }
        }
        for (; c < cols; ++c)
            for (int64_t e = 0; e < d; ++e) kt[e * BK + c] = load1(base, t, c * rs + e * cs);
        for (int64_t e = 0; e < d; ++e)
            for (int64_t x = cols; x < cols_pad; ++x) kt[e * BK + x] = 0.0f;
    }

    static __m256 load8(const void *base, DType t, int64_t off) {
        if (t == DType::F32) return _mm256_loadu_ps(static_cast<const float *>(base) + off);
        const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i *>(static_cast<const uint16_t *>(base) + off));
        return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
    }

    // In-place transpose of an 8x8 block held in 8 registers.
    static void transpose8x8(__m256 r[8]) {
        const __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
        const __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
        const __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
        const __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
        const __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
        const __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
        const __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
        const __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
        r[0] = _mm256_permute2f128_ps(u0, u4, 0x20);
        r[1] = _mm256_permute2f128_ps(u1, u5, 0x20);
        r[2] = _mm256_permute2f128_ps(u2, u6, 0x20);
        r[3] = _mm256_permute2f128_ps(u3, u7, 0x20);
        r[4] = _mm256_permute2f128_ps(u0, u4, 0x31);
        r[5] = _mm256_permute2f128_ps(u1, u5, 0x31);
        r[6] = _mm256_permute2f128_ps(u2, u6, 0x31);
        r[7] = _mm256_permute2f128_ps(u3, u7, 0x31);
    }

    // Asks for the next key tile's K and V rows while this one computes: they come from L3 or
    // memory, and the transposing loads would otherwise wait on each miss.
    static void prefetch_tile(const FlashProblem &p, const void *kbase, const void *vbase, int64_t j0, int64_t hi) {
        const int64_t cols = BK < hi - j0 ? BK : hi - j0;
        const int64_t es = p.in_dtype == DType::F32 ? 4 : 2;
        for (int64_t c = 0; c < cols; ++c) {
            const char *kr = static_cast<const char *>(kbase) + (j0 + c) * p.sk[2] * es;
            const char *vr = static_cast<const char *>(vbase) + (j0 + c) * p.sv[2] * es;
            for (int64_t x = 0; x < p.dim * p.sk[3] * es; x += 64) __builtin_prefetch(kr + x);
            for (int64_t x = 0; x < p.dim_v * p.sv[3] * es; x += 64) __builtin_prefetch(vr + x);
        }
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
        // bf16 storage on an ISA with a bf16 dot product: both products run on bf16 pairs.
        const bool pairs = T::kBf16Dot && plan.bf16_dot && p.in_dtype == DType::BF16;
        const int64_t dp = (d + 1) / 2;  // pairs along the head dim

        // Keys any row of this tile can see, cut to this task's share when keys are split.
        int64_t lo = p.key_lo(i0), hi = p.key_hi(i0 + rows - 1);
        if (plan.splits > 1) {
            const int64_t per = round_up((p.len_k + plan.splits - 1) / plan.splits, BK);
            lo = lo > split * per ? lo : split * per;
            hi = hi < (split + 1) * per ? hi : (split + 1) * per;
        }

        float *q = thread_scratch(static_cast<size_t>(BQ * d + d * BK + BK * dvp + BQ * BK + BQ * dvp + 2 * BQ + BQ * BK / 2));
        float *kt = q + BQ * d;
        float *vt = kt + d * BK;
        float *s = vt + BK * dvp;
        float *acc = s + BQ * BK;
        float *m = acc + BQ * dvp;
        float *l = m + BQ;
        uint32_t *p16 = reinterpret_cast<uint32_t *>(l + BQ);  // P as bf16 pairs [BQ][BK / 2]
        uint32_t *q16 = reinterpret_cast<uint32_t *>(q), *kt16 = reinterpret_cast<uint32_t *>(kt);
        uint32_t *vt16 = reinterpret_cast<uint32_t *>(vt);

        const void *qbase = advance(p.q, p.in_dtype, b * p.sq[0] + hq * p.sq[1] + i0 * p.sq[2]);
        if (pairs) {
            pack_pairs(static_cast<const uint16_t *>(qbase), rows, d, p.sq[2], p.sq[3], q16, dp);
        } else {
            pack_rows(qbase, p.in_dtype, rows, d, p.sq[2], p.sq[3], p.scale, q, d);
        }
        // The fp32 path folds the scale into Q; the bf16 path keeps Q exact and scales the scores.
        const float score_scale = pairs ? p.scale : 1.0f;
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
            const void *ktile = advance(kbase, p.in_dtype, j0 * p.sk[2]);
            const void *vtile = advance(vbase, p.in_dtype, j0 * p.sv[2]);
            prefetch_tile(p, kbase, vbase, j0 + BK, hi);
            if (pairs) {
                pack_kt_pairs(static_cast<const uint16_t *>(ktile), cols, cols_pad, d, p.sk[2], p.sk[3], kt16);
                gemm_pairs(rows, cols_pad, dp, q16, dp, kt16, BK, s, BK, false);
            } else {
                pack_kt(ktile, p.in_dtype, cols, cols_pad, d, p.sk[2], p.sk[3], kt);
                gemm(rows, cols_pad, d, q, d, kt, BK, s, BK, false);
            }

            // Does any row of the tile see only part of [j0, j0 + cols_pad)?
            const bool edge = cols_pad != cols || p.key_lo(i0 + rows - 1) > j0 || p.key_hi(i0) < j0 + cols;
            for (int64_t r = 0; r < rows; ++r) {
                float *sr = s + r * BK;
                if (score_scale != 1.0f) {
                    const V sc = T::set1(score_scale);
                    for (int64_t c = 0; c < cols_pad; c += W) T::store(sr + c, T::mul(T::load(sr + c), sc));
                }
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
                    if (pairs) to_pairs(sr, cols_pad, p16 + r * (BK / 2));
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
                if (pairs) to_pairs(sr, cols_pad, p16 + r * (BK / 2));
                l[r] = alpha * l[r] + T::hsum(vsum);
                m[r] = m_new;
                if (alpha != 1.0f) {
                    const V a = T::set1(alpha);
                    float *ar = acc + r * dvp;
                    for (int64_t e = 0; e < dvp; e += W) T::store(ar + e, T::mul(T::load(ar + e), a));
                }
            }
            if (pairs) {
                const int64_t cp = (cols + 1) / 2;
                pack_v_pairs(static_cast<const uint16_t *>(vtile), cols, dv, dvp, p.sv[2], p.sv[3], vt16);
                gemm_pairs(rows, dvp, cp, p16, BK / 2, vt16, dvp, acc, dvp, true);
            } else if (v_in_place) {
                // fp32 V rows that are already dense vectors are read where they are.
                gemm(rows, dvp, cols, s, BK, static_cast<const float *>(vtile), p.sv[2], acc, dvp, true);
            } else {
                pack_rows(vtile, p.in_dtype, cols, dv, p.sv[2], p.sv[3], 1.0f, vt, dvp);
                gemm(rows, dvp, cols, s, BK, vt, dvp, acc, dvp, true);
            }
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
