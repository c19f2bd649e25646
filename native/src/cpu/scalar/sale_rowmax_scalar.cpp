// SALE's block estimate, portable: integer dot products of unsigned query bytes with signed key
// bytes, minus each key's offset correction, maximized over each row's visible keys.
#include <climits>

#include "cpu/sale/sale.h"

namespace attn4j::cpu {

void sale_rowmax_scalar(const uint8_t *qu, int64_t rows, int64_t dp, const uint8_t *kpacked, int8_t *kt, int64_t cols,
                        const int32_t *corr, const int32_t *valid, int32_t *rowmax) {
    const int64_t half = dp * cols / 2;
    for (int64_t t = 0; t < half; ++t) {
        kt[t] = static_cast<int8_t>((kpacked[t] & 15) - 8);
        kt[t + half] = static_cast<int8_t>((kpacked[t] >> 4) - 8);
    }
    for (int64_t r = 0; r < rows; ++r) {
        int32_t best = INT32_MIN;
        const int64_t n = valid[r] < cols ? valid[r] : cols;
        for (int64_t c = 0; c < n; ++c) {
            int32_t dot = 0;
            for (int64_t e = 0; e < dp; ++e) dot += qu[r * dp + e] * kt[(e / 4) * 4 * cols + 4 * c + e % 4];
            dot -= corr[c];
            if (dot > best) best = dot;
        }
        rowmax[r] = best;
    }
}

}  // namespace attn4j::cpu
