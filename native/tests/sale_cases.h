// The one SALE / block-sparse case table: every backend (backends.h) runs over all of it, each saying
// which cases it supports.
#pragma once
#include <cstdint>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "attn4j.h"
#include "backends.h"

namespace attn4j::test {

struct SaleCase {
    std::string name;
    int64_t batch, heads_q, heads_kv, len_q, len_k, dim, dim_v;
    bool causal;
    int32_t block_q = 0, block_k = 0;
    int32_t dtype = ATTN4J_DTYPE_F32;
    int32_t out_dtype = ATTN4J_DTYPE_F32;
    int kept_eighths = 4;  // random masks: the share of bits set
    // Random masks also clear whole rows: query block 1 of the first head, blocks 2 and 3 of the last.
    bool holes = false;

    // Relative L2 error of out allowed on the CPU (the CUDA kernels': 1e-2).
    double tolerance() const { return dtype == ATTN4J_DTYPE_BF16 || out_dtype == ATTN4J_DTYPE_BF16 ? 1e-2 : 1e-5; }
    int32_t bq() const { return block_q != 0 ? block_q : 64; }
    int32_t bk() const { return block_k != 0 ? block_k : 64; }
};

inline void PrintTo(const SaleCase &c, std::ostream *os) { *os << c.name; }

const std::vector<SaleCase> &sale_cases();

// A random mask for case c of `bytes` bytes ([B][Hq][q blocks][row bytes]), with its holes.
std::vector<uint8_t> random_mask(const SaleCase &c, int64_t bytes, std::mt19937_64 &rng);

// Why backend b cannot run case c ("" when it can); `estimation`: SALE's estimation too, not only the
// block-sparse pass.
std::string sale_unsupported(const SaleCase &c, const Backend &b, bool estimation);

}  // namespace attn4j::test
