// SALE's block estimate on AVX2: vpmaddubsw multiplies 32 unsigned query bytes (a broadcast group of
// four head-dim values) with 32 signed key bytes (eight keys x four values) into int16 pair sums
// (|sum| <= 2 * 15 * 7, so 128 groups, d = 512, still fit int16); vpmaddwd folds the pairs into one
// int32 per key at the end. Register tile: 4 query rows x 16 keys, 8 accumulators.
#include <immintrin.h>

#include <climits>

#include "cpu/sale/sale.h"
#include "cpu/sale/unpack_keys.h"

namespace attn4j::cpu {

namespace {

constexpr int kRows = 4;

int32_t hmax_epi32(__m256i v) {
    __m128i x = _mm_max_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    x = _mm_max_epi32(x, _mm_shuffle_epi32(x, _MM_SHUFFLE(1, 0, 3, 2)));
    x = _mm_max_epi32(x, _mm_shuffle_epi32(x, _MM_SHUFFLE(2, 3, 0, 1)));
    return _mm_cvtsi128_si32(x);
}

template <int R>
void tile(const uint8_t *qu, int64_t dp, const int8_t *kt, int64_t cols, const int32_t *corr, const int32_t *valid,
          int32_t *rowmax) {
    const __m256i ones = _mm256_set1_epi16(1), lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256i floor = _mm256_set1_epi32(INT32_MIN);
    __m256i best[R];
    for (int r = 0; r < R; ++r) best[r] = floor;
    for (int64_t c0 = 0; c0 < cols; c0 += 16) {
        __m256i acc[R][2];
        for (int r = 0; r < R; ++r) acc[r][0] = acc[r][1] = _mm256_setzero_si256();
        for (int64_t g = 0; g < dp / 4; ++g) {
            const int8_t *kg = kt + g * 4 * cols + 4 * c0;
            const __m256i k0 = _mm256_loadu_si256(reinterpret_cast<const __m256i *>(kg));
            const __m256i k1 = _mm256_loadu_si256(reinterpret_cast<const __m256i *>(kg + 32));
            for (int r = 0; r < R; ++r) {
                int32_t four;
                __builtin_memcpy(&four, qu + r * dp + 4 * g, 4);
                const __m256i qb = _mm256_set1_epi32(four);
                acc[r][0] = _mm256_add_epi16(acc[r][0], _mm256_maddubs_epi16(qb, k0));
                acc[r][1] = _mm256_add_epi16(acc[r][1], _mm256_maddubs_epi16(qb, k1));
            }
        }
        for (int h = 0; h < 2; ++h) {
            const __m256i cr = _mm256_loadu_si256(reinterpret_cast<const __m256i *>(corr + c0 + 8 * h));
            const __m256i idx = _mm256_add_epi32(lane, _mm256_set1_epi32(static_cast<int32_t>(c0 + 8 * h)));
            for (int r = 0; r < R; ++r) {
                const __m256i dot = _mm256_sub_epi32(_mm256_madd_epi16(acc[r][h], ones), cr);
                const __m256i seen = _mm256_cmpgt_epi32(_mm256_set1_epi32(valid[r]), idx);
                best[r] = _mm256_max_epi32(best[r], _mm256_blendv_epi8(floor, dot, seen));
            }
        }
    }
    for (int r = 0; r < R; ++r) rowmax[r] = hmax_epi32(best[r]);
}

}  // namespace

void sale_rowmax_avx2(const uint8_t *qu, int64_t rows, int64_t dp, const uint8_t *kpacked, int8_t *kt, int64_t cols,
                      const int32_t *corr, const int32_t *valid, int32_t *rowmax) {
    unpack_keys(kpacked, dp * cols / 2, kt);
    int64_t r = 0;
    for (; r + kRows <= rows; r += kRows) tile<kRows>(qu + r * dp, dp, kt, cols, corr, valid + r, rowmax + r);
    for (; r < rows; ++r) tile<1>(qu + r * dp, dp, kt, cols, corr, valid + r, rowmax + r);
}

}  // namespace attn4j::cpu
