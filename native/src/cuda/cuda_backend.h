// The CUDA backend as the C ABI sees it: device memory, and one entry per kernel family taking the
// backend-neutral problem (core/) unchanged. Implemented by the .cu files when the library is built
// with a CUDA toolkit (each family's kernel choice in cuda/<family>_dispatch.cu), and by
// cuda_stub.cpp (every call: "built without CUDA") otherwise.
#pragma once
#include <cstdint>
#include <string>

#include "core/flash_problem.h"
#include "core/kv_append.h"
#include "core/lightning_problem.h"
#include "core/sale_problem.h"

namespace attn4j::cuda {

bool built_with_cuda();
int32_t device_count();  // 0 without a driver or device

// Each returns an ATTN4J_STATUS_* and fills `error` on failure.
int32_t malloc_device(int32_t device, int64_t bytes, void **ptr, std::string &error);
int32_t free_device(int32_t device, void *ptr, std::string &error);
// Zeroes `bytes` of device memory at ptr on `stream` (a cudaStream_t; null: the default stream).
int32_t clear_async(int32_t device, void *ptr, int64_t bytes, void *stream, std::string &error);
int32_t memcpy_any(void *dst, const void *src, int64_t bytes, int32_t kind, std::string &error);
int32_t synchronize(int32_t device, std::string &error);
// The CUDA device whose memory ptr points into, or ATTN4J_DEVICE_HOST for host memory (pinned or not).
int32_t memory_device(const void *ptr);

// The kernel families on p.device, asynchronously on p.stream, after the checks only CUDA needs
// (head dims, unit strides, sizes). Each returns an ATTN4J_STATUS_* and on failure leaves the
// message in attn4j_last_error() (common/error.h).
// FlashAttention, dense or over p.mask (64 x 64 blocks, device memory).
int32_t flash_forward(const core::FlashProblem &p);
// The checks only CUDA needs, alone (nothing runs): for a call made of several launches, before the first.
int32_t flash_supported(const core::FlashProblem &p);
int32_t sale_supported(const core::SaleProblem &p);
// Block-sparse FlashAttention over p.mask; *density (when given) becomes NaN: the mask is not read back.
int32_t block_sparse_forward(const core::FlashProblem &p, double *density);
// Lightning Attention-2: bf16/f16 q, k, v (d = dv in {64, 128}), f32 states with unit stride along dv,
// at most kMaxCudaHeads query heads.
constexpr int kMaxCudaHeads = 256;
int32_t lightning_forward(const core::LightningProblem &p);
// SALE: the estimation writes `mask` (its layout, device memory; null bits: a mask of its own, which
// synchronizes), then the block-sparse pass; *density as for block_sparse_forward.
int32_t sale_forward(const core::SaleProblem &p, const core::BlockMask &mask, double *density);
// New K/V rows into a paged cache (host arrays checked already; device arrays: bad slots skipped).
int32_t kv_append(const core::KvAppendProblem &p);

}  // namespace attn4j::cuda
