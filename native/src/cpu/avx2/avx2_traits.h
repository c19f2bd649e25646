// Vector traits of AVX2 + FMA: 8 fp32 lanes, a 6x16 micro-kernel (12 accumulators of 16 ymm registers).
// Shared by every kernel file of this ISA; internal linkage, so each file has its own copy.
#pragma once

#include <immintrin.h>

#include <cstdint>

namespace attn4j::cpu {
namespace {

struct Avx2 {
    using V = __m256;
    static constexpr int W = 8;
    static constexpr int MR = 6;
    static constexpr int NV = 2;
    static constexpr int64_t BK = 64;
    static constexpr bool kBf16Dot = false;  // no bf16 dot product: bf16 is widened while packing

    static V zero() { return _mm256_setzero_ps(); }
    static V load(const float *p) { return _mm256_loadu_ps(p); }
    static void store(float *p, V v) { _mm256_storeu_ps(p, v); }
    static V set1(float x) { return _mm256_set1_ps(x); }
    static V fmadd(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
    static V add(V a, V b) { return _mm256_add_ps(a, b); }
    static V mul(V a, V b) { return _mm256_mul_ps(a, b); }
    static V max(V a, V b) { return _mm256_max_ps(a, b); }

    static V load_bf16(const uint16_t *p) {
        const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i *>(p));
        return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
    }

    static float hsum(V v) {
        __m128 x = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
        x = _mm_add_ps(x, _mm_movehl_ps(x, x));
        x = _mm_add_ss(x, _mm_movehdup_ps(x));
        return _mm_cvtss_f32(x);
    }

    static float hmax(V v) {
        __m128 x = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
        x = _mm_max_ps(x, _mm_movehl_ps(x, x));
        x = _mm_max_ss(x, _mm_movehdup_ps(x));
        return _mm_cvtss_f32(x);
    }

    // 2^t for t <= 0 (and -inf): 2^round(t) times the degree-6 Taylor polynomial of 2^f on the
    // remainder f in [-0.5, 0.5] (relative error < 1.3e-7); exactly 0 below 2^-126, so masked
    // scores vanish; NaN in, NaN out (a NaN score must reach the output, never turn into 0).
    static V exp2(V t) {
        const V t_in = t;
        const V lo = _mm256_set1_ps(-126.0f);
        const V keep = _mm256_cmp_ps(t, lo, _CMP_GE_OQ);
        t = _mm256_max_ps(t, lo);
        const V n = _mm256_round_ps(t, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        const V f = _mm256_sub_ps(t, n);
        V p = _mm256_set1_ps(1.5403530393381609e-04f);
        p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(1.3333558146428443e-03f));
        p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(9.6181291076284772e-03f));
        p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(5.5504108664821580e-02f));
        p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(2.4022650695910071e-01f));
        p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(6.9314718055994531e-01f));
        p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(1.0f));
        const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
        const V r = _mm256_and_ps(_mm256_mul_ps(p, _mm256_castsi256_ps(e)), keep);
        return _mm256_blendv_ps(r, t_in, _mm256_cmp_ps(t_in, t_in, _CMP_UNORD_Q));  // NaN stays NaN
    }
};

}  // namespace
}  // namespace attn4j::cpu
