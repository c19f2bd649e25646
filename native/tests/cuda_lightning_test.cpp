// Lightning Attention-2 on CUDA devices, what the shared case table (lightning_cases.cpp, run on every
// backend by lightning_forward_test.cpp) does not cover: prefill then decode equals one longer
// prefill, and the errors only CUDA gives. Skips (visibly) without a device.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "attn4j.h"
#include "cuda_test_support.h"
#include "lightning_cases.h"
#include "test_support.h"

namespace attn4j::test {
namespace {

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
        std::vector<float> slopes = lightning_slopes(1, H);
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

// Packed sequences (host prefix sums): each sequence's output and final state equal its call alone, bit
// for bit, and a zero-length sequence hands its state through; device prefix sums are refused.
TEST(CudaLightningSequences, PackedEqualsEachSequenceAlone) {
    if (attn4j_cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device";
    const std::vector<int32_t> lens = {300, 0, 1, 129, 64};
    std::vector<int32_t> cu{0};
    for (int32_t n : lens) cu.push_back(cu.back() + n);
    const int64_t S = static_cast<int64_t>(lens.size()), total = cu.back(), H = 4, HKV = 2;
    for (int64_t d : {64, 128}) {
        SCOPED_TRACE("d " + std::to_string(d) + ", seed " + std::to_string(run_seed()));
        std::mt19937_64 rng(run_seed() ^ 0x1a);
        DeviceTensor q(ATTN4J_DTYPE_BF16, 1, H, total, d, false), k(ATTN4J_DTYPE_BF16, 1, HKV, total, d, false);
        DeviceTensor v(ATTN4J_DTYPE_BF16, 1, HKV, total, d, false), out(ATTN4J_DTYPE_F32, 1, H, total, d, false);
        DeviceTensor s_in(ATTN4J_DTYPE_F32, S, H, d, d, false), s_out(ATTN4J_DTYPE_F32, S, H, d, d, false);
        q.fill_normal(rng, 0.35f);
        k.fill_normal(rng, 0.35f);
        v.fill_normal(rng, 1.0f);
        s_in.fill_normal(rng, 0.5f);
        out.poison();
        s_out.poison();
        std::vector<float> slopes = lightning_slopes(1, H);
        attn4j_lightning_params p;
        attn4j_lightning_params_init(&p);
        p.slopes = slopes.data();
        p.num_slopes = static_cast<int32_t>(H);
        p.cu_seqlens = cu.data();
        p.num_seqs = static_cast<int32_t>(S);
        ASSERT_EQ(attn4j_lightning_forward(&q.t, &k.t, &v.t, &out.t, &s_in.t, &s_out.t, &p), ATTN4J_STATUS_OK)
            << attn4j_last_error();
        ASSERT_EQ(attn4j_cuda_synchronize(0), ATTN4J_STATUS_OK);
        out.download();
        s_out.download();
        attn4j_lightning_params alone = p;
        alone.cu_seqlens = nullptr;
        alone.num_seqs = 0;
        for (int64_t b = 0; b < S; ++b) {
            SCOPED_TRACE("sequence " + std::to_string(b));
            auto rows = [&](const attn4j_tensor &t, int64_t i0, int64_t count) {
                attn4j_tensor x = t;
                x.data = static_cast<char *>(t.data) + i0 * t.strides[2] * (t.dtype == ATTN4J_DTYPE_F32 ? 4 : 2);
                x.shape[2] = count;
                return x;
            };
            auto entry = [&](const attn4j_tensor &t) {
                attn4j_tensor x = t;
                x.data = static_cast<float *>(t.data) + b * t.strides[0];
                x.shape[0] = 1;
                return x;
            };
            DeviceTensor ob(ATTN4J_DTYPE_F32, 1, H, lens[b], d, false), sob(ATTN4J_DTYPE_F32, 1, H, d, d, false);
            ob.poison();
            sob.poison();
            const attn4j_tensor qb = rows(q.t, cu[b], lens[b]), kb = rows(k.t, cu[b], lens[b]), vb = rows(v.t, cu[b], lens[b]);
            const attn4j_tensor sb = entry(s_in.t);
            ASSERT_EQ(attn4j_lightning_forward(&qb, &kb, &vb, &ob.t, &sb, &sob.t, &alone), ATTN4J_STATUS_OK)
                << attn4j_last_error();
            ASSERT_EQ(attn4j_cuda_synchronize(0), ATTN4J_STATUS_OK);
            ob.download();
            sob.download();
            for (int64_t h = 0; h < H; ++h) {
                for (int64_t i = 0; i < lens[b]; ++i)
                    for (int64_t e = 0; e < d; ++e)
                        ASSERT_EQ(ob.host.get(0, h, i, e), out.host.get(0, h, cu[b] + i, e)) << "out, head " << h << " row " << i;
                for (int64_t i = 0; i < d; ++i)
                    for (int64_t e = 0; e < d; ++e)
                        ASSERT_EQ(sob.host.get(0, h, i, e), s_out.host.get(b, h, i, e)) << "state, head " << h;
            }
            if (lens[b] == 0)
                for (int64_t e = 0; e < d; ++e) ASSERT_EQ(s_out.host.get(b, 0, 0, e), s_in.host.get(b, 0, 0, e)) << "passed through";
        }
        void *dcu = nullptr;
        ASSERT_EQ(attn4j_cuda_malloc(0, static_cast<int64_t>(cu.size() * 4), &dcu), ATTN4J_STATUS_OK);
        ASSERT_EQ(attn4j_cuda_memcpy(dcu, cu.data(), static_cast<int64_t>(cu.size() * 4), ATTN4J_COPY_HOST_TO_DEVICE),
                  ATTN4J_STATUS_OK);
        attn4j_lightning_params on_device = p;
        on_device.cu_seqlens = static_cast<const int32_t *>(dcu);
        EXPECT_EQ(attn4j_lightning_forward(&q.t, &k.t, &v.t, &out.t, nullptr, nullptr, &on_device), ATTN4J_STATUS_UNSUPPORTED);
        EXPECT_NE(std::string(attn4j_last_error()).find("params.cu_seqlens is device memory"), std::string::npos)
            << attn4j_last_error();
        attn4j_cuda_free(0, dcu);
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
