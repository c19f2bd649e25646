// Host tensor descriptors for the benchmarks: contiguous [B, H, N, D] over memory the caller owns.
#pragma once
#include <cstdint>

#include "attn4j.h"

namespace attn4j::bench {

inline attn4j_tensor host_tensor(void *data, int32_t dtype, int64_t b, int64_t h, int64_t n, int64_t d) {
    attn4j_tensor t{};
    t.data = data;
    t.dtype = dtype;
    t.device = ATTN4J_DEVICE_HOST;
    t.shape[0] = b; t.shape[1] = h; t.shape[2] = n; t.shape[3] = d;
    t.strides[0] = h * n * d; t.strides[1] = n * d; t.strides[2] = d; t.strides[3] = 1;
    return t;
}

}  // namespace attn4j::bench
