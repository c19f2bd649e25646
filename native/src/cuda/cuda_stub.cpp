// The CUDA entry points of a build without a CUDA toolkit: every call explains why it cannot run.
#include "attn4j.h"
#include "cuda/cuda_backend.h"

namespace attn4j::cuda {

namespace {
int32_t unavailable(std::string &error) {
    error = "attn4j was built without CUDA (no CUDA toolkit at build time)";
    return ATTN4J_STATUS_NO_CUDA;
}
}  // namespace

bool built_with_cuda() { return false; }
int32_t device_count() { return 0; }
int32_t malloc_device(int32_t, int64_t, void **, std::string &error) { return unavailable(error); }
int32_t free_device(int32_t, void *, std::string &error) { return unavailable(error); }
int32_t memcpy_any(void *, const void *, int64_t, int32_t, std::string &error) { return unavailable(error); }
int32_t synchronize(int32_t, std::string &error) { return unavailable(error); }
int32_t flash_forward(const cpu::FlashProblem &, int32_t, void *, std::string &error) { return unavailable(error); }
int32_t lightning_forward(const cpu::LightningProblem &, int32_t, void *, std::string &error) { return unavailable(error); }
int32_t sale_estimate(const cpu::FlashProblem &, const float *, int64_t, int64_t, uint8_t *, int64_t, int32_t, void *,
                      std::string &error) {
    return unavailable(error);
}

}  // namespace attn4j::cuda
