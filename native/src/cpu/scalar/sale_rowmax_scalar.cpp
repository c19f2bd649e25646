// SALE's block estimate, portable: integer dot products of unsigned query bytes with signed key
// bytes, minus each key's offset correction, maximized over each row's visible keys.
#include <climits>

#include "cpu/sale/sale.h"
#include "cpu/sale/unpack_keys.h"

namespace attn4j::cpu {

void sale_rowmax_scalar(const uint8_t *qu, int64_t rows, int64_t dp, const uint8_t *kpacked, int8_t *kt, int64_t cols,
                        const int32_t *corr, const int32_t *valid, int32_t *rowmax) {
    unpack_keys(kpacked, dp * cols / 2, kt);
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
