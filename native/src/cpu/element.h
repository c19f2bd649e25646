// Reading and writing one element of a tensor whose dtype is known only at run time.
#pragma once
#include <cstdint>

#include "common/bf16.h"
#include "cpu/flash.h"

namespace attn4j::cpu {

inline float load_element(const void *base, DType t, int64_t off) {
    if (t == DType::BF16) return bf16_to_f32(static_cast<const uint16_t *>(base)[off]);
    return static_cast<const float *>(base)[off];
}

inline void store_element(void *base, DType t, int64_t off, float x) {
    if (t == DType::BF16) static_cast<uint16_t *>(base)[off] = f32_to_bf16(x);
    else static_cast<float *>(base)[off] = x;
}

// Copies `rows` rows of `cols` elements (row stride rs, column stride cs) into a dense fp32 tile.
inline void load_tile(const void *base, DType t, int64_t rows, int64_t cols, int64_t rs, int64_t cs,
                      float *dst) {
    if (t == DType::F32 && cs == 1) {
        const float *src = static_cast<const float *>(base);
        for (int64_t r = 0; r < rows; ++r)
            for (int64_t c = 0; c < cols; ++c) dst[r * cols + c] = src[r * rs + c];
        return;
    }
    for (int64_t r = 0; r < rows; ++r)
        for (int64_t c = 0; c < cols; ++c) dst[r * cols + c] = load_element(base, t, r * rs + c * cs);
}

using core::advance;

}  // namespace attn4j::cpu
