// FlashAttention on CUDA devices against the fp64 reference: bf16 and f16, head dims 64, 128 and 256,
// every mask option, GQA, LSE, q_len != kv_len, poisoned outputs. Skips (visibly) without a device.
#include <cstdlib>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>

#include "attn4j.h"
#include "common/bf16.h"
#include "cpu/reference/flash_reference.h"
#include "fill_problem.h"
#include "cuda_test_support.h"
#include "test_support.h"

namespace attn4j::test {
namespace {

struct CudaCase {
    std::string name;
    int64_t batch, heads_q, heads_kv, len_q, len_k, dim;
    bool causal = false;
    int32_t window_left = -1, window_right = -1;
    float softcap = 0.0f, scale = 0.0f;
    bool out_f32 = false, bnhd = false;
};

void PrintTo(const CudaCase &c, std::ostream *os) { *os << c.name; }

std::vector<CudaCase> cuda_cases() {
    std::vector<CudaCase> c;
    for (int64_t d : {64, 128}) {
        const std::string s = "_d" + std::to_string(d);
        c.push_back({"full" + s, 2, 4, 4, 1000, 1000, d});
        c.push_back({"causal" + s, 1, 4, 4, 777, 777, d, true});
        c.push_back({"gqa" + s, 1, 8, 2, 300, 300, d, true});
        c.push_back({"window" + s, 1, 2, 2, 500, 500, d, false, 64, 0});
        c.push_back({"decode" + s, 2, 4, 1, 1, 3000, d, true});
        c.push_back({"decode_split_keys" + s, 1, 8, 2, 4, 20000, d});
        c.push_back({"decode_window" + s, 1, 4, 2, 2, 5000, d, false, 700, 0});
        c.push_back({"chunk" + s, 1, 2, 2, 100, 1300, d, true});
        c.push_back({"masked_rows" + s, 1, 2, 2, 100, 30, d, true});
        c.push_back({"softcap_scale" + s, 1, 2, 2, 257, 257, d, false, -1, -1, 20.0f, 0.3f});
        c.push_back({"f32_out_bnhd" + s, 2, 2, 2, 65, 129, d, false, -1, -1, 0.0f, 0.0f, true, true});
        c.push_back({"tiny" + s, 1, 1, 1, 1, 1, d});
    }
    // d = 256 (mma.sync kernel only): dense, causal with GQA, split-key decode, f32 output.
    c.push_back({"full_d256", 1, 2, 2, 300, 300, 256});
    c.push_back({"gqa_causal_d256", 1, 4, 2, 333, 333, 256, true});
    c.push_back({"decode_split_keys_d256", 1, 4, 1, 2, 9000, 256});
    c.push_back({"f32_out_bnhd_d256", 1, 2, 2, 65, 129, 256, false, -1, -1, 0.0f, 0.0f, true, true});
    return c;
}

class CudaFlash : public ::testing::TestWithParam<CudaCase> {
protected:
    void SetUp() override {
        if (attn4j_cuda_device_count() == 0)
            GTEST_SKIP() << "no CUDA device (cuda available in this build: " << attn4j_cuda_available() << ")";
    }
};

TEST_P(CudaFlash, MatchesFp64Reference) {
    const CudaCase &c = GetParam();
    // Both kernels where both exist: the wgmma kernel (Hopper, d = 128, default) and the mma.sync one.
    for (const char *wgmma : {"1", "0"})
    for (int32_t dtype : {ATTN4J_DTYPE_BF16, ATTN4J_DTYPE_F16}) {
        setenv("ATTN4J_CUDA_WGMMA", wgmma, 1);
        SCOPED_TRACE(std::string(dtype == ATTN4J_DTYPE_BF16 ? "bf16" : "f16") + ", ATTN4J_CUDA_WGMMA=" + wgmma +
                     ", seed " + std::to_string(run_seed()));
        std::mt19937_64 rng(run_seed() ^ std::hash<std::string>{}(c.name));
        AttentionTensors at(dtype, c.batch, c.heads_q, c.heads_kv, c.len_q, c.len_k, c.dim, c.bnhd, c.out_f32, rng);
        DeviceTensor &q = at.q, &k = at.k, &v = at.v, &out = at.out, &lse = at.lse;
        const attn4j_flash_params p{sizeof(attn4j_flash_params), c.scale, c.softcap, c.causal ? 1 : 0, c.window_left, c.window_right, 0, nullptr};
        ASSERT_EQ(attn4j_flash_forward(&q.t, &k.t, &v.t, &out.t, &lse.t, &p), ATTN4J_STATUS_OK) << attn4j_last_error();
        ASSERT_EQ(attn4j_cuda_synchronize(0), ATTN4J_STATUS_OK) << attn4j_last_error();
        out.download();
        lse.download();
        std::vector<double> ref, ref_lse;
        cpu::flash_reference(make_flash_problem(&q.host.t, &k.host.t, &v.host.t, &out.host.t, &lse.host.t, p), ref, ref_lse);
        EXPECT_LE(rel_l2(out.host, ref), 1e-2) << "relative L2 error of out";
        EXPECT_TRUE(lse_matches(lse.host, ref_lse, 2e-2));
    }
    unsetenv("ATTN4J_CUDA_WGMMA");
}

INSTANTIATE_TEST_SUITE_P(Cases, CudaFlash, ::testing::ValuesIn(cuda_cases()),
                         [](const ::testing::TestParamInfo<CudaCase> &i) { return i.param.name; });

TEST(CudaFlashErrors, UnsupportedShapesAndDevicesAreNamed) {
    if (attn4j_cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device";
    DeviceTensor q(ATTN4J_DTYPE_BF16, 1, 2, 8, 96, false), k(ATTN4J_DTYPE_BF16, 1, 2, 8, 96, false);
    DeviceTensor v(ATTN4J_DTYPE_BF16, 1, 2, 8, 96, false), out(ATTN4J_DTYPE_BF16, 1, 2, 8, 96, false);
    EXPECT_EQ(attn4j_flash_forward(&q.t, &k.t, &v.t, &out.t, nullptr, nullptr), ATTN4J_STATUS_UNSUPPORTED);
    EXPECT_NE(std::string(attn4j_last_error()).find("head dims 64, 128 and 256"), std::string::npos) << attn4j_last_error();
    DeviceTensor f(ATTN4J_DTYPE_F32, 1, 2, 8, 64, false);
    EXPECT_EQ(attn4j_flash_forward(&f.t, &f.t, &f.t, &out.t, nullptr, nullptr), ATTN4J_STATUS_INVALID_DTYPE);
    EXPECT_NE(std::string(attn4j_last_error()).find("q.dtype = f32"), std::string::npos) << attn4j_last_error();
    HostTensor host(ATTN4J_DTYPE_BF16, 1, 2, 8, 96);
    EXPECT_EQ(attn4j_flash_forward(&q.t, &host.t, &v.t, &out.t, nullptr, nullptr), ATTN4J_STATUS_INVALID_DEVICE);
    EXPECT_NE(std::string(attn4j_last_error()).find("k.device = -1 differs from q.device = 0"), std::string::npos);
    attn4j_tensor far = q.t;
    far.device = 99;
    EXPECT_EQ(attn4j_flash_forward(&far, &k.t, &v.t, &out.t, nullptr, nullptr), ATTN4J_STATUS_NO_CUDA);
    EXPECT_NE(std::string(attn4j_last_error()).find("q.device = 99: no such CUDA device"), std::string::npos);
    void *p = nullptr;
    EXPECT_EQ(attn4j_cuda_malloc(99, 16, &p), ATTN4J_STATUS_NO_CUDA);
    EXPECT_EQ(attn4j_cuda_memcpy(p, p, 16, 7), ATTN4J_STATUS_INVALID_PARAM);
}

TEST(CudaWithoutDevice, MemoryCallsFailCleanly) {
    if (attn4j_cuda_device_count() > 0) GTEST_SKIP() << "a CUDA device is present";
    void *p = nullptr;
    EXPECT_EQ(attn4j_cuda_malloc(0, 1024, &p), ATTN4J_STATUS_NO_CUDA);
    EXPECT_NE(std::string(attn4j_last_error()), "");
    char buf[4];
    EXPECT_EQ(attn4j_cuda_memcpy(buf, buf, 4, ATTN4J_COPY_HOST_TO_DEVICE), ATTN4J_STATUS_NO_CUDA);
    EXPECT_EQ(attn4j_cuda_synchronize(0), ATTN4J_STATUS_NO_CUDA);
}

}  // namespace
}  // namespace attn4j::test
