// SALE's block estimate on AMX int8 tiles: tdpbusd multiplies a 16 x 64 tile of unsigned query bytes
// by a 16 x 64 tile of signed key bytes laid out four head-dim values per key (the kernels' kt layout
// is that VNNI layout already) into a 16 x 16 int32 tile, 16x the work of one vpdpbusd. Four
// accumulator tiles hold a 32-row x 32-key piece, started at the keys' corrections; the visibility
// masks (edge blocks only) and the row maxima then run on AVX-512 over the stored tiles.
// Needs: rows padded with zero bytes to a multiple of 16 in `qu`, dp a multiple of 64, cols of 16.
#include <immintrin.h>

#include <climits>
#include <cstring>

#include "cpu/sale/sale.h"
#include "cpu/sale/unpack_keys.h"

namespace attn4j::cpu {

namespace {

struct alignas(64) TileConfig {
    uint8_t palette = 1, start_row = 0;
    uint8_t reserved[14] = {};
    uint16_t colsb[16] = {};
    uint8_t rows[16] = {};
};

// Tiles 0-3: int32 accumulators (16 x 16); 4-5: query bytes (16 x 64); 6-7: key bytes (16 x 64).
void configure_tiles() {
    thread_local bool done = false;
    if (done) return;
    TileConfig c;
    for (int t = 0; t < 8; ++t) {
        c.rows[t] = 16;
        c.colsb[t] = 64;
    }
    _tile_loadconfig(&c);
    done = true;
}

}  // namespace

void sale_rowmax_amx(const uint8_t *qu, int64_t rows, int64_t dp, const uint8_t *kpacked, int8_t *kt, int64_t cols,
                     const int32_t *corr, const int32_t *valid, int32_t *rowmax) {
    unpack_keys(kpacked, dp * cols / 2, kt);
    configure_tiles();

    alignas(64) int32_t c[32][32];
    alignas(64) int32_t negcorr[32];
    const int64_t kstride = 4 * cols;  // bytes per row of the key layout
    const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    const __m512i floor = _mm512_set1_epi32(INT32_MIN);
    bool all_visible = true;  // interior blocks: every row sees every key, no masking
    for (int64_t r = 0; r < rows; ++r) all_visible = all_visible && valid[r] >= cols;
    for (int64_t r0 = 0; r0 < rows; r0 += 32) {
        const bool two_rows = r0 + 16 < rows;
        const int64_t nr = rows - r0 < 32 ? rows - r0 : 32;
        __m512i best[32];
        for (int r = 0; r < 32; ++r) best[r] = floor;
        for (int64_t c0 = 0; c0 < cols; c0 += 32) {
            const bool two_cols = c0 + 16 < cols;
            // The accumulators start at -corr (a row stride of 0 repeats one row): the unsigned-query
            // offset is subtracted by the tile unit, not afterwards.
            for (int x = 0; x < (two_cols ? 32 : 16); ++x) negcorr[x] = -corr[c0 + x];
            _tile_loadd(0, negcorr, 0);
            _tile_loadd(1, negcorr + 16, 0);
            _tile_loadd(2, negcorr, 0);
            _tile_loadd(3, negcorr + 16, 0);
            for (int64_t k0 = 0; k0 < dp; k0 += 64) {
                _tile_loadd(4, qu + r0 * dp + k0, dp);
                _tile_loadd(6, kt + (k0 / 4) * kstride + 4 * c0, kstride);
                _tile_dpbusd(0, 4, 6);
                if (two_cols) {
                    _tile_loadd(7, kt + (k0 / 4) * kstride + 4 * (c0 + 16), kstride);
                    _tile_dpbusd(1, 4, 7);
                }
                if (two_rows) {
                    _tile_loadd(5, qu + (r0 + 16) * dp + k0, dp);
                    _tile_dpbusd(2, 5, 6);
                    if (two_cols) _tile_dpbusd(3, 5, 7);
                }
            }
            _tile_stored(0, &c[0][0], 32 * 4);
            if (two_cols) _tile_stored(1, &c[0][16], 32 * 4);
            if (two_rows) {
                _tile_stored(2, &c[16][0], 32 * 4);
                if (two_cols) _tile_stored(3, &c[16][16], 32 * 4);
            }
            for (int h = 0; h < (two_cols ? 2 : 1); ++h) {
                if (all_visible) {
                    for (int64_t r = 0; r < nr; ++r) best[r] = _mm512_max_epi32(best[r], _mm512_load_si512(&c[r][16 * h]));
                    continue;
                }
                const __m512i idx = _mm512_add_epi32(lane, _mm512_set1_epi32(static_cast<int32_t>(c0 + 16 * h)));
                for (int64_t r = 0; r < nr; ++r) {
                    const __mmask16 seen = _mm512_cmpgt_epi32_mask(_mm512_set1_epi32(valid[r0 + r]), idx);
                    best[r] = _mm512_mask_max_epi32(best[r], seen, best[r], _mm512_load_si512(&c[r][16 * h]));
                }
            }
        }
        for (int64_t r = 0; r < nr; ++r) rowmax[r0 + r] = _mm512_reduce_max_epi32(best[r]);
    }
}

}  // namespace attn4j::cpu
