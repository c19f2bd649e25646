// Register-blocked GEMM micro-kernels and tile packers shared by the SIMD kernels (FlashAttention,
// Lightning). T is an ISA's vector traits (width W, micro-kernel rows MR and vectors NV, load/store,
// fmadd, optional bf16 pair products). Included only by code compiled for that ISA; everything has
// internal linkage so no wide-ISA code leaks into baseline code.
#pragma once

#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "common/bf16.h"
#include "cpu/flash.h"

namespace attn4j::cpu {
namespace {

template <class T>
struct SimdKernels {
    using V = typename T::V;
    static constexpr int W = T::W;

    // C[M x N] = (accumulate ? c_scale C : 0) + A[M x K] B[K x N]; N a multiple of W; rows of A
    // broadcast element by element. c_scale lets a caller decay C in the same pass (Lightning's state).
    template <int MR, int NV>
    static inline void micro(int64_t K, const float *A, int64_t lda, const float *B, int64_t ldb, float *C,
                             int64_t ldc, bool accumulate, float c_scale = 1.0f) {
        V c[MR][NV];
        const V cs = T::set1(c_scale);
        for (int i = 0; i < MR; ++i)
            for (int v = 0; v < NV; ++v) c[i][v] = accumulate ? T::mul(T::load(C + i * ldc + v * W), cs) : T::zero();
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
                                  float *C, int64_t ldc, bool accumulate, float c_scale) {
        if constexpr (R >= 1) {
            if (rows == R) {
                micro<R, NV>(K, A, lda, B, ldb, C, ldc, accumulate, c_scale);
            } else {
                micro_rows<NV, R - 1>(rows, K, A, lda, B, ldb, C, ldc, accumulate, c_scale);
            }
        }
    }

    static void gemm(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda, const float *B, int64_t ldb,
                     float *C, int64_t ldc, bool accumulate, float c_scale = 1.0f) {
        int64_t j = 0;
        for (; j + T::NV * W <= N; j += T::NV * W)
            for (int64_t i = 0; i < M; i += T::MR)
                micro_rows<T::NV>(static_cast<int>(M - i < T::MR ? M - i : T::MR), K, A + i * lda, lda, B + j, ldb,
                                  C + i * ldc + j, ldc, accumulate, c_scale);
        for (; j < N; j += W)
            for (int64_t i = 0; i < M; i += T::MR)
                micro_rows<1>(static_cast<int>(M - i < T::MR ? M - i : T::MR), K, A + i * lda, lda, B + j, ldb,
                              C + i * ldc + j, ldc, accumulate, c_scale);
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

    // Kt2[k * ldk + c] = (K[c][2k], K[c][2k+1]): the transpose of K in units of pairs, zero past cols.
    static void pack_kt_pairs(const uint16_t *src, int64_t cols, int64_t cols_pad, int64_t d, int64_t rs, int64_t cs,
                              uint32_t *kt, int64_t ldk) {
        const int64_t dp = (d + 1) / 2, full = d / 2;  // pairs, and pairs with both halves inside the row
        int64_t c = 0;
        if (W >= 8 && cs == 1) {
            for (; c + 8 <= cols; c += 8) {
                int64_t k = 0;
                for (; k + 8 <= full; k += 8) {
                    if constexpr (W >= 8) {
                        __m256 r[8];
                        for (int i = 0; i < 8; ++i) r[i] = _mm256_loadu_ps(reinterpret_cast<const float *>(src + (c + i) * rs + 2 * k));
                        transpose8x8(r);
                        for (int i = 0; i < 8; ++i) _mm256_storeu_ps(reinterpret_cast<float *>(kt + (k + i) * ldk + c), r[i]);
                    }
                }
                for (; k < dp; ++k)
                    for (int i = 0; i < 8; ++i)
                        kt[k * ldk + c + i] = pair(src[(c + i) * rs + 2 * k], 2 * k + 1 < d ? src[(c + i) * rs + 2 * k + 1] : 0);
            }
        }
        for (; c < cols; ++c)
            for (int64_t k = 0; k < dp; ++k)
                kt[k * ldk + c] = pair(src[c * rs + 2 * k * cs], 2 * k + 1 < d ? src[c * rs + (2 * k + 1) * cs] : 0);
        for (int64_t k = 0; k < dp; ++k)
            for (int64_t x = cols; x < cols_pad; ++x) kt[k * ldk + x] = 0;
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

    // base + n elements of type t.
    static const void *advance(const void *base, DType t, int64_t n) {
        return static_cast<const char *>(base) + n * (t == DType::F32 ? 4 : 2);
    }
    static void *advance(void *base, DType t, int64_t n) {
        return static_cast<char *>(base) + n * (t == DType::F32 ? 4 : 2);
    }

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

    // Kt[e * ldk + c] = K[c][e] for c < cols, zero for c in [cols, cols_pad): 8x8 blocks through
    // registers (AVX2, which every SIMD kernel's ISA includes), scalar at the edges.
    static void pack_kt(const void *base, DType t, int64_t cols, int64_t cols_pad, int64_t d, int64_t rs, int64_t cs,
                        float *kt, int64_t ldk) {
        int64_t c = 0;
        if (W >= 8 && cs == 1) {
            for (; c + 8 <= cols; c += 8) {
                int64_t e = 0;
                for (; e + 8 <= d; e += 8) {
                    if constexpr (W >= 8) {
                        __m256 r[8];
                        for (int i = 0; i < 8; ++i) r[i] = load8(base, t, (c + i) * rs + e);
                        transpose8x8(r);
                        for (int i = 0; i < 8; ++i) _mm256_storeu_ps(kt + (e + i) * ldk + c, r[i]);
                    }
                }
                for (; e < d; ++e)
                    for (int i = 0; i < 8; ++i) kt[e * ldk + c + i] = load1(base, t, (c + i) * rs + e);
            }
        }
        for (; c < cols; ++c)
            for (int64_t e = 0; e < d; ++e) kt[e * ldk + c] = load1(base, t, c * rs + e * cs);
        for (int64_t e = 0; e < d; ++e)
            for (int64_t x = cols; x < cols_pad; ++x) kt[e * ldk + x] = 0.0f;
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

};

}  // namespace
}  // namespace attn4j::cpu
