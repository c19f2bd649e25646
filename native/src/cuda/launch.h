// Host-side pieces the CUDA entry points share: selecting the device, CUDA errors as statuses, the
// checks every family makes, and whether rows of the inputs allow 16-byte vector loads.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <utility>

#include "attn4j.h"
#include "common/error.h"

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

// A status and its message from the CUDA helpers (which fill a string) as the C ABI reports them.
inline int32_t reported(int32_t status, const std::string &error) {
    return status == ATTN4J_STATUS_OK ? status : fail(status, "%s", error.c_str());
}

// The head dims the CUDA kernels instantiate: d = dv in {64, 128}, and 256 for FlashAttention (with_256).
inline int32_t check_head_dims(int64_t d, int64_t dv, bool with_256 = false) {
    if (d == dv && (d == 64 || d == 128 || (with_256 && d == 256))) return ATTN4J_STATUS_OK;
    return fail(ATTN4J_STATUS_UNSUPPORTED, "q.shape[3] = %lld, v.shape[3] = %lld: CUDA %s supports head dims %s (equal)",
                static_cast<long long>(d), static_cast<long long>(dv), with_256 ? "FlashAttention" : "Lightning and SALE",
                with_256 ? "64, 128 and 256" : "64 and 128");
}

// The operands of a problem (core/) into a kernel's launch parameters: pointers, strides, query heads
// and the GQA group, as every family's Params names them.
template <class Params, class Problem>
void copy_operands(Params &k, const Problem &p) {
    k.q = p.q;
    k.k = p.k;
    k.v = p.v;
    k.out = p.out;
    for (int i = 0; i < 4; ++i) {
        k.sq[i] = p.sq[i];
        k.sk[i] = p.sk[i];
        k.sv[i] = p.sv[i];
        k.so[i] = p.so[i];
    }
    k.heads_q = static_cast<int>(p.heads_q);
    k.group = static_cast<int>(p.heads_q / p.heads_kv);
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
