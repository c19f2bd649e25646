// Every FlashAttention case of the table, on every backend that supports it (each CPU ISA this CPU
// runs, the CUDA device), against the fp64 reference.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "attn4j.h"
#include "cpu/isa.h"
#include "cpu/reference/flash_reference.h"
#include "backends.h"
#include "cuda_test_support.h"
#include "fill_problem.h"
#include "flash_cases.h"
#include "test_support.h"

namespace attn4j::test {
namespace {

struct FlashRun {
    HostTensor q, k, v, out, lse;
};

FlashRun make_inputs(const FlashCase &c, uint64_t seed) {
    std::mt19937_64 rng(seed);
    FlashRun r;
    r.q = HostTensor(c.dtype, c.batch, c.heads_q, c.len_q, c.dim, c.bnhd);
    r.k = HostTensor(c.dtype, c.batch, c.heads_kv, c.len_k, c.dim, c.bnhd);
    r.v = HostTensor(c.dtype, c.batch, c.heads_kv, c.len_k, c.dim_v, c.bnhd);
    r.out = HostTensor(c.out_dtype, c.batch, c.heads_q, c.len_q, c.dim_v, c.bnhd);
    r.lse = HostTensor(ATTN4J_DTYPE_F32, c.batch, c.heads_q, c.len_q, 1);
    r.q.fill_normal(rng, c.input_std);
    r.k.fill_normal(rng, c.input_std);
    r.v.fill_normal(rng, 1.0f);
    return r;
}

// A CPU ISA, and on the AVX-512 one also its bf16-pair products where the CPU has them.
void run_on_cpu(const FlashCase &c, const Backend &b, uint64_t seed) {
    FlashRun r = make_inputs(c, seed);
    const attn4j_flash_params params = c.params();
    std::vector<double> ref_out, ref_lse;
    cpu::flash_reference(make_flash_problem(&r.q.t, &r.k.t, &r.v.t, &r.out.t, &r.lse.t, params), ref_out, ref_lse);
    const UseIsa isa(b);
    const bool pair_path = b.isa == ATTN4J_ISA_AVX512 && cpu::bf16_dot_supported() && c.dtype == ATTN4J_DTYPE_BF16;
    for (const bool pairs : {false, true}) {
        if (pairs && !pair_path) continue;
        SCOPED_TRACE(pairs ? "with bf16 dot products" : "fp32 products");
        cpu::set_bf16_dot(pairs);
        r.out.poison();
        r.lse.poison();
        const int32_t st = attn4j_flash_forward(&r.q.t, &r.k.t, &r.v.t, &r.out.t, c.lse ? &r.lse.t : nullptr, &params);
        ASSERT_EQ(st, ATTN4J_STATUS_OK) << attn4j_last_error();
        const double err = rel_l2(r.out, ref_out);
        EXPECT_LE(err, c.tolerance()) << "relative L2 error of out";
        if (!c.lse) continue;
        ASSERT_TRUE(lse_matches(r.lse, ref_lse, 1e-4));
    }
    cpu::set_bf16_dot(cpu::bf16_dot_default());
}

// The first CUDA device, through every kernel it has for the call (16-bit storage: out within 1e-2,
// LSE within 2e-2).
void run_on_cuda(const FlashCase &c, uint64_t seed) {
    for_each_cuda_kernel([&](const std::string &kernel) {
        SCOPED_TRACE(kernel);
        std::mt19937_64 rng(seed);
        DeviceTensor q(c.dtype, c.batch, c.heads_q, c.len_q, c.dim, c.bnhd), k(c.dtype, c.batch, c.heads_kv, c.len_k, c.dim, c.bnhd);
        DeviceTensor v(c.dtype, c.batch, c.heads_kv, c.len_k, c.dim_v, c.bnhd);
        DeviceTensor out(c.out_dtype, c.batch, c.heads_q, c.len_q, c.dim_v, c.bnhd), lse(ATTN4J_DTYPE_F32, c.batch, c.heads_q, c.len_q, 1, false);
        q.fill_normal(rng, c.input_std);
        k.fill_normal(rng, c.input_std);
        v.fill_normal(rng, 1.0f);
        out.poison();
        lse.poison();
        const attn4j_flash_params p = c.params();
        ASSERT_EQ(attn4j_flash_forward(&q.t, &k.t, &v.t, &out.t, c.lse ? &lse.t : nullptr, &p), ATTN4J_STATUS_OK)
            << attn4j_last_error();
        ASSERT_EQ(attn4j_cuda_synchronize(0), ATTN4J_STATUS_OK) << attn4j_last_error();
        out.download();
        lse.download();
        std::vector<double> ref, ref_lse;
        cpu::flash_reference(make_flash_problem(&q.host.t, &k.host.t, &v.host.t, &out.host.t, &lse.host.t, p), ref, ref_lse);
        EXPECT_LE(rel_l2(out.host, ref), 1e-2) << "relative L2 error of out";
        if (c.lse) EXPECT_TRUE(lse_matches(lse.host, ref_lse, 2e-2));
    });
}

class FlashForward : public ::testing::TestWithParam<OnBackend<FlashCase>> {};

TEST_P(FlashForward, MatchesFp64Reference) {
    const FlashCase &c = GetParam().c;
    const Backend &b = GetParam().backend;
    ATTN4J_SKIP_UNLESS_RUNS("flash", b, flash_unsupported(c, b));
    const uint64_t seed = run_seed() ^ std::hash<std::string>{}(c.name);
    SCOPED_TRACE("seed " + std::to_string(run_seed()) + " (set ATTN4J_SEED to repeat), case " + c.name + " on " + b.name);
    if (b.cuda()) run_on_cuda(c, seed);
    else run_on_cpu(c, b, seed);
}

INSTANTIATE_TEST_SUITE_P(Cases, FlashForward, ::testing::ValuesIn(on_every_backend(flash_cases())),
                         pair_name<FlashCase>);

// Rows with no visible key must be exactly zero (not NaN) whatever the kernel's tiling.
TEST(FlashForwardMasking, FullyMaskedRowsAreZeroWithNegativeInfinityLse) {
    HostTensor q(ATTN4J_DTYPE_F32, 1, 1, 30, 64), k(ATTN4J_DTYPE_F32, 1, 1, 10, 64), v(ATTN4J_DTYPE_F32, 1, 1, 10, 64);
    HostTensor out(ATTN4J_DTYPE_F32, 1, 1, 30, 64), lse(ATTN4J_DTYPE_F32, 1, 1, 30, 1);
    std::mt19937_64 rng(run_seed());
    q.fill_normal(rng, 1.0f);
    k.fill_normal(rng, 1.0f);
    v.fill_normal(rng, 1.0f);
    out.poison();
    lse.poison();
    attn4j_flash_params p{sizeof(attn4j_flash_params), 0.0f, 0.0f, 1, -1, -1, 0};  // causal, 30 queries over 10 keys: rows 0..19 see nothing
    ASSERT_EQ(attn4j_flash_forward(&q.t, &k.t, &v.t, &out.t, &lse.t, &p), ATTN4J_STATUS_OK) << attn4j_last_error();
    for (int64_t i = 0; i < 30; ++i) {
        const bool masked = i < 20;
        EXPECT_EQ(std::isinf(lse.get(0, 0, i, 0)) && lse.get(0, 0, i, 0) < 0, masked) << "row " << i;
        for (int64_t e = 0; e < 64; ++e) {
            ASSERT_FALSE(std::isnan(out.get(0, 0, i, e))) << "row " << i;
            if (masked) ASSERT_EQ(out.get(0, 0, i, e), 0.0f) << "row " << i;
        }
    }
}

// Keys far outside every window must not influence the result: huge values there change nothing.
TEST(FlashForwardMasking, MaskedKeysDoNotLeak) {
    HostTensor q(ATTN4J_DTYPE_F32, 1, 1, 50, 32), k(ATTN4J_DTYPE_F32, 1, 1, 50, 32), v(ATTN4J_DTYPE_F32, 1, 1, 50, 32);
    HostTensor a(ATTN4J_DTYPE_F32, 1, 1, 50, 32), b(ATTN4J_DTYPE_F32, 1, 1, 50, 32);
    std::mt19937_64 rng(run_seed() + 1);
    q.fill_normal(rng, 1.0f);
    k.fill_normal(rng, 1.0f);
    v.fill_normal(rng, 1.0f);
    attn4j_flash_params p{sizeof(attn4j_flash_params), 0.0f, 0.0f, 1, 4, -1, 0};  // causal, window of 4 to the left
    ASSERT_EQ(attn4j_flash_forward(&q.t, &k.t, &v.t, &a.t, nullptr, &p), ATTN4J_STATUS_OK);
    for (int64_t e = 0; e < 32; ++e) {  // key 49 is visible only to query 49; key 0 only to queries 0..4
        v.set(0, 0, 49, e, 1e6f);
    }
    ASSERT_EQ(attn4j_flash_forward(&q.t, &k.t, &v.t, &b.t, nullptr, &p), ATTN4J_STATUS_OK);
    for (int64_t i = 0; i < 49; ++i)
        for (int64_t e = 0; e < 32; ++e) ASSERT_EQ(a.get(0, 0, i, e), b.get(0, 0, i, e)) << "row " << i;
    EXPECT_NE(a.get(0, 0, 49, 0), b.get(0, 0, 49, 0));
}

}  // namespace
}  // namespace attn4j::test
