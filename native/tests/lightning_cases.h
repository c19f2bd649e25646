// The one Lightning Attention-2 case table: every backend (backends.h) runs over all of it, each
// saying which cases it supports.
#pragma once
#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "attn4j.h"
#include "backends.h"

namespace attn4j::test {

struct LightningCase {
    std::string name;
    int64_t batch, heads_q, heads_kv, len, dim, dim_v;
    // 0: no decay, 1: TransNormerLLM slopes, 2: large slopes (5 + 20 h), 3: 1e4 (only the diagonal
    // survives), 4: TransNormerLLM slopes x 20
    int slopes = 1;
    int32_t block = 0;
    bool state_in = false;
    int32_t dtype = ATTN4J_DTYPE_F32, out_dtype = ATTN4J_DTYPE_F32;
    bool bnhd = false;
    int32_t threads = 0;
    bool state_out = true;  // the final state asked for (without it the last run's state is not needed)

    // Relative L2 error of out and of the final state allowed on the CPU (CUDA: 1e-2 for both).
    double tolerance() const { return dtype == ATTN4J_DTYPE_BF16 || out_dtype == ATTN4J_DTYPE_BF16 ? 1e-2 : 1e-5; }
    double state_tolerance() const { return dtype == ATTN4J_DTYPE_BF16 ? 1e-2 : 1e-5; }
};

inline void PrintTo(const LightningCase &c, std::ostream *os) { *os << c.name; }

const std::vector<LightningCase> &lightning_cases();

// The decay slopes of a case's kind for `heads` heads.
std::vector<float> lightning_slopes(int kind, int64_t heads);

// The quadratic fp64 reference is out of reach past this many tokens; CUDA compares longer cases
// against the CPU kernel (itself checked against the reference on every ISA).
constexpr int64_t kLightningReferenceMaxLen = 4096;

// Why backend b cannot run case c ("" when it can).
std::string lightning_unsupported(const LightningCase &c, const Backend &b);

}  // namespace attn4j::test
