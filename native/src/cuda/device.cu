// Devices, memory and copies through the CUDA runtime (linked statically): every failure becomes a
// status and a message, and a missing driver or device is an error, never a crash.
#include <cuda_runtime.h>

#include <cstdlib>
#include <cstring>
#include <string>

#include "attn4j.h"
#include "cuda/cuda_backend.h"
#include "cuda/launch.h"

namespace attn4j::cuda {

namespace {

int32_t fail_cuda(cudaError_t e, const char *what, std::string &error) {
    error = std::string(what) + ": " + cudaGetErrorString(e);
    return e == cudaErrorNoDevice || e == cudaErrorInsufficientDriver ? ATTN4J_STATUS_NO_CUDA : ATTN4J_STATUS_INTERNAL;
}

}  // namespace

int32_t use_device(int32_t device, std::string &error) {
    const int32_t n = device_count();
    if (device < 0 || device >= n) {
        error = "no CUDA device " + std::to_string(device) + " (this machine has " + std::to_string(n) + ")";
        return ATTN4J_STATUS_NO_CUDA;
    }
    const cudaError_t e = cudaSetDevice(device);
    return e == cudaSuccess ? ATTN4J_STATUS_OK : fail_cuda(e, "cudaSetDevice", error);
}

bool built_with_cuda() { return true; }

int32_t device_count() {
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
        cudaGetLastError();  // clear the sticky "no driver" error
        return 0;
    }
    return n;
}

int32_t malloc_device(int32_t device, int64_t bytes, void **ptr, std::string &error) {
    if (const int32_t st = use_device(device, error)) return st;
    const cudaError_t e = cudaMalloc(ptr, static_cast<size_t>(bytes > 0 ? bytes : 1));
    if (e == cudaErrorMemoryAllocation) {
        cudaGetLastError();
        error = "out of device memory allocating " + std::to_string(bytes) + " bytes on CUDA device " + std::to_string(device);
        return ATTN4J_STATUS_OUT_OF_MEMORY;
    }
    return e == cudaSuccess ? ATTN4J_STATUS_OK : fail_cuda(e, "cudaMalloc", error);
}

int32_t free_device(int32_t device, void *ptr, std::string &error) {
    if (const int32_t st = use_device(device, error)) return st;
    const cudaError_t e = cudaFree(ptr);
    return e == cudaSuccess ? ATTN4J_STATUS_OK : fail_cuda(e, "cudaFree", error);
}

int32_t clear_async(int32_t device, void *ptr, int64_t bytes, void *stream, std::string &error) {
    if (const int32_t st = use_device(device, error)) return st;
    const cudaError_t e = cudaMemsetAsync(ptr, 0, static_cast<size_t>(bytes), static_cast<cudaStream_t>(stream));
    return e == cudaSuccess ? ATTN4J_STATUS_OK : fail_cuda(e, "cudaMemsetAsync", error);
}

int32_t memcpy_any(void *dst, const void *src, int64_t bytes, int32_t kind, std::string &error) {
    if (device_count() == 0) {
        error = "no CUDA device on this machine";
        return ATTN4J_STATUS_NO_CUDA;
    }
    static const cudaMemcpyKind kinds[] = {cudaMemcpyHostToDevice, cudaMemcpyDeviceToHost, cudaMemcpyDeviceToDevice};
    const cudaError_t e = cudaMemcpy(dst, src, static_cast<size_t>(bytes), kinds[kind]);
    return e == cudaSuccess ? ATTN4J_STATUS_OK : fail_cuda(e, "cudaMemcpy", error);
}

int32_t memory_device(const void *ptr) {
    cudaPointerAttributes a{};
    if (cudaPointerGetAttributes(&a, ptr) != cudaSuccess) {
        cudaGetLastError();
        return ATTN4J_DEVICE_HOST;
    }
    return a.type == cudaMemoryTypeDevice || a.type == cudaMemoryTypeManaged ? a.device : ATTN4J_DEVICE_HOST;
}

bool hopper_kernels(int device) {
    const char *env = std::getenv("ATTN4J_CUDA_WGMMA");
    if (env != nullptr && std::strcmp(env, "0") == 0) return false;
    int major = 0, minor = 0;
    if (cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device) != cudaSuccess ||
        cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, device) != cudaSuccess)
        return false;
    return major == 9 && minor == 0;
}

int32_t synchronize(int32_t device, std::string &error) {
    if (const int32_t st = use_device(device, error)) return st;
    const cudaError_t e = cudaDeviceSynchronize();
    return e == cudaSuccess ? ATTN4J_STATUS_OK : fail_cuda(e, "cudaDeviceSynchronize", error);
}

}  // namespace attn4j::cuda
