// Shared pieces of the native tests: seeded random tensors in any layout, error metrics, and
// the per-run seed (fresh each run, fixed with ATTN4J_SEED, printed on every failure).
#pragma once
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "attn4j.h"

namespace attn4j::test {

uint64_t run_seed();

// Owns the bytes behind one attn4j_tensor. Layout BHND (contiguous) or BNHD (heads interleaved).
struct HostTensor {
    attn4j_tensor t{};
    std::vector<unsigned char> bytes;

    HostTensor() = default;
    HostTensor(int32_t dtype, int64_t b, int64_t h, int64_t n, int64_t d, bool bnhd = false);
    HostTensor(const HostTensor &) = delete;
    HostTensor &operator=(const HostTensor &) = delete;
    HostTensor(HostTensor &&o) noexcept { *this = std::move(o); }
    HostTensor &operator=(HostTensor &&o) noexcept {
        t = o.t;
        bytes = std::move(o.bytes);
        t.data = bytes.data();
        return *this;
    }

    int64_t offset(int64_t b, int64_t h, int64_t n, int64_t d) const {
        return b * t.strides[0] + h * t.strides[1] + n * t.strides[2] + d * t.strides[3];
    }
    float get(int64_t b, int64_t h, int64_t n, int64_t d) const;
    void set(int64_t b, int64_t h, int64_t n, int64_t d, float x);
    void fill_normal(std::mt19937_64 &rng, float stddev);
    void poison();  // NaN everywhere, so unwritten elements fail the comparison
};

// Rows [r0, r0 + n) of batch entry b, every head, as a tensor of its own (batch 1, same dtype, BHND).
HostTensor rows_of(const HostTensor &src, int64_t b, int64_t r0, int64_t n);

// The tensor's elements in dense BHND order, and its shape, for writing .npy files.
std::vector<float> dense(const HostTensor &t);
std::vector<int64_t> shape_of(const HostTensor &t);

// Where the cross-language parity vectors go: $ATTN4J_PARITY_DIR, else build/parity. Created if missing.
std::string parity_dir();

// Relative L2 error of `got` (a [B,H,N,D] tensor) against a dense fp64 reference; NaN if any
// element of `got` is not finite while the reference is.
double rel_l2(const HostTensor &got, const std::vector<double> &ref);

// An LSE tensor [B, H, N, 1] against the fp64 reference's [B][H][N]: rows the reference leaves at -inf
// (they see no key) must be -inf, the others within tol * (1 + |want|). Names the first row that is not;
// counts the -inf rows into *empty_rows when given.
::testing::AssertionResult lse_matches(const HostTensor &lse, const std::vector<double> &ref_lse, double tol,
                                       int64_t *empty_rows = nullptr);

}  // namespace attn4j::test
