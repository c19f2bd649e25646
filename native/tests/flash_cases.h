// The one FlashAttention case table: every backend (backends.h) runs over all of it, each saying which
// cases it supports.
#pragma once
#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "attn4j.h"
#include "backends.h"

namespace attn4j::test {

struct FlashCase {
    std::string name;
    int64_t batch, heads_q, heads_kv, len_q, len_k, dim, dim_v;
    bool causal = false;
    int32_t window_left = -1, window_right = -1;
    float softcap = 0.0f, scale = 0.0f;
    int32_t dtype = ATTN4J_DTYPE_F32, out_dtype = ATTN4J_DTYPE_F32;
    bool bnhd = false;   // [B, N, H, D] memory order instead of [B, H, N, D]
    bool lse = true;
    int32_t threads = 0;
    float input_std = 1.0f;  // larger: larger logits

    attn4j_flash_params params() const {
        return attn4j_flash_params{sizeof(attn4j_flash_params), scale, softcap, causal ? 1 : 0, window_left, window_right, threads};
    }
    // Relative L2 error of out allowed on the CPU (the CUDA kernels' are in flash_forward_test.cpp).
    double tolerance() const {
        return dtype == ATTN4J_DTYPE_BF16 || out_dtype == ATTN4J_DTYPE_BF16 ? 1e-2 : 1e-5;
    }
};

const std::vector<FlashCase> &flash_cases();

// Why backend b cannot run case c ("" when it can).
std::string flash_unsupported(const FlashCase &c, const Backend &b);

// Keeps gtest from dumping the struct's bytes in test names and failures.
inline void PrintTo(const FlashCase &c, std::ostream *os) { *os << c.name; }

}  // namespace attn4j::test
