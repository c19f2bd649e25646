// Vector traits of AVX-512 (F, BW, DQ, VL): 16 fp32 lanes, a 12x32 micro-kernel (24 accumulators of 32 zmm
// registers), and bf16 pair products (AVX512_BF16) for the optional vdpbf16ps path.
// Shared by every kernel file of this ISA; internal linkage, so each file has its own copy.
#pragma once

#include <immintrin.h>

#include <cstdint>

namespace attn4j::cpu {
namespace {

struct Avx512 {
    using V = __m512;
    static constexpr int W = 16;
    static constexpr int MR = 12;
    static constexpr int NV = 2;
    static constexpr int64_t BK = 64;
    static constexpr bool kBf16Dot = true;  // vdpbf16ps: bf16 storage multiplies as bf16 pairs
    using VB = __m512bh;

    static V zero() { return _mm512_setzero_ps(); }
    static V load(const float *p) { return _mm512_loadu_ps(p); }
    static void store(float *p, V v) { _mm512_storeu_ps(p, v); }
    static V set1(float x) { return _mm512_set1_ps(x); }
    static V fmadd(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
    static V add(V a, V b) { return _mm512_add_ps(a, b); }
    static V mul(V a, V b) { return _mm512_mul_ps(a, b); }
    static V max(V a, V b) { return _mm512_max_ps(a, b); }
    static float hsum(V v) { return _mm512_reduce_add_ps(v); }
    static float hmax(V v) { return _mm512_reduce_max_ps(v); }

    static VB load_pairs(const uint32_t *p) { return (VB)_mm512_loadu_si512(p); }
    static VB broadcast_pair(uint32_t x) { return (VB)_mm512_set1_epi32(static_cast<int>(x)); }
    static V dot2(V acc, VB a, VB b) { return _mm512_dpbf16_ps(acc, a, b); }

    // n (a multiple of 16) floats to bf16, round to nearest even, in order.
    static void to_bf16_pairs(const float *src, int64_t n, uint32_t *dst) {
        for (int64_t c = 0; c < n; c += 32) {
            if (c + 32 <= n) {
                const __m512bh h = _mm512_cvtne2ps_pbh(_mm512_loadu_ps(src + c + 16), _mm512_loadu_ps(src + c));
                _mm512_storeu_si512(dst + c / 2, (__m512i)h);
            } else {
                const __m256bh h = _mm512_cvtneps_pbh(_mm512_loadu_ps(src + c));
                _mm256_storeu_si256(reinterpret_cast<__m256i *>(dst + c / 2), (__m256i)h);
            }
        }
    }

    // dst[j] = (r0[j], r1[j]) as bf16 pairs for whole blocks of 16; returns how many were done.
    static int64_t interleave_rows(const uint16_t *r0, const uint16_t *r1, int64_t n, uint32_t *dst) {
        int64_t j = 0;
        for (; j + 16 <= n; j += 16) {
            const __m512i a = _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i *>(r0 + j)));
            const __m512i b = _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i *>(r1 + j)));
            _mm512_storeu_si512(dst + j, _mm512_or_si512(a, _mm512_slli_epi32(b, 16)));
        }
        return j;
    }

    static V load_bf16(const uint16_t *p) {
        const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i *>(p));
        return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
    }

    // 2^t for t <= 0 (and -inf), as in the AVX2 kernel: degree-6 Taylor polynomial of 2^f on
    // f in [-0.5, 0.5] scaled by 2^round(t); exactly 0 below 2^-126.
    static V exp2(V t) {
        const V t_in = t;
        const V lo = _mm512_set1_ps(-126.0f);
        const __mmask16 keep = _mm512_cmp_ps_mask(t, lo, _CMP_GE_OQ);
        t = _mm512_max_ps(t, lo);
        const V n = _mm512_roundscale_ps(t, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        const V f = _mm512_sub_ps(t, n);
        V p = _mm512_set1_ps(1.5403530393381609e-04f);
        p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.3333558146428443e-03f));
        p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(9.6181291076284772e-03f));
        p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(5.5504108664821580e-02f));
        p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(2.4022650695910071e-01f));
        p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(6.9314718055994531e-01f));
        p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.0f));
        const V r = _mm512_maskz_mov_ps(keep, _mm512_scalef_ps(p, n));
        return _mm512_mask_mov_ps(r, _mm512_cmp_ps_mask(t_in, t_in, _CMP_UNORD_Q), t_in);  // NaN stays NaN
    }
};

}  // namespace
}  // namespace attn4j::cpu
