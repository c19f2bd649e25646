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
    // Packed sequences of different lengths over batch entry 0 (num_seqs > 0): sequence b owns rows
    // cu_seqlens[b] .. cu_seqlens[b + 1] - 1 and state b.
    const int32_t *cu_seqlens = nullptr;
    int64_t num_seqs = 0;

    float slope(int64_t h) const { return slopes != nullptr ? slopes[h] : 0.0f; }
    // Entries a kernel walks: the sequences when packed, else the batch.
    int64_t entries() const { return num_seqs > 0 ? num_seqs : batch; }
    // Packed sequence b as a problem of its own (a batch of one: rows and state moved to it).
    LightningProblem sequence(int64_t b) const {
        LightningProblem s = *this;
        // (An empty sequence may start at the end, where a one-row dim's stride is arbitrary: stay put.)
        const int64_t r0 = cu_seqlens[b + 1] > cu_seqlens[b] ? cu_seqlens[b] : 0;
        s.q = advance(q, in_dtype, r0 * sq[2]);
        s.k = advance(k, in_dtype, r0 * sk[2]);
        s.v = advance(v, in_dtype, r0 * sv[2]);
        s.out = advance(out, out_dtype, r0 * so[2]);
        if (state_in != nullptr) s.state_in = state_in + b * ssi[0];
        if (state_out != nullptr) s.state_out = state_out + b * sso[0];
        s.batch = 1;
        s.len = cu_seqlens[b + 1] - cu_seqlens[b];
        s.cu_seqlens = nullptr;
        s.num_seqs = 0;
        return s;
    }
};

}  // namespace attn4j::core
