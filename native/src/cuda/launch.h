// Host-side pieces the CUDA entry points share: selecting the device, CUDA errors as statuses, the
// checks every family makes, and whether rows of the inputs allow 16-byte vector loads.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

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

// Host int32 arrays a kernel reads (a paged cache's table, lengths), copied into stream-ordered device
// memory with the call in one transfer and freed after the call's work on the stream.
class StagedArrays {
public:
    struct Array {
        const int32_t *host;
        int64_t entries;      // 0: nothing to copy, *device left as it is
        const int32_t **device;  // receives the copy's address
    };

    explicit StagedArrays(cudaStream_t stream) : stream_(stream) {}
    StagedArrays(const StagedArrays &) = delete;
    StagedArrays &operator=(const StagedArrays &) = delete;
    ~StagedArrays() {
        if (work_ != nullptr) cudaFreeAsync(work_, stream_);
    }

    int32_t copy(std::initializer_list<Array> arrays, std::string &error) {
        std::vector<int32_t> host(1);
        for (const Array &a : arrays) host.insert(host.end(), a.host, a.host + a.entries);
        const size_t bytes = host.size() * sizeof(int32_t);
        if (const int32_t st = status_of(cudaMallocAsync(&work_, bytes, stream_), "cudaMallocAsync (staged arrays)", error))
            return st;
        // From pageable memory: the copy has read `host` when it returns.
        if (const int32_t st = status_of(cudaMemcpyAsync(work_, host.data(), bytes, cudaMemcpyHostToDevice, stream_),
                                         "cudaMemcpyAsync (staged arrays)", error))
            return st;
        const int32_t *at = static_cast<const int32_t *>(work_) + 1;
        for (const Array &a : arrays) {
            if (a.entries > 0) *a.device = at;
            at += a.entries;
        }
        return ATTN4J_STATUS_OK;
    }

private:
    cudaStream_t stream_;
    void *work_ = nullptr;
};

}  // namespace attn4j::cuda
