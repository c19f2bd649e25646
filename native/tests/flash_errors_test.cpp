// Every bad-argument class of attn4j_flash_forward: the right status, a message naming the argument,
// and the output left untouched.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>

#include "attn4j.h"
#include "test_support.h"

namespace attn4j::test {
namespace {

struct Args {
    HostTensor q{ATTN4J_DTYPE_F32, 1, 4, 8, 32}, k{ATTN4J_DTYPE_F32, 1, 2, 8, 32}, v{ATTN4J_DTYPE_F32, 1, 2, 8, 32};
    HostTensor out{ATTN4J_DTYPE_F32, 1, 4, 8, 32}, lse{ATTN4J_DTYPE_F32, 1, 4, 8, 1};
    attn4j_flash_params p{sizeof(attn4j_flash_params), 0.0f, 0.0f, 0, -1, -1, 0};
    const attn4j_tensor *lse_ptr = &lse.t;
    int32_t call() { return attn4j_flash_forward(&q.t, &k.t, &v.t, &out.t, lse_ptr, &p); }
};

struct BadCase {
    const char *name;
    std::function<void(Args &)> corrupt;
    int32_t status;
    const char *message;  // must appear in attn4j_last_error()
};

const BadCase kBad[] = {
    {"q_data_null", [](Args &a) { a.q.t.data = nullptr; }, ATTN4J_STATUS_NULL_ARGUMENT, "q.data is NULL"},
    {"out_data_null", [](Args &a) { a.out.t.data = nullptr; }, ATTN4J_STATUS_NULL_ARGUMENT, "out.data is NULL"},
    {"negative_shape", [](Args &a) { a.k.t.shape[2] = -1; }, ATTN4J_STATUS_INVALID_SHAPE, "k.shape[2] = -1 is negative"},
    {"negative_stride", [](Args &a) { a.v.t.strides[3] = -1; }, ATTN4J_STATUS_INVALID_STRIDE, "v.strides[3] = -1"},
    {"stride_overflow", [](Args &a) { a.q.t.strides[0] = std::numeric_limits<int64_t>::max() / 2; a.q.t.shape[0] = 3; }, ATTN4J_STATUS_INVALID_STRIDE, "q: "},
    {"count_overflow", [](Args &a) { for (auto &s : a.k.t.shape) s = int64_t(1) << 20; }, ATTN4J_STATUS_INVALID_SHAPE, "k: element count overflows"},
    {"unknown_dtype", [](Args &a) { a.q.t.dtype = 7; }, ATTN4J_STATUS_INVALID_DTYPE, "q.dtype = 7"},
    {"f16_on_cpu", [](Args &a) { a.q.t.dtype = a.k.t.dtype = a.v.t.dtype = ATTN4J_DTYPE_F16; }, ATTN4J_STATUS_UNSUPPORTED, "q.dtype = f16"},
    {"k_dtype_mismatch", [](Args &a) { a.k.t.dtype = ATTN4J_DTYPE_BF16; }, ATTN4J_STATUS_INVALID_DTYPE, "k.dtype = bf16 differs"},
    {"lse_not_f32", [](Args &a) { a.lse.t.dtype = ATTN4J_DTYPE_BF16; }, ATTN4J_STATUS_INVALID_DTYPE, "lse.dtype = bf16"},
    {"bad_device", [](Args &a) { a.v.t.device = -5; }, ATTN4J_STATUS_INVALID_DEVICE, "v.device = -5"},
    {"cuda_device", [](Args &a) { a.out.t.device = 99; }, ATTN4J_STATUS_NO_CUDA, "out.device = 99"},
    {"batch_mismatch", [](Args &a) { a.k.t.shape[0] = 2; }, ATTN4J_STATUS_INVALID_SHAPE, "k.shape[0] = 2, expected 1"},
    {"head_dim_mismatch", [](Args &a) { a.k.t.shape[3] = 16; }, ATTN4J_STATUS_INVALID_SHAPE, "k.shape[3] = 16"},
    {"head_dim_zero", [](Args &a) { a.q.t.shape[3] = 0; }, ATTN4J_STATUS_INVALID_SHAPE, "q.shape[3] = 0"},
    {"head_dim_too_big", [](Args &a) { a.q.t.shape[3] = a.k.t.shape[3] = 1024; }, ATTN4J_STATUS_INVALID_SHAPE, "q.shape[3] = 1024"},
    {"gqa_not_divisible", [](Args &a) { a.k.t.shape[1] = a.v.t.shape[1] = 3; }, ATTN4J_STATUS_INVALID_SHAPE, "k.shape[1] = 3 does not divide q.shape[1] = 4"},
    {"v_len_mismatch", [](Args &a) { a.v.t.shape[2] = 7; }, ATTN4J_STATUS_INVALID_SHAPE, "v.shape[2] = 7"},
    {"out_shape_mismatch", [](Args &a) { a.out.t.shape[2] = 9; }, ATTN4J_STATUS_INVALID_SHAPE, "out.shape[2] = 9"},
    {"lse_last_dim", [](Args &a) { a.lse.t.shape[3] = 2; }, ATTN4J_STATUS_INVALID_SHAPE, "lse.shape[3] = 2"},
    {"scale_nan", [](Args &a) { a.p.scale = std::nanf(""); }, ATTN4J_STATUS_INVALID_PARAM, "params.scale"},
    {"softcap_negative", [](Args &a) { a.p.softcap = -1.0f; }, ATTN4J_STATUS_INVALID_PARAM, "params.softcap"},
    {"window_left_bad", [](Args &a) { a.p.window_left = -2; }, ATTN4J_STATUS_INVALID_PARAM, "params.window_left = -2"},
    {"window_right_bad", [](Args &a) { a.p.window_right = -3; }, ATTN4J_STATUS_INVALID_PARAM, "params.window_right = -3"},
    {"threads_negative", [](Args &a) { a.p.num_threads = -1; }, ATTN4J_STATUS_INVALID_PARAM, "params.num_threads = -1"},
    {"out_self_overlap", [](Args &a) { a.out.t.strides[2] = 0; }, ATTN4J_STATUS_INVALID_STRIDE, "out.strides[2] = 0"},
    {"out_aliases_q", [](Args &a) { a.out.t.data = a.q.t.data; }, ATTN4J_STATUS_ALIASING, "out overlaps q"},
    {"lse_aliases_out", [](Args &a) { a.lse.t.data = a.out.t.data; }, ATTN4J_STATUS_ALIASING, "lse overlaps out"},
};

void PrintTo(const BadCase &c, std::ostream *os) { *os << c.name; }

class FlashErrors : public ::testing::TestWithParam<BadCase> {};

TEST_P(FlashErrors, ReturnsStatusAndNamesTheArgument) {
    const BadCase &bc = GetParam();
    Args a;
    a.out.poison();
    bc.corrupt(a);
    const int32_t st = a.call();
    EXPECT_EQ(st, bc.status) << attn4j_status_name(st) << ": " << attn4j_last_error();
    EXPECT_NE(std::string(attn4j_last_error()).find(bc.message), std::string::npos)
        << "message was: " << attn4j_last_error();
}

INSTANTIATE_TEST_SUITE_P(BadArguments, FlashErrors, ::testing::ValuesIn(kBad),
                         [](const ::testing::TestParamInfo<BadCase> &i) { return std::string(i.param.name); });

TEST(FlashErrorsNull, NullDescriptorsAreNamed) {
    Args a;
    EXPECT_EQ(attn4j_flash_forward(nullptr, &a.k.t, &a.v.t, &a.out.t, nullptr, nullptr), ATTN4J_STATUS_NULL_ARGUMENT);
    EXPECT_STREQ(attn4j_last_error(), "q is NULL");
    EXPECT_EQ(attn4j_flash_forward(&a.q.t, &a.k.t, nullptr, &a.out.t, nullptr, nullptr), ATTN4J_STATUS_NULL_ARGUMENT);
    EXPECT_STREQ(attn4j_last_error(), "v is NULL");
    EXPECT_EQ(attn4j_flash_forward(&a.q.t, &a.k.t, &a.v.t, nullptr, nullptr, nullptr), ATTN4J_STATUS_NULL_ARGUMENT);
    EXPECT_STREQ(attn4j_last_error(), "out is NULL");
}

TEST(FlashErrorsNull, SuccessClearsTheLastError) {
    Args a;
    a.p.window_left = -9;
    ASSERT_NE(a.call(), ATTN4J_STATUS_OK);
    a.p.window_left = -1;
    ASSERT_EQ(a.call(), ATTN4J_STATUS_OK) << attn4j_last_error();
    EXPECT_STREQ(attn4j_last_error(), "");
}

TEST(Queries, VersionIsaAndCuda) {
    EXPECT_STREQ(attn4j_version(), "0.2.0");
    EXPECT_EQ(attn4j_version_number(), 200);
    EXPECT_GE(attn4j_cpu_isa_best(), ATTN4J_ISA_SCALAR);
    EXPECT_EQ(attn4j_set_cpu_isa(99), ATTN4J_STATUS_INVALID_PARAM);
    EXPECT_NE(std::string(attn4j_last_error()).find("isa = 99"), std::string::npos);
    EXPECT_TRUE(attn4j_cuda_available() == 0 || attn4j_cuda_available() == 1);
    if (attn4j_cuda_available() == 0) EXPECT_EQ(attn4j_cuda_device_count(), 0);
    EXPECT_GE(attn4j_cuda_device_count(), 0);
    EXPECT_GE(attn4j_default_threads(), 1);
    EXPECT_STREQ(attn4j_status_name(ATTN4J_STATUS_ALIASING), "ATTN4J_STATUS_ALIASING");
}

}  // namespace
}  // namespace attn4j::test
