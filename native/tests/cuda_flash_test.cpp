// FlashAttention on CUDA devices, what the shared case table (flash_cases.cpp, run on every backend by
// flash_forward_test.cpp) does not cover: the errors only CUDA gives, and calls without a device.
#include <gtest/gtest.h>

#include <string>

#include "attn4j.h"
#include "cuda_test_support.h"
#include "test_support.h"

namespace attn4j::test {
namespace {

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
