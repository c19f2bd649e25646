// Lightning Attention-2 on CUDA devices against the fp64 reference: bf16 and f16, head dims 64 and
// 128, decay or none, GQA, initial and final states, f32 or same-dtype output, lengths that are not
// whole chunks and lengths across several segments; prefill then decode equals one longer prefill.
// Skips (visibly) without a device.
#include <gtest/gtest.h>

#include <cmath>

#include "attn4j.h"
#include "cpu/reference/lightning_reference.h"
#include "cuda_test_support.h"
#include "fill_problem.h"
#include "test_support.h"

namespace attn4j::test {
namespace {

struct LightningGpuCase {
    std::string name;
    int64_t batch, heads_q, heads_kv, len, dim;
    int slopes = 1;  // 0: no decay, 1: TransNormerLLM slopes, 2: heavy decay
    bool state_in = false, out_f32 = false;
    bool state_out = true;  // the final state asked for (without it the last run's state is not needed)
};

void PrintTo(const LightningGpuCase &c, std::ostream *os) { *os << c.name; }

std::vector<LightningGpuCase> cases() {
    std::vector<LightningGpuCase> c;
    for (int64_t d : {64, 128}) {
        const std::string s = "_d" + std::to_string(d);
        c.push_back({"decay" + s, 1, 4, 4, 1000, d});
        c.push_back({"no_decay" + s, 2, 2, 2, 300, d, 0});
        c.push_back({"heavy_decay_state" + s, 1, 2, 2, 257, d, 2, true});
        c.push_back({"gqa_f32_out" + s, 1, 8, 2, 129, d, 1, true, true});
        c.push_back({"tiny" + s, 1, 1, 1, 1, d, 1, true});
    }
    c.push_back({"two_segments_d64", 1, 2, 2, 70000, 64, 1, true});
    c.push_back({"two_segments_gqa_d128", 1, 4, 2, 70000, 128, 1, true});
    // Enough heads and chunks that each block walks a run of several chunks (about eight blocks per SM
    // on an H100: runs of 3 and 2 chunks here, the last one shorter).
    c.push_back({"runs_of_chunks_gqa_d64", 2, 8, 4, 20000, 64, 1, true});
    c.push_back({"runs_of_chunks_heavy_d128", 1, 16, 16, 12000, 128, 2, true, true});
    c.push_back({"runs_of_chunks_no_decay_d128", 2, 8, 8, 9000, 128, 0});
    c.push_back({"no_final_state_d128", 1, 4, 4, 1000, 128, 1, false, false, false});
    c.push_back({"two_segments_no_final_state_d128", 1, 2, 2, 70000, 128, 1, true, false, false});
    return c;
}

class CudaLightning : public ::testing::TestWithParam<LightningGpuCase> {
protected:
    void SetUp() override {
        if (attn4j_cuda_device_count() == 0)
            GTEST_SKIP() << "no CUDA device (cuda available in this build: " << attn4j_cuda_available() << ")";
    }
};

std::vector<float> slopes_for(int kind, int64_t heads) {
    std::vector<float> s(static_cast<size_t>(heads));
    attn4j_lightning_slopes(static_cast<int32_t>(heads), 0, 1, s.data());
    if (kind == 2)
        for (float &x : s) x *= 20.0f;
    return s;
}

TEST_P(CudaLightning, MatchesFp64Reference) {
    const LightningGpuCase &c = GetParam();
    // Both kernels where both exist: the wgmma passes (Hopper, d = 128, default) and the mma.sync ones.
    for (const char *wgmma : {"1", "0"})
    for (int32_t dtype : {ATTN4J_DTYPE_BF16, ATTN4J_DTYPE_F16}) {
        setenv("ATTN4J_CUDA_WGMMA", wgmma, 1);
        SCOPED_TRACE(std::string(dtype == ATTN4J_DTYPE_BF16 ? "bf16" : "f16") + ", ATTN4J_CUDA_WGMMA=" + wgmma +
                     ", seed " + std::to_string(run_seed()));
        std::mt19937_64 rng(run_seed() ^ std::hash<std::string>{}(c.name));
        const float std = 1.0f / std::sqrt(std::sqrt(static_cast<float>(c.dim)));  // keeps q.k near 1
        DeviceTensor q(dtype, c.batch, c.heads_q, c.len, c.dim, false), k(dtype, c.batch, c.heads_kv, c.len, c.dim, false);
        DeviceTensor v(dtype, c.batch, c.heads_kv, c.len, c.dim, false);
        DeviceTensor out(c.out_f32 ? ATTN4J_DTYPE_F32 : dtype, c.batch, c.heads_q, c.len, c.dim, false);
        DeviceTensor s_in(ATTN4J_DTYPE_F32, c.batch, c.heads_q, c.dim, c.dim, false);
        DeviceTensor s_out(ATTN4J_DTYPE_F32, c.batch, c.heads_q, c.dim, c.dim, false);
        q.fill_normal(rng, std);
        k.fill_normal(rng, std);
        v.fill_normal(rng, 1.0f);
        s_in.fill_normal(rng, 1.0f);
        out.poison();
        s_out.poison();
        std::vector<float> slopes = slopes_for(c.slopes, c.heads_q);
        attn4j_lightning_params p{sizeof(attn4j_lightning_params)};
        if (c.slopes != 0) {
            p.slopes = slopes.data();
            p.num_slopes = static_cast<int32_t>(c.heads_q);
        }
        ASSERT_EQ(attn4j_lightning_forward(&q.t, &k.t, &v.t, &out.t, c.state_in ? &s_in.t : nullptr,
                                           c.state_out ? &s_out.t : nullptr, &p),
                  ATTN4J_STATUS_OK)
            << attn4j_last_error();
        ASSERT_EQ(attn4j_cuda_synchronize(0), ATTN4J_STATUS_OK) << attn4j_last_error();
        out.download();
        s_out.download();
        std::vector<double> ref, ref_state;
        if (c.len <= 4096) {
            cpu::lightning_reference(make_lightning_problem(&q.host.t, &k.host.t, &v.host.t, &out.host.t,
                                                            c.state_in ? &s_in.host.t : nullptr, &s_out.host.t, p),
                                     ref, ref_state);
        } else {
            // The quadratic reference is out of reach here: the CPU kernels (checked against it on
            // every ISA) on the same stored values, in fp32.
            HostTensor o(ATTN4J_DTYPE_F32, c.batch, c.heads_q, c.len, c.dim), st(ATTN4J_DTYPE_F32, c.batch, c.heads_q, c.dim, c.dim);
            ASSERT_EQ(attn4j_lightning_forward(&q.host.t, &k.host.t, &v.host.t, &o.t, c.state_in ? &s_in.host.t : nullptr,
                                               &st.t, &p),
                      ATTN4J_STATUS_OK);
            for (float x : dense(o)) ref.push_back(x);
            for (float x : dense(st)) ref_state.push_back(x);
        }
        EXPECT_LE(rel_l2(out.host, ref), 1e-2) << "relative L2 error of out";
        if (c.state_out) EXPECT_LE(rel_l2(s_out.host, ref_state), 1e-2) << "relative L2 error of the final state";
    }
    unsetenv("ATTN4J_CUDA_WGMMA");
}

INSTANTIATE_TEST_SUITE_P(Cases, CudaLightning, ::testing::ValuesIn(cases()),
                         [](const ::testing::TestParamInfo<LightningGpuCase> &i) { return i.param.name; });

// Prefill of N tokens, then decode of 3 (one call each, state in place) == prefill of N + 3.
TEST(CudaLightningState, PrefillThenDecodeEqualsOneLongerPrefill) {
    if (attn4j_cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device";
    for (int64_t d : {64, 128}) {
        SCOPED_TRACE("d " + std::to_string(d) + ", seed " + std::to_string(run_seed()));
        const int64_t n = 200, extra = 3, H = 2;
        std::mt19937_64 rng(run_seed());
        DeviceTensor q(ATTN4J_DTYPE_BF16, 1, H, n + extra, d, false), k(ATTN4J_DTYPE_BF16, 1, H, n + extra, d, false);
        DeviceTensor v(ATTN4J_DTYPE_BF16, 1, H, n + extra, d, false), full(ATTN4J_DTYPE_F32, 1, H, n + extra, d, false);
        DeviceTensor part(ATTN4J_DTYPE_F32, 1, H, n + extra, d, false), state(ATTN4J_DTYPE_F32, 1, H, d, d, false);
        q.fill_normal(rng, 0.35f);
        k.fill_normal(rng, 0.35f);
        v.fill_normal(rng, 1.0f);
        std::vector<float> slopes = slopes_for(1, H);
        attn4j_lightning_params p{sizeof(attn4j_lightning_params), slopes.data(), static_cast<int32_t>(H), 0, 0, nullptr};
        ASSERT_EQ(attn4j_lightning_forward(&q.t, &k.t, &v.t, &full.t, nullptr, nullptr, &p), ATTN4J_STATUS_OK) << attn4j_last_error();
        auto rows = [](const attn4j_tensor &t, int64_t i0, int64_t count) {
            attn4j_tensor s = t;
            s.data = static_cast<char *>(t.data) + i0 * t.strides[2] * (t.dtype == ATTN4J_DTYPE_F32 ? 4 : 2);
            s.shape[2] = count;
            return s;
        };
        attn4j_tensor q0 = rows(q.t, 0, n), k0 = rows(k.t, 0, n), v0 = rows(v.t, 0, n), o0 = rows(part.t, 0, n);
        ASSERT_EQ(attn4j_lightning_forward(&q0, &k0, &v0, &o0, nullptr, &state.t, &p), ATTN4J_STATUS_OK) << attn4j_last_error();
        for (int64_t i = n; i < n + extra; ++i) {
            attn4j_tensor qi = rows(q.t, i, 1), ki = rows(k.t, i, 1), vi = rows(v.t, i, 1), oi = rows(part.t, i, 1);
            ASSERT_EQ(attn4j_lightning_decode(&qi, &ki, &vi, &oi, &state.t, &p), ATTN4J_STATUS_OK) << attn4j_last_error();
        }
        ASSERT_EQ(attn4j_cuda_synchronize(0), ATTN4J_STATUS_OK);
        full.download();
        part.download();
        std::vector<double> ref(full.host.bytes.size() / 4);
        for (size_t i = 0; i < ref.size(); ++i) ref[i] = reinterpret_cast<const float *>(full.host.bytes.data())[i];
        EXPECT_LE(rel_l2(part.host, ref), 2e-3);
    }
}

TEST(CudaLightningErrors, UnsupportedShapesAreNamed) {
    if (attn4j_cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device";
    DeviceTensor q(ATTN4J_DTYPE_BF16, 1, 2, 8, 96, false), k(ATTN4J_DTYPE_BF16, 1, 2, 8, 96, false);
    DeviceTensor v(ATTN4J_DTYPE_BF16, 1, 2, 8, 96, false), out(ATTN4J_DTYPE_BF16, 1, 2, 8, 96, false);
    EXPECT_EQ(attn4j_lightning_forward(&q.t, &k.t, &v.t, &out.t, nullptr, nullptr, nullptr), ATTN4J_STATUS_UNSUPPORTED);
    EXPECT_NE(std::string(attn4j_last_error()).find("head dims 64 and 128"), std::string::npos) << attn4j_last_error();
    DeviceTensor q2(ATTN4J_DTYPE_BF16, 1, 2, 8, 64, false), o2(ATTN4J_DTYPE_BF16, 1, 2, 8, 64, false);
    HostTensor host_state(ATTN4J_DTYPE_F32, 1, 2, 64, 64);
    EXPECT_EQ(attn4j_lightning_forward(&q2.t, &q2.t, &q2.t, &o2.t, &host_state.t, nullptr, nullptr), ATTN4J_STATUS_INVALID_DEVICE);
    EXPECT_NE(std::string(attn4j_last_error()).find("state_in.device"), std::string::npos) << attn4j_last_error();
}

}  // namespace
}  // namespace attn4j::test
