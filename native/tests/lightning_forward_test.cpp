// Lightning Attention-2: the case table (lightning_cases.cpp) on every backend, against the fp64
// quadratic reference; the state handed between calls (chunked prefill, prefill then decode) against
// one long call; bad arguments.
#include <chrono>
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>

#include "attn4j.h"
#include "cpu/reference/lightning_reference.h"
#include "backends.h"
#include "cuda_test_support.h"
#include "fill_problem.h"
#include "lightning_cases.h"
#include "npy.h"
#include "test_support.h"

#include <sys/stat.h>

#include <fstream>

namespace attn4j::test {
namespace {

struct LightningRun {
    HostTensor q, k, v, out, state_in, state_out;
    std::vector<float> slopes;
    attn4j_lightning_params params{sizeof(attn4j_lightning_params)};
};

LightningRun make_run(const LightningCase &c, uint64_t seed) {
    std::mt19937_64 rng(seed);
    LightningRun r;
    r.q = HostTensor(c.dtype, c.batch, c.heads_q, c.len, c.dim, c.bnhd);
    r.k = HostTensor(c.dtype, c.batch, c.heads_kv, c.len, c.dim, c.bnhd);
    r.v = HostTensor(c.dtype, c.batch, c.heads_kv, c.len, c.dim_v, c.bnhd);
    r.out = HostTensor(c.out_dtype, c.batch, c.heads_q, c.len, c.dim_v, c.bnhd);
    r.state_in = HostTensor(ATTN4J_DTYPE_F32, c.batch, c.heads_q, c.dim, c.dim_v);
    r.state_out = HostTensor(ATTN4J_DTYPE_F32, c.batch, c.heads_q, c.dim, c.dim_v);
    const float std = 1.0f / std::sqrt(static_cast<float>(c.dim));  // keeps q.k near 1
    r.q.fill_normal(rng, std::sqrt(std));
    r.k.fill_normal(rng, std::sqrt(std));
    r.v.fill_normal(rng, 1.0f);
    r.state_in.fill_normal(rng, 1.0f);
    r.slopes = lightning_slopes(c.slopes, c.heads_q);
    r.params = attn4j_lightning_params{sizeof(attn4j_lightning_params), c.slopes == 0 ? nullptr : r.slopes.data(),
                                       c.slopes == 0 ? 0 : static_cast<int32_t>(c.heads_q), c.block, c.threads};
    return r;
}

// A CPU ISA against the fp64 reference.
void run_on_cpu(const LightningCase &c, const Backend &b) {
    LightningRun r = make_run(c, run_seed() ^ std::hash<std::string>{}(c.name));
    const attn4j_tensor *sin = c.state_in ? &r.state_in.t : nullptr, *sout = c.state_out ? &r.state_out.t : nullptr;
    std::vector<double> ref_out, ref_state;
    cpu::lightning_reference(make_lightning_problem(&r.q.t, &r.k.t, &r.v.t, &r.out.t, sin, &r.state_out.t, r.params),
                             ref_out, ref_state);
    const UseIsa isa(b);
    r.out.poison();
    r.state_out.poison();
    ASSERT_EQ(attn4j_lightning_forward(&r.q.t, &r.k.t, &r.v.t, &r.out.t, sin, sout, &r.params), ATTN4J_STATUS_OK)
        << attn4j_last_error();
    EXPECT_LE(rel_l2(r.out, ref_out), c.tolerance()) << "relative L2 error of out";
    if (c.state_out) EXPECT_LE(rel_l2(r.state_out, ref_state), c.state_tolerance()) << "relative L2 error of the final state";
}

// The first CUDA device, through every kernel it has for the call (16-bit storage: out and state within
// 1e-2), against the fp64 reference, or past its reach the CPU kernel on the same stored values.
void run_on_cuda(const LightningCase &c) {
    for_each_cuda_kernel([&](const std::string &kernel) {
        SCOPED_TRACE(kernel);
        std::mt19937_64 rng(run_seed() ^ std::hash<std::string>{}(c.name));
        const float std = 1.0f / std::sqrt(std::sqrt(static_cast<float>(c.dim)));  // keeps q.k near 1
        DeviceTensor q(c.dtype, c.batch, c.heads_q, c.len, c.dim, c.bnhd), k(c.dtype, c.batch, c.heads_kv, c.len, c.dim, c.bnhd);
        DeviceTensor v(c.dtype, c.batch, c.heads_kv, c.len, c.dim_v, c.bnhd);
        DeviceTensor out(c.out_dtype, c.batch, c.heads_q, c.len, c.dim_v, c.bnhd);
        DeviceTensor s_in(ATTN4J_DTYPE_F32, c.batch, c.heads_q, c.dim, c.dim_v, false);
        DeviceTensor s_out(ATTN4J_DTYPE_F32, c.batch, c.heads_q, c.dim, c.dim_v, false);
        q.fill_normal(rng, std);
        k.fill_normal(rng, std);
        v.fill_normal(rng, 1.0f);
        s_in.fill_normal(rng, 1.0f);
        out.poison();
        s_out.poison();
        const std::vector<float> slopes = lightning_slopes(c.slopes, c.heads_q);
        attn4j_lightning_params p;
        attn4j_lightning_params_init(&p);
        if (c.slopes != 0) {
            p.slopes = slopes.data();
            p.num_slopes = static_cast<int32_t>(c.heads_q);
        }
        p.block_size = c.block;
        p.num_threads = c.threads;
        ASSERT_EQ(attn4j_lightning_forward(&q.t, &k.t, &v.t, &out.t, c.state_in ? &s_in.t : nullptr,
                                           c.state_out ? &s_out.t : nullptr, &p),
                  ATTN4J_STATUS_OK)
            << attn4j_last_error();
        ASSERT_EQ(attn4j_cuda_synchronize(0), ATTN4J_STATUS_OK) << attn4j_last_error();
        out.download();
        s_out.download();
        std::vector<double> ref, ref_state;
        if (c.len <= kLightningReferenceMaxLen) {
            cpu::lightning_reference(make_lightning_problem(&q.host.t, &k.host.t, &v.host.t, &out.host.t,
                                                            c.state_in ? &s_in.host.t : nullptr, &s_out.host.t, p),
                                     ref, ref_state);
        } else {
            HostTensor o(ATTN4J_DTYPE_F32, c.batch, c.heads_q, c.len, c.dim_v), st(ATTN4J_DTYPE_F32, c.batch, c.heads_q, c.dim, c.dim_v);
            ASSERT_EQ(attn4j_lightning_forward(&q.host.t, &k.host.t, &v.host.t, &o.t, c.state_in ? &s_in.host.t : nullptr,
                                               &st.t, &p),
                      ATTN4J_STATUS_OK)
                << attn4j_last_error();
            for (float x : dense(o)) ref.push_back(x);
            for (float x : dense(st)) ref_state.push_back(x);
        }
        EXPECT_LE(rel_l2(out.host, ref), 1e-2) << "relative L2 error of out";
        if (c.state_out) EXPECT_LE(rel_l2(s_out.host, ref_state), 1e-2) << "relative L2 error of the final state";
    });
}

class LightningForward : public ::testing::TestWithParam<OnBackend<LightningCase>> {};

TEST_P(LightningForward, MatchesFp64Reference) {
    const LightningCase &c = GetParam().c;
    const Backend &b = GetParam().backend;
    ATTN4J_SKIP_UNLESS_RUNS("lightning", b, lightning_unsupported(c, b));
    SCOPED_TRACE("seed " + std::to_string(run_seed()) + " (set ATTN4J_SEED to repeat), case " + c.name + " on " + b.name);
    if (b.cuda()) run_on_cuda(c);
    else run_on_cpu(c, b);
}

INSTANTIATE_TEST_SUITE_P(Cases, LightningForward, ::testing::ValuesIn(on_every_backend(lightning_cases())),
                         pair_name<LightningCase>);

// Views of rows [t0, t0 + n) of a [B, H, N, D] tensor.
attn4j_tensor rows(const HostTensor &t, int64_t t0, int64_t n) {
    attn4j_tensor v = t.t;
    v.data = static_cast<char *>(t.t.data) + t0 * t.t.strides[2] * (t.t.dtype == ATTN4J_DTYPE_F32 ? 4 : 2);
    v.shape[2] = n;
    return v;
}

// Prefill of N tokens handed to decode of M more, one token at a time, equals one prefill of N + M;
// and a prefill cut into uneven chunks equals one call. On every ISA.
TEST(LightningState, ChunkedPrefillAndDecodeEqualOneLongPrefill) {
    LightningCase c{"state", 2, 4, 2, 300, 64, 48};
    SCOPED_TRACE("seed " + std::to_string(run_seed()));
    LightningRun r = make_run(c, run_seed() + 11);
    const int32_t saved = attn4j_cpu_isa();
    for (int32_t isa = ATTN4J_ISA_SCALAR; isa <= attn4j_cpu_isa_best(); ++isa) {
        SCOPED_TRACE(std::string("isa ") + attn4j_isa_name(isa));
        ASSERT_EQ(attn4j_set_cpu_isa(isa), ATTN4J_STATUS_OK);
        HostTensor whole(ATTN4J_DTYPE_F32, c.batch, c.heads_q, c.len, c.dim_v);
        HostTensor whole_state(ATTN4J_DTYPE_F32, c.batch, c.heads_q, c.dim, c.dim_v);
        ASSERT_EQ(attn4j_lightning_forward(&r.q.t, &r.k.t, &r.v.t, &whole.t, nullptr, &whole_state.t, &r.params),
                  ATTN4J_STATUS_OK);

        // Chunks 0..97, 97..200 (one call each), then decode 200..300 one token at a time, in place.
        HostTensor out(ATTN4J_DTYPE_F32, c.batch, c.heads_q, c.len, c.dim_v), state(ATTN4J_DTYPE_F32, c.batch, c.heads_q, c.dim, c.dim_v);
        out.poison();
        const int64_t cuts[] = {0, 97, 200};
        for (int i = 0; i < 2; ++i) {
            const int64_t t0 = cuts[i], n = cuts[i + 1] - cuts[i];
            attn4j_tensor q = rows(r.q, t0, n), k = rows(r.k, t0, n), v = rows(r.v, t0, n), o = rows(out, t0, n);
            ASSERT_EQ(attn4j_lightning_forward(&q, &k, &v, &o, i == 0 ? nullptr : &state.t, &state.t, &r.params),
                      ATTN4J_STATUS_OK) << attn4j_last_error();
        }
        for (int64_t t = 200; t < c.len; ++t) {
            attn4j_tensor q = rows(r.q, t, 1), k = rows(r.k, t, 1), v = rows(r.v, t, 1), o = rows(out, t, 1);
            ASSERT_EQ(attn4j_lightning_decode(&q, &k, &v, &o, &state.t, &r.params), ATTN4J_STATUS_OK) << attn4j_last_error();
        }
        std::vector<double> ref(whole.bytes.size() / 4), ref_state(whole_state.bytes.size() / 4);
        for (size_t i = 0; i < ref.size(); ++i) ref[i] = reinterpret_cast<const float *>(whole.bytes.data())[i];
        for (size_t i = 0; i < ref_state.size(); ++i) ref_state[i] = reinterpret_cast<const float *>(whole_state.bytes.data())[i];
        EXPECT_LE(rel_l2(out, ref), 1e-5);
        EXPECT_LE(rel_l2(state, ref_state), 1e-5);
    }
    attn4j_set_cpu_isa(saved);
}

TEST(LightningSlopes, MatchAlibiAndTransNormerScaling) {
    float s8[8], s6[6], layer[4];
    ASSERT_EQ(attn4j_lightning_slopes(8, 0, 1, s8), ATTN4J_STATUS_OK);
    for (int h = 0; h < 8; ++h) EXPECT_FLOAT_EQ(s8[h], std::pow(2.0f, -(h + 1.0f)));  // 2^(-8/8 * (h+1))
    ASSERT_EQ(attn4j_lightning_slopes(6, 0, 1, s6), ATTN4J_STATUS_OK);
    const float want6[6] = {std::pow(2.0f, -2.0f), std::pow(2.0f, -4.0f), std::pow(2.0f, -6.0f), std::pow(2.0f, -8.0f),
                            std::pow(2.0f, -1.0f), std::pow(2.0f, -3.0f)};
    for (int h = 0; h < 6; ++h) EXPECT_FLOAT_EQ(s6[h], want6[h]) << h;
    ASSERT_EQ(attn4j_lightning_slopes(4, 2, 3, layer), ATTN4J_STATUS_OK);  // last layer: factor 1e-5
    EXPECT_FLOAT_EQ(layer[0], std::pow(2.0f, -2.0f) * 1e-5f);
    EXPECT_EQ(attn4j_lightning_slopes(4, 3, 3, layer), ATTN4J_STATUS_INVALID_PARAM);
    EXPECT_NE(std::string(attn4j_last_error()).find("layer = 3"), std::string::npos);
    EXPECT_EQ(attn4j_lightning_slopes(0, 0, 1, layer), ATTN4J_STATUS_INVALID_PARAM);
    EXPECT_EQ(attn4j_lightning_slopes(4, 0, 1, nullptr), ATTN4J_STATUS_NULL_ARGUMENT);
}

struct BadLightning {
    const char *name;
    std::function<void(LightningRun &)> corrupt;
    int32_t status;
    const char *message;
};

void PrintTo(const BadLightning &c, std::ostream *os) { *os << c.name; }

const BadLightning kBad[] = {
    {"k_length", [](LightningRun &r) { r.k.t.shape[2] = 7; r.v.t.shape[2] = 7; }, ATTN4J_STATUS_INVALID_SHAPE, "k.shape[2] = 7"},
    {"gqa", [](LightningRun &r) { r.k.t.shape[1] = r.v.t.shape[1] = 3; }, ATTN4J_STATUS_INVALID_SHAPE, "does not divide"},
    {"out_dims", [](LightningRun &r) { r.out.t.shape[3] = 3; }, ATTN4J_STATUS_INVALID_SHAPE, "out.shape[3] = 3"},
    {"state_shape", [](LightningRun &r) { r.state_out.t.shape[2] = 5; }, ATTN4J_STATUS_INVALID_SHAPE, "state_out.shape[2] = 5"},
    {"state_dtype", [](LightningRun &r) { r.state_in.t.dtype = ATTN4J_DTYPE_BF16; }, ATTN4J_STATUS_INVALID_DTYPE, "state_in.dtype = bf16"},
    {"slopes_count", [](LightningRun &r) { r.params.num_slopes = 3; }, ATTN4J_STATUS_INVALID_PARAM, "params.num_slopes = 3"},
    {"slopes_null", [](LightningRun &r) { r.params.slopes = nullptr; }, ATTN4J_STATUS_NULL_ARGUMENT, "params.slopes is NULL"},
    {"slope_negative", [](LightningRun &r) { r.slopes[1] = -0.5f; }, ATTN4J_STATUS_INVALID_PARAM, "params.slopes[1] = -0.5"},
    {"slope_nan", [](LightningRun &r) { r.slopes[0] = std::nanf(""); }, ATTN4J_STATUS_INVALID_PARAM, "params.slopes[0]"},
    {"block_big", [](LightningRun &r) { r.params.block_size = 1000; }, ATTN4J_STATUS_INVALID_PARAM, "params.block_size = 1000"},
    {"block_negative", [](LightningRun &r) { r.params.block_size = -1; }, ATTN4J_STATUS_INVALID_PARAM, "params.block_size = -1"},
    {"threads", [](LightningRun &r) { r.params.num_threads = -2; }, ATTN4J_STATUS_INVALID_PARAM, "params.num_threads = -2"},
    {"out_aliases_state", [](LightningRun &r) { r.out.t.data = r.state_in.t.data; }, ATTN4J_STATUS_ALIASING, "out overlaps state_in"},
    {"state_partial_overlap", [](LightningRun &r) { r.state_out.t.data = static_cast<float *>(r.state_in.t.data) + 1; r.state_in.t.shape[0] = 1; },
     ATTN4J_STATUS_INVALID_SHAPE, "state_in.shape[0] = 1"},
    {"state_overlap", [](LightningRun &r) { r.state_out.t.data = static_cast<float *>(r.state_in.t.data) + 1; },
     ATTN4J_STATUS_ALIASING, "state_out overlaps state_in"},
    {"q_null", [](LightningRun &r) { r.q.t.data = nullptr; }, ATTN4J_STATUS_NULL_ARGUMENT, "q.data is NULL"},
};

class LightningErrors : public ::testing::TestWithParam<BadLightning> {};

TEST_P(LightningErrors, ReturnsStatusAndNamesTheArgument) {
    const BadLightning &bc = GetParam();
    LightningCase c{"bad", 2, 4, 2, 10, 16, 16};
    LightningRun r = make_run(c, 1);
    bc.corrupt(r);
    const int32_t st = attn4j_lightning_forward(&r.q.t, &r.k.t, &r.v.t, &r.out.t, &r.state_in.t, &r.state_out.t, &r.params);
    EXPECT_EQ(st, bc.status) << attn4j_status_name(st) << ": " << attn4j_last_error();
    EXPECT_NE(std::string(attn4j_last_error()).find(bc.message), std::string::npos) << attn4j_last_error();
}

INSTANTIATE_TEST_SUITE_P(BadArguments, LightningErrors, ::testing::ValuesIn(kBad),
                         [](const ::testing::TestParamInfo<BadLightning> &i) { return std::string(i.param.name); });

TEST(LightningErrorsNull, DecodeNeedsAState) {
    LightningCase c{"bad", 1, 1, 1, 1, 16, 16};
    LightningRun r = make_run(c, 1);
    EXPECT_EQ(attn4j_lightning_decode(&r.q.t, &r.k.t, &r.v.t, &r.out.t, nullptr, &r.params), ATTN4J_STATUS_NULL_ARGUMENT);
    EXPECT_STREQ(attn4j_last_error(), "state is NULL");
}

// Zero tokens and no state out: nothing to write, so a head count that only zero strides can describe
// returns at once instead of visiting every head.
TEST(LightningEmpty, NothingToWriteReturnsWithoutVisitingHeads) {
    const int64_t heads = int64_t(1) << 40;
    float one = 1.0f;
    const attn4j_tensor q{&one, ATTN4J_DTYPE_F32, ATTN4J_DEVICE_HOST, {1, heads, 0, 4}, {0, 0, 4, 1}};
    const attn4j_tensor kv{&one, ATTN4J_DTYPE_F32, ATTN4J_DEVICE_HOST, {1, heads, 0, 4}, {0, 0, 4, 1}};
    const attn4j_tensor out{&one, ATTN4J_DTYPE_F32, ATTN4J_DEVICE_HOST, {1, heads, 0, 4}, {0, 0, 4, 1}};
    const auto start = std::chrono::steady_clock::now();
    ASSERT_EQ(attn4j_lightning_forward(&q, &kv, &kv, &out, nullptr, nullptr, nullptr), ATTN4J_STATUS_OK)
        << attn4j_last_error();
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
    EXPECT_EQ(one, 1.0f);
}

}  // namespace
}  // namespace attn4j::test

namespace attn4j::test {
namespace {

// Cross-language parity vectors for LightningParityTest (Java): inputs, initial state, the C++
// outputs and the fp64 reference, as .npy plus case.properties.
TEST(LightningParityVectors, WritesInputsReferenceAndCppOutput) {
    const LightningCase chosen[] = {
        {"decay", 1, 4, 2, 150, 32, 48, 1, 0, true},
        {"no_decay_block7", 2, 2, 2, 60, 16, 16, 0, 7, false},
        {"bf16_heavy_decay", 1, 2, 1, 90, 64, 32, 2, 0, true, ATTN4J_DTYPE_BF16},
    };
    for (const LightningCase &c : chosen) {
        SCOPED_TRACE(c.name);
        LightningRun r = make_run(c, run_seed() ^ 0x11);
        r.out.poison();
        const attn4j_tensor *sin = c.state_in ? &r.state_in.t : nullptr;
        ASSERT_EQ(attn4j_lightning_forward(&r.q.t, &r.k.t, &r.v.t, &r.out.t, sin, &r.state_out.t, &r.params),
                  ATTN4J_STATUS_OK) << attn4j_last_error();
        std::vector<double> ref_out, ref_state;
        cpu::lightning_reference(make_lightning_problem(&r.q.t, &r.k.t, &r.v.t, &r.out.t, sin, &r.state_out.t, r.params),
                                 ref_out, ref_state);
        ASSERT_LE(rel_l2(r.out, ref_out), c.tolerance());
        const std::string dir = parity_dir() + "/lightning_" + c.name;
        ::mkdir(dir.c_str(), 0755);
        ASSERT_TRUE(write_npy(dir + "/q.npy", dense(r.q), shape_of(r.q)));
        ASSERT_TRUE(write_npy(dir + "/k.npy", dense(r.k), shape_of(r.k)));
        ASSERT_TRUE(write_npy(dir + "/v.npy", dense(r.v), shape_of(r.v)));
        if (c.state_in) ASSERT_TRUE(write_npy(dir + "/state_in.npy", dense(r.state_in), shape_of(r.state_in)));
        ASSERT_TRUE(write_npy(dir + "/out_cpp.npy", dense(r.out), shape_of(r.out)));
        ASSERT_TRUE(write_npy(dir + "/state_cpp.npy", dense(r.state_out), shape_of(r.state_out)));
        ASSERT_TRUE(write_npy(dir + "/out_ref.npy", ref_out, shape_of(r.out)));
        ASSERT_TRUE(write_npy(dir + "/state_ref.npy", ref_state, shape_of(r.state_out)));
        std::ofstream props(dir + "/case.properties");
        props << "dtype=" << (c.dtype == ATTN4J_DTYPE_BF16 ? "bf16" : "f32") << "\nblock=" << c.block << "\nslopes=";
        if (c.slopes != 0)
            for (size_t h = 0; h < r.slopes.size(); ++h) props << (h ? "," : "") << std::hexfloat << r.slopes[h];
        props << "\nisa=" << attn4j_isa_name(attn4j_cpu_isa()) << "\n";
        ASSERT_TRUE(props.good());
    }
}

}  // namespace
}  // namespace attn4j::test
