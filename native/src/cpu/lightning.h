// A Lightning Attention-2 call after validation. Shared by the dispatcher, the kernels of every ISA
// and the fp64 reference.
#pragma once
#include <cstdint>

#include "cpu/flash.h"

namespace attn4j::cpu {

struct LightningProblem {
    const void *q, *k, *v;
    void *out;
    DType in_dtype, out_dtype;
    int64_t batch, heads_q, heads_kv, len, dim, dim_v;
    int64_t sq[4], sk[4], sv[4], so[4];  // element strides
    const float *slopes;                 // [heads_q] decay slopes (lambda = exp(-slope)); null = no decay
    const float *state_in;               // [B, Hq, d, dv] or null (zero state)
    float *state_out;                    // [B, Hq, d, dv] or null; may be the same memory as state_in
    int64_t ssi[4], sso[4];              // strides of state_in, state_out
    int64_t block;                       // tokens per block (resolved, > 0)
    int threads;

    float slope(int64_t h) const { return slopes != nullptr ? slopes[h] : 0.0f; }
};

// Tokens per block when the caller asks for 0.
constexpr int64_t kLightningDefaultBlock = 32;
constexpr int64_t kLightningMaxBlock = 256;

bool lightning_forward(const LightningProblem &p);

bool lightning_forward_scalar(const LightningProblem &p);
bool lightning_forward_avx2(const LightningProblem &p);
bool lightning_forward_avx512(const LightningProblem &p);

}  // namespace attn4j::cpu
