// The CUDA side as the C ABI sees it. Implemented by the .cu files when the library is built with a
// CUDA toolkit, and by cuda_stub.cpp (every call: "built without CUDA") otherwise.
#pragma once
#include <cstdint>
#include <string>

#include "cpu/flash.h"
#include "cpu/lightning.h"

namespace attn4j::cuda {

bool built_with_cuda();
int32_t device_count();  // 0 without a driver or device

// Each returns an ATTN4J_STATUS_* and fills `error` on failure.
int32_t malloc_device(int32_t device, int64_t bytes, void **ptr, std::string &error);
int32_t free_device(int32_t device, void *ptr, std::string &error);
int32_t memcpy_any(void *dst, const void *src, int64_t bytes, int32_t kind, std::string &error);
int32_t synchronize(int32_t device, std::string &error);

// FlashAttention on device `device` (all pointers in p are device pointers), on `stream` (may be null).
int32_t flash_forward(const cpu::FlashProblem &p, int32_t device, void *stream, std::string &error);

// Lightning Attention-2 on device `device`: bf16/f16 q, k, v (d = dv in {64, 128}), f32 states with
// unit stride along dv, at most kMaxCudaHeads query heads.
constexpr int kMaxCudaHeads = 256;
int32_t lightning_forward(const cpu::LightningProblem &p, int32_t device, void *stream, std::string &error);

// SALE's estimation on device `device`: writes the [B, Hq, ceil(Nq / 64), row_bytes] mask (device
// memory) for 64 x 64 blocks, thresholds tau[Hq] (host), the given sink and local block counts.
int32_t sale_estimate(const cpu::FlashProblem &p, const float *tau, int64_t sinks, int64_t locals, uint8_t *mask,
                      int64_t row_bytes, int32_t device, void *stream, std::string &error);

}  // namespace attn4j::cuda
