// Lightning Attention-2 over packed sequences of different lengths, on every ISA: each sequence starts
// from its own state and leaves its own, equal to running it alone and to the fp64 reference; bad
// prefix sums and state shapes are refused naming the field.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "attn4j.h"
#include "cpu/reference/lightning_reference.h"
#include "fill_problem.h"
#include "test_support.h"

namespace attn4j::test {
namespace {

constexpr int64_t H = 4, HKV = 2, D = 32, DV = 48;

HostTensor rows_of(const HostTensor &src, int64_t r0, int64_t n) {
    HostTensor t(src.t.dtype, 1, src.t.shape[1], n, src.t.shape[3]);
    for (int64_t h = 0; h < src.t.shape[1]; ++h)
        for (int64_t i = 0; i < n; ++i)
            for (int64_t e = 0; e < src.t.shape[3]; ++e) t.set(0, h, i, e, src.get(0, h, r0 + i, e));
    return t;
}

HostTensor state_of(const HostTensor &states, int64_t b) {
    HostTensor t(ATTN4J_DTYPE_F32, 1, H, D, DV);
    for (int64_t h = 0; h < H; ++h)
        for (int64_t i = 0; i < D; ++i)
            for (int64_t e = 0; e < DV; ++e) t.set(0, h, i, e, states.get(b, h, i, e));
    return t;
}

double rel(const std::vector<double> &want, const HostTensor &got, int64_t b0, int64_t r0, int64_t rows) {
    double num = 0, den = 0;
    for (int64_t h = 0; h < got.t.shape[1]; ++h)
        for (int64_t i = 0; i < rows; ++i)
            for (int64_t e = 0; e < got.t.shape[3]; ++e) {
                const double w = want[(h * rows + i) * got.t.shape[3] + e], g = got.get(b0, h, r0 + i, e);
                num += (w - g) * (w - g);
                den += w * w;
            }
    return den == 0 ? std::sqrt(num) : std::sqrt(num / den);
}

TEST(LightningSequences, PackedEqualsAloneEqualsReferenceOnEveryIsa) {
    const std::vector<int32_t> lens = {70, 0, 1, 200, 33};
    std::vector<int32_t> cu{0};
    for (int32_t n : lens) cu.push_back(cu.back() + n);
    const int64_t S = static_cast<int64_t>(lens.size()), total = cu.back();
    SCOPED_TRACE("seed " + std::to_string(run_seed()) + " (set ATTN4J_SEED to repeat)");
    std::mt19937_64 rng(run_seed() ^ 0x5e9);
    HostTensor q(ATTN4J_DTYPE_F32, 1, H, total, D), k(ATTN4J_DTYPE_F32, 1, HKV, total, D), v(ATTN4J_DTYPE_F32, 1, HKV, total, DV);
    HostTensor s_in(ATTN4J_DTYPE_F32, S, H, D, DV), s_out(ATTN4J_DTYPE_F32, S, H, D, DV), out(ATTN4J_DTYPE_F32, 1, H, total, DV);
    q.fill_normal(rng, 0.3f);
    k.fill_normal(rng, 0.3f);
    v.fill_normal(rng, 1.0f);
    s_in.fill_normal(rng, 0.5f);
    const float slopes[H] = {0.0f, 0.05f, 0.3f, 2.0f};
    attn4j_lightning_params p;
    attn4j_lightning_params_init(&p);
    p.slopes = slopes;
    p.num_slopes = H;
    p.cu_seqlens = cu.data();
    p.num_seqs = static_cast<int32_t>(S);
    p.block_size = 16;

    const int32_t saved = attn4j_cpu_isa();
    for (int32_t isa = ATTN4J_ISA_SCALAR; isa <= attn4j_cpu_isa_best(); ++isa) {
        SCOPED_TRACE(std::string("isa ") + attn4j_isa_name(isa));
        ASSERT_EQ(attn4j_set_cpu_isa(isa), ATTN4J_STATUS_OK);
        out.poison();
        s_out.poison();
        ASSERT_EQ(attn4j_lightning_forward(&q.t, &k.t, &v.t, &out.t, &s_in.t, &s_out.t, &p), ATTN4J_STATUS_OK)
            << attn4j_last_error();
        for (int64_t b = 0; b < S; ++b) {
            SCOPED_TRACE("sequence " + std::to_string(b));
            HostTensor qb = rows_of(q, cu[b], lens[b]), kb = rows_of(k, cu[b], lens[b]), vb = rows_of(v, cu[b], lens[b]);
            HostTensor sb = state_of(s_in, b), ob(ATTN4J_DTYPE_F32, 1, H, lens[b], DV), sob(ATTN4J_DTYPE_F32, 1, H, D, DV);
            attn4j_lightning_params alone = p;
            alone.cu_seqlens = nullptr;
            alone.num_seqs = 0;
            std::vector<double> ref_out, ref_state;
            cpu::lightning_reference(make_lightning_problem(&qb.t, &kb.t, &vb.t, &ob.t, &sb.t, &sob.t, alone), ref_out,
                                     ref_state);
            EXPECT_LE(rel(ref_out, out, 0, cu[b], lens[b]), 1e-5) << "out vs reference";
            EXPECT_LE(rel(ref_state, s_out, b, 0, D), 1e-5) << "state vs reference";
            ASSERT_EQ(attn4j_lightning_forward(&qb.t, &kb.t, &vb.t, &ob.t, &sb.t, &sob.t, &alone), ATTN4J_STATUS_OK);
            for (int64_t h = 0; h < H; ++h) {
                for (int64_t i = 0; i < lens[b]; ++i)
                    for (int64_t e = 0; e < DV; ++e)
                        ASSERT_EQ(ob.get(0, h, i, e), out.get(0, h, cu[b] + i, e)) << "alone != packed, row " << i;
                for (int64_t i = 0; i < D; ++i)
                    for (int64_t e = 0; e < DV; ++e) ASSERT_EQ(sob.get(0, h, i, e), s_out.get(b, h, i, e)) << "state";
            }
        }
    }
    attn4j_set_cpu_isa(saved);
}

TEST(LightningSequences, BadPackingIsNamed) {
    HostTensor q(ATTN4J_DTYPE_F32, 1, 2, 10, 8), out(ATTN4J_DTYPE_F32, 1, 2, 10, 8), st(ATTN4J_DTYPE_F32, 3, 2, 8, 8);
    const int32_t good[3] = {0, 4, 10}, short_end[3] = {0, 4, 9};
    auto expect = [&](const attn4j_lightning_params &p, const attn4j_tensor *state, int32_t status, const char *needle) {
        out.poison();
        EXPECT_EQ(attn4j_lightning_forward(&q.t, &q.t, &q.t, &out.t, nullptr, state, &p), status);
        EXPECT_NE(std::string(attn4j_last_error()).find(needle), std::string::npos) << attn4j_last_error();
        EXPECT_TRUE(std::isnan(out.get(0, 0, 0, 0)));
    };
    attn4j_lightning_params p;
    attn4j_lightning_params_init(&p);
    p.num_seqs = 2;
    p.cu_seqlens = short_end;
    expect(p, nullptr, ATTN4J_STATUS_INVALID_PARAM, "params.cu_seqlens[2] = 9 must equal 10");
    p.cu_seqlens = good;
    expect(p, &st.t, ATTN4J_STATUS_INVALID_SHAPE, "state_out.shape[0] = 3, expected 2 (params.num_seqs)");
    p.cu_seqlens = nullptr;
    expect(p, nullptr, ATTN4J_STATUS_NULL_ARGUMENT, "params.cu_seqlens is NULL");
    attn4j_lightning_params orphan;
    attn4j_lightning_params_init(&orphan);
    orphan.cu_seqlens = good;
    expect(orphan, nullptr, ATTN4J_STATUS_INVALID_PARAM, "params.cu_seqlens is set but params.num_seqs = 0");
}

}  // namespace
}  // namespace attn4j::test
