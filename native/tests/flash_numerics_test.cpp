// FlashAttention under numerical stress, on every ISA: huge logits stay exact and finite, and NaN/Inf
// in the inputs propagate to every row that can see them (documented policy: never hidden).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "attn4j.h"
#include "cpu/reference/flash_reference.h"
#include "fill_problem.h"
#include "test_support.h"

namespace attn4j::test {
namespace {

struct Inputs {
    HostTensor q, k, v, out, lse;
    Inputs(int64_t n, int64_t d, float std, uint64_t seed)
        : q(ATTN4J_DTYPE_F32, 1, 2, n, d), k(ATTN4J_DTYPE_F32, 1, 2, n, d), v(ATTN4J_DTYPE_F32, 1, 2, n, d),
          out(ATTN4J_DTYPE_F32, 1, 2, n, d), lse(ATTN4J_DTYPE_F32, 1, 2, n, 1) {
        std::mt19937_64 rng(seed);
        q.fill_normal(rng, std);
        k.fill_normal(rng, std);
        v.fill_normal(rng, 1.0f);
    }
};

template <typename F>
void on_every_isa(F body) {
    const int32_t saved = attn4j_cpu_isa();
    for (int32_t isa = ATTN4J_ISA_SCALAR; isa <= attn4j_cpu_isa_best(); ++isa) {
        SCOPED_TRACE(std::string("isa ") + attn4j_isa_name(isa));
        ASSERT_EQ(attn4j_set_cpu_isa(isa), ATTN4J_STATUS_OK);
        body();
    }
    attn4j_set_cpu_isa(saved);
}

bool row_finite(const HostTensor &t, int64_t h, int64_t i) {
    for (int64_t e = 0; e < t.t.shape[3]; ++e)
        if (!std::isfinite(t.get(0, h, i, e))) return false;
    return true;
}

bool row_nan(const HostTensor &t, int64_t h, int64_t i) {
    for (int64_t e = 0; e < t.t.shape[3]; ++e)
        if (!std::isnan(t.get(0, h, i, e))) return false;
    return true;
}

TEST(FlashNumerics, HugeLogitsStayFiniteAndExact) {
    SCOPED_TRACE("seed " + std::to_string(run_seed()));
    Inputs in(150, 64, 1.0f, run_seed());
    // scale 300 puts |scale * q.k| in the thousands (up to ~1e4): one key dominates each row.
    for (bool causal : {false, true}) {
        attn4j_flash_params p{sizeof(attn4j_flash_params), 300.0f, 0.0f, causal ? 1 : 0, -1, -1, 0};
        std::vector<double> ref, ref_lse;
        cpu::flash_reference(make_flash_problem(&in.q.t, &in.k.t, &in.v.t, &in.out.t, &in.lse.t, p), ref, ref_lse);
        on_every_isa([&] {
            in.out.poison();
            ASSERT_EQ(attn4j_flash_forward(&in.q.t, &in.k.t, &in.v.t, &in.out.t, &in.lse.t, &p), ATTN4J_STATUS_OK);
            // Rounding the scores to fp32 alone moves each softmax weight by up to about
            // 2 * eps * max|logit| (relative): with logits near 1e4 that, not the kernel, bounds the error.
            double max_logit = 0;
            for (double x : ref_lse) max_logit = std::max(max_logit, std::fabs(x));
            EXPECT_LE(rel_l2(in.out, ref), 1e-5 + 4.0 * 6e-8 * max_logit);
            for (int64_t i = 0; i < 150; ++i) {
                ASSERT_TRUE(std::isfinite(in.lse.get(0, 0, i, 0)));
                ASSERT_NEAR(in.lse.get(0, 0, i, 0), ref_lse[i], 1e-4 * std::fabs(ref_lse[i]) + 1e-3);
            }
        });
    }
}

TEST(FlashNumerics, NanInAQueryRowReachesThatRowOnly) {
    Inputs in(100, 32, 1.0f, run_seed() + 1);
    in.q.set(0, 1, 37, 5, std::numeric_limits<float>::quiet_NaN());
    attn4j_flash_params p{sizeof(attn4j_flash_params), 0.0f, 0.0f, 0, -1, -1, 0};
    on_every_isa([&] {
        in.out.poison();
        ASSERT_EQ(attn4j_flash_forward(&in.q.t, &in.k.t, &in.v.t, &in.out.t, nullptr, &p), ATTN4J_STATUS_OK);
        for (int64_t i = 0; i < 100; ++i) {
            EXPECT_TRUE(row_finite(in.out, 0, i)) << "head 0 row " << i;
            if (i == 37) EXPECT_TRUE(row_nan(in.out, 1, i)) << "the NaN row must be NaN";
            else EXPECT_TRUE(row_finite(in.out, 1, i)) << "head 1 row " << i;
        }
    });
}

TEST(FlashNumerics, NanInAKeyReachesEveryRowThatSeesIt) {
    Inputs in(200, 64, 1.0f, run_seed() + 2);
    in.k.set(0, 0, 120, 3, std::numeric_limits<float>::quiet_NaN());
    attn4j_flash_params p{sizeof(attn4j_flash_params), 0.0f, 0.0f, 1, -1, -1, 0};  // causal: rows >= 120 see key 120
    on_every_isa([&] {
        in.out.poison();
        in.lse.poison();
        ASSERT_EQ(attn4j_flash_forward(&in.q.t, &in.k.t, &in.v.t, &in.out.t, &in.lse.t, &p), ATTN4J_STATUS_OK);
        for (int64_t i = 0; i < 200; ++i) {
            if (i >= 120) {
                EXPECT_TRUE(row_nan(in.out, 0, i)) << "row " << i << " sees the NaN key";
                EXPECT_TRUE(std::isnan(in.lse.get(0, 0, i, 0))) << "lse row " << i;
            } else {
                EXPECT_TRUE(row_finite(in.out, 0, i)) << "row " << i << " does not see it";
            }
            EXPECT_TRUE(row_finite(in.out, 1, i)) << "the other head, row " << i;
        }
    });
}

// An infinite value: +inf scores and infinite values poison the rows that see them; a -inf score is
// a key with weight 0, as in the exact math (and the fp64 reference).
TEST(FlashNumerics, InfinityIsNotHidden) {
    for (bool in_value : {false, true}) {
        SCOPED_TRACE(in_value ? "inf in v" : "inf in k");
        Inputs in(80, 32, 1.0f, run_seed() + 3);
        (in_value ? in.v : in.k).set(0, 0, 10, 0, std::numeric_limits<float>::infinity());
        attn4j_flash_params p{sizeof(attn4j_flash_params), 0.0f, 0.0f, 0, -1, -1, 0};
        on_every_isa([&] {
            in.out.poison();
            ASSERT_EQ(attn4j_flash_forward(&in.q.t, &in.k.t, &in.v.t, &in.out.t, nullptr, &p), ATTN4J_STATUS_OK);
            for (int64_t i = 0; i < 80; ++i) {
                const bool poisoned = in_value || in.q.get(0, 0, i, 0) > 0.0f;  // score +inf
                EXPECT_EQ(row_finite(in.out, 0, i), !poisoned) << "row " << i << ", q[0] = " << in.q.get(0, 0, i, 0);
                EXPECT_TRUE(row_finite(in.out, 1, i)) << "the other head, row " << i;
            }
        });
    }
}

// +inf in a query row against keys that are all negative in that dim: every score of the row is -inf
// from the inputs, not from a mask, so the row is NaN (out and lse), as softmax gives, never 0 / -inf.
// Also for a decode-shaped call, whose keys are split across threads and merged.
TEST(FlashNumerics, InfiniteQueryWithOnlyMinusInfinityScoresIsNaN) {
    for (int64_t nq : {int64_t{80}, int64_t{1}}) {
        const int64_t nk = nq == 1 ? 8192 : 80;
        SCOPED_TRACE("queries " + std::to_string(nq) + ", keys " + std::to_string(nk));
        HostTensor q(ATTN4J_DTYPE_F32, 1, 2, nq, 32), k(ATTN4J_DTYPE_F32, 1, 2, nk, 32), v(ATTN4J_DTYPE_F32, 1, 2, nk, 32);
        HostTensor out(ATTN4J_DTYPE_F32, 1, 2, nq, 32), lse(ATTN4J_DTYPE_F32, 1, 2, nq, 1);
        std::mt19937_64 rng(run_seed() + 5);
        q.fill_normal(rng, 1.0f);
        k.fill_normal(rng, 1.0f);
        v.fill_normal(rng, 1.0f);
        for (int64_t j = 0; j < nk; ++j) k.set(0, 0, j, 0, -1.0f - std::fabs(k.get(0, 0, j, 0)));
        const int64_t bad = nq / 2;
        q.set(0, 0, bad, 0, std::numeric_limits<float>::infinity());
        attn4j_flash_params p;
        attn4j_flash_params_init(&p);
        p.num_threads = 2;
        std::vector<double> ref_out, ref_lse;
        cpu::flash_reference(make_flash_problem(&q.t, &k.t, &v.t, &out.t, &lse.t, p), ref_out, ref_lse);
        EXPECT_TRUE(std::isnan(ref_lse[bad])) << "the reference follows the same policy";
        on_every_isa([&] {
            out.poison();
            lse.poison();
            ASSERT_EQ(attn4j_flash_forward(&q.t, &k.t, &v.t, &out.t, &lse.t, &p), ATTN4J_STATUS_OK) << attn4j_last_error();
            for (int64_t i = 0; i < nq; ++i) {
                EXPECT_EQ(row_nan(out, 0, i), i == bad) << "row " << i;
                EXPECT_EQ(std::isnan(lse.get(0, 0, i, 0)), i == bad) << "lse of row " << i;
                EXPECT_TRUE(row_finite(out, 1, i)) << "the other head, row " << i;
            }
        });
    }
}

TEST(FlashNumerics, NanInTheOnlyTileOfARowIsNotMistakenForAFullyMaskedRow) {
    Inputs in(70, 16, 1.0f, run_seed() + 4);
    for (int64_t e = 0; e < 16; ++e) in.q.set(0, 0, 3, e, std::numeric_limits<float>::quiet_NaN());
    attn4j_flash_params p{sizeof(attn4j_flash_params), 0.0f, 0.0f, 1, 0, -1, 0};  // each row sees only its own key
    on_every_isa([&] {
        in.out.poison();
        ASSERT_EQ(attn4j_flash_forward(&in.q.t, &in.k.t, &in.v.t, &in.out.t, nullptr, &p), ATTN4J_STATUS_OK);
        EXPECT_TRUE(row_nan(in.out, 0, 3));
        EXPECT_TRUE(row_finite(in.out, 0, 4));
    });
}

}  // namespace
}  // namespace attn4j::test
