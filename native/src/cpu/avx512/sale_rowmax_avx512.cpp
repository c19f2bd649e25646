// SALE's block estimate on AVX-512: with VNNI, vpdpbusd multiplies 64 unsigned query bytes (a broadcast
// group of four head-dim values) with 64 signed key bytes (sixteen keys x four values) and adds the
// four products of each key straight into int32; without VNNI, vpmaddubsw + int16 sums as on AVX2.
// Register tile: 4 query rows x 32 keys.
#include <immintrin.h>

#include <climits>

#include "cpu/sale/sale.h"
#include "cpu/sale/unpack_keys.h"

namespace attn4j::cpu {

namespace {

constexpr int kRows = 4;

template <int R, bool Vnni>
void tile(const uint8_t *qu, int64_t dp, const int8_t *kt, int64_t cols, const int32_t *corr, const int32_t *valid,
          int32_t *rowmax) {
    const __m512i ones = _mm512_set1_epi16(1), lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    const __m512i floor = _mm512_set1_epi32(INT32_MIN);
    __m512i best[R];
    for (int r = 0; r < R; ++r) best[r] = floor;
    for (int64_t c0 = 0; c0 < cols; c0 += 32) {
        const int halves = cols - c0 >= 32 ? 2 : 1;  // cols is a multiple of 16
        __m512i acc[R][2];
        for (int r = 0; r < R; ++r) acc[r][0] = acc[r][1] = _mm512_setzero_si512();
        for (int64_t g = 0; g < dp / 4; ++g) {
            const int8_t *kg = kt + g * 4 * cols + 4 * c0;
            const __m512i k0 = _mm512_loadu_si512(kg);
            const __m512i k1 = halves == 2 ? _mm512_loadu_si512(kg + 64) : _mm512_setzero_si512();
            for (int r = 0; r < R; ++r) {
                int32_t four;
                __builtin_memcpy(&four, qu + r * dp + 4 * g, 4);
                const __m512i qb = _mm512_set1_epi32(four);
                if constexpr (Vnni) {
                    acc[r][0] = _mm512_dpbusd_epi32(acc[r][0], qb, k0);
                    acc[r][1] = _mm512_dpbusd_epi32(acc[r][1], qb, k1);
                } else {
                    acc[r][0] = _mm512_add_epi16(acc[r][0], _mm512_maddubs_epi16(qb, k0));
                    acc[r][1] = _mm512_add_epi16(acc[r][1], _mm512_maddubs_epi16(qb, k1));
                }
            }
        }
        for (int h = 0; h < halves; ++h) {
            const __m512i cr = _mm512_loadu_si512(corr + c0 + 16 * h);
            const __m512i idx = _mm512_add_epi32(lane, _mm512_set1_epi32(static_cast<int32_t>(c0 + 16 * h)));
            for (int r = 0; r < R; ++r) {
                const __m512i sum = Vnni ? acc[r][h] : _mm512_madd_epi16(acc[r][h], ones);
                const __mmask16 seen = _mm512_cmpgt_epi32_mask(_mm512_set1_epi32(valid[r]), idx);
                best[r] = _mm512_mask_max_epi32(best[r], seen, best[r], _mm512_sub_epi32(sum, cr));
            }
        }
    }
    for (int r = 0; r < R; ++r) rowmax[r] = _mm512_reduce_max_epi32(best[r]);
}

template <bool Vnni>
void rowmax_all(const uint8_t *qu, int64_t rows, int64_t dp, const int8_t *kt, int64_t cols, const int32_t *corr,
                const int32_t *valid, int32_t *rowmax) {
    int64_t r = 0;
    for (; r + kRows <= rows; r += kRows) tile<kRows, Vnni>(qu + r * dp, dp, kt, cols, corr, valid + r, rowmax + r);
    for (; r < rows; ++r) tile<1, Vnni>(qu + r * dp, dp, kt, cols, corr, valid + r, rowmax + r);
}

}  // namespace

void sale_rowmax_avx512(const uint8_t *qu, int64_t rows, int64_t dp, const uint8_t *kpacked, int8_t *kt, int64_t cols,
                        const int32_t *corr, const int32_t *valid, int32_t *rowmax) {
    unpack_keys(kpacked, dp * cols / 2, kt);
    static const bool vnni = __builtin_cpu_supports("avx512vnni") != 0;
    if (vnni) rowmax_all<true>(qu, rows, dp, kt, cols, corr, valid, rowmax);
    else rowmax_all<false>(qu, rows, dp, kt, cols, corr, valid, rowmax);
}

}  // namespace attn4j::cpu
