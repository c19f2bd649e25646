// The CUDA entry points of a build without a CUDA toolkit: every call explains why it cannot run.
#include "attn4j.h"
#include "common/error.h"
#include "cuda/cuda_backend.h"

namespace attn4j::cuda {

namespace {
constexpr const char *kWhy = "attn4j was built without CUDA (no CUDA toolkit at build time)";

int32_t unavailable(std::string &error) {
    error = kWhy;
    return ATTN4J_STATUS_NO_CUDA;
}
int32_t unavailable() { return fail(ATTN4J_STATUS_NO_CUDA, "%s", kWhy); }
}  // namespace

bool built_with_cuda() { return false; }
int32_t device_count() { return 0; }
int32_t malloc_device(int32_t, int64_t, void **, std::string &error) { return unavailable(error); }
int32_t free_device(int32_t, void *, std::string &error) { return unavailable(error); }
int32_t clear_async(int32_t, void *, int64_t, void *, std::string &error) { return unavailable(error); }
int32_t memcpy_any(void *, const void *, int64_t, int32_t, std::string &error) { return unavailable(error); }
int32_t synchronize(int32_t, std::string &error) { return unavailable(error); }
int32_t memory_device(const void *) { return ATTN4J_DEVICE_HOST; }
int32_t flash_forward(const core::FlashProblem &) { return unavailable(); }
int32_t flash_supported(const core::FlashProblem &) { return unavailable(); }
int32_t sale_supported(const core::SaleProblem &) { return unavailable(); }
int32_t block_sparse_forward(const core::FlashProblem &, double *) { return unavailable(); }
int32_t lightning_forward(const core::LightningProblem &) { return unavailable(); }
int32_t sale_forward(const core::SaleProblem &, const core::BlockMask &, double *) { return unavailable(); }
int32_t kv_append(const core::KvAppendProblem &) { return unavailable(); }

}  // namespace attn4j::cuda
