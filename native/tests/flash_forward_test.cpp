// Every FlashAttention case of the table, on every ISA this CPU runs, against the fp64 reference.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "attn4j.h"
#include "cpu/isa.h"
#include "cpu/reference/flash_reference.h"
#include "flash_cases.h"
#include "fill_problem.h"
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

class FlashForward : public ::testing::TestWithParam<FlashCase> {};

TEST_P(FlashForward, MatchesFp64ReferenceOnEveryIsa) {
    const FlashCase &c = GetParam();
    const uint64_t seed = run_seed() ^ std::hash<std::string>{}(c.name);
    SCOPED_TRACE("seed " + std::to_string(run_seed()) + " (set ATTN4J_SEED to repeat), case " + c.name);
    FlashRun r = make_inputs(c, seed);
    const attn4j_flash_params params = c.params();
    std::vector<double> ref_out, ref_lse;
    cpu::flash_reference(make_flash_problem(&r.q.t, &r.k.t, &r.v.t, &r.out.t, &r.lse.t, params), ref_out, ref_lse);

    const int32_t saved = attn4j_cpu_isa();
    // Every ISA, plus the bf16-pair products of the AVX-512 kernel where the CPU has them.
    const bool pair_path = cpu::bf16_dot_supported() && c.dtype == ATTN4J_DTYPE_BF16;
    for (int32_t run = ATTN4J_ISA_SCALAR; run <= attn4j_cpu_isa_best() + (pair_path ? 1 : 0); ++run) {
        const int32_t isa = run > attn4j_cpu_isa_best() ? ATTN4J_ISA_AVX512 : run;
        const bool pairs = run > attn4j_cpu_isa_best();
        SCOPED_TRACE(std::string("isa ") + attn4j_isa_name(isa) + (pairs ? " with bf16 dot products" : ""));
        ASSERT_EQ(attn4j_set_cpu_isa(isa), ATTN4J_STATUS_OK);
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
    attn4j_set_cpu_isa(saved);
    cpu::set_bf16_dot(cpu::bf16_dot_default());
}

INSTANTIATE_TEST_SUITE_P(Cases, FlashForward, ::testing::ValuesIn(flash_cases()),
                         [](const ::testing::TestParamInfo<FlashCase> &info) { return info.param.name; });

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
