// A Lightning Attention-2 call after validation, the same for every backend (see flash_problem.h).
#pragma once
#include <cstdint>

#include "core/dtype.h"

namespace attn4j::core {

struct LightningProblem {
    const void *q, *k, *v;
    void *out;
    DType in_dtype, out_dtype;
    int64_t batch, heads_q, heads_kv, len, dim, dim_v;
    int64_t sq[4], sk[4], sv[4], so[4];  // element strides (zeros for an empty tensor)
    const float *slopes;                 // [heads_q] decay slopes (lambda = exp(-slope)); null = no decay
    const float *state_in;               // [B, Hq, d, dv] or null (zero state)
    float *state_out;                    // [B, Hq, d, dv] or null; may be the same memory as state_in
    int64_t ssi[4], sso[4];              // strides of state_in, state_out
    int64_t block;                       // CPU: tokens per block (resolved, > 0)
    int threads;                         // CPU worker threads (resolved, >= 1)
    int32_t device = -1;                 // ATTN4J_DEVICE_HOST, or the CUDA device of every pointer
    void *stream = nullptr;              // CUDA: the cudaStream_t to run on (null: the default stream)

    float slope(int64_t h) const { return slopes != nullptr ? slopes[h] : 0.0f; }
};

}  // namespace attn4j::core
