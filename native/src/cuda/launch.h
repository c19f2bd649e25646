// Host-side pieces the CUDA entry points share: selecting the device, CUDA errors as statuses, and
// whether rows of the inputs allow 16-byte vector loads.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <utility>

#include "attn4j.h"

namespace attn4j::cuda {

// Makes `device` current for this thread; ATTN4J_STATUS_NO_CUDA with a message when there is no such
// device (device.cu).
int32_t use_device(int32_t device, std::string &error);

// Whether `device` runs the sm_90a (wgmma) kernels: a compute capability 9.0 device, unless the
// environment sets ATTN4J_CUDA_WGMMA=0 (which keeps the portable kernels; tests run both on Hopper).
bool hopper_kernels(int device);

// OK for cudaSuccess; else the status for e (out of memory or internal) with "what: reason" in error.
inline int32_t status_of(cudaError_t e, const char *what, std::string &error) {
    if (e == cudaSuccess) return ATTN4J_STATUS_OK;
    error = std::string(what) + ": " + cudaGetErrorString(e);
    return e == cudaErrorMemoryAllocation ? ATTN4J_STATUS_OUT_OF_MEMORY : ATTN4J_STATUS_INTERNAL;
}

// Every row of each (base, element strides [4]) tensor starts 16-byte aligned (2-byte elements).
inline bool rows_aligned16(std::initializer_list<std::pair<const void *, const int64_t *>> tensors) {
    bool ok = true;
    for (const auto &[ptr, st] : tensors) {
        ok = ok && reinterpret_cast<uintptr_t>(ptr) % 16 == 0;
        for (int i = 0; i < 3; ++i) ok = ok && st[i] % 8 == 0;
    }
    return ok;
}

}  // namespace attn4j::cuda
