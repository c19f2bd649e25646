#include "tensor_checks.h"

#include <algorithm>
#include <cstdint>

#include "common/error.h"
#include "cuda/cuda_backend.h"

namespace attn4j {

int64_t element_size(int32_t dtype) { return dtype == ATTN4J_DTYPE_F32 ? 4 : 2; }

const char *dtype_name(int32_t dtype) {
    switch (dtype) {
        case ATTN4J_DTYPE_F32: return "f32";
        case ATTN4J_DTYPE_BF16: return "bf16";
        case ATTN4J_DTYPE_F16: return "f16";
        default: return "unknown";
    }
}

int64_t element_count(const attn4j_tensor *t) {
    int64_t n = 1;
    for (int i = 0; i < 4; ++i) n *= t->shape[i];
    return n;
}

namespace {

// Offset of the last element in elements (valid after check_tensor); -1 when the tensor is empty.
int64_t last_offset(const attn4j_tensor *t) {
    for (int i = 0; i < 4; ++i)
        if (t->shape[i] == 0) return -1;  // before any product: an empty tensor's other dims may be huge
    int64_t off = 0;
    for (int i = 0; i < 4; ++i) off += (t->shape[i] - 1) * t->strides[i];  // no overflow: check_tensor passed
    return off;
}

}  // namespace

int32_t check_tensor(const char *name, const attn4j_tensor *t) {
    if (t == nullptr) return fail(ATTN4J_STATUS_NULL_ARGUMENT, "%s is NULL", name);
    if (t->dtype != ATTN4J_DTYPE_F32 && t->dtype != ATTN4J_DTYPE_BF16 && t->dtype != ATTN4J_DTYPE_F16)
        return fail(ATTN4J_STATUS_INVALID_DTYPE, "%s.dtype = %d is not a known ATTN4J_DTYPE_*", name, t->dtype);
    if (t->device < ATTN4J_DEVICE_HOST)
        return fail(ATTN4J_STATUS_INVALID_DEVICE, "%s.device = %d is not a valid device (-1 = host, >= 0 = CUDA)",
                    name, t->device);
    if (t->device != ATTN4J_DEVICE_HOST) {
        if (!cuda::built_with_cuda())
            return fail(ATTN4J_STATUS_NO_CUDA, "%s.device = %d is a CUDA device, but attn4j was built without CUDA",
                        name, t->device);
        const int32_t n = cuda::device_count();
        if (t->device >= n)
            return fail(ATTN4J_STATUS_NO_CUDA, "%s.device = %d: no such CUDA device (this machine has %d)", name,
                        t->device, n);
    }
    int64_t count = 1, extent = 0;
    bool empty = false;
    for (int i = 0; i < 4; ++i) {
        if (t->shape[i] < 0)
            return fail(ATTN4J_STATUS_INVALID_SHAPE, "%s.shape[%d] = %lld is negative", name, i,
                        static_cast<long long>(t->shape[i]));
        if (t->strides[i] < 0)
            return fail(ATTN4J_STATUS_INVALID_STRIDE, "%s.strides[%d] = %lld is negative", name, i,
                        static_cast<long long>(t->strides[i]));
        if (__builtin_mul_overflow(count, t->shape[i], &count))
            return fail(ATTN4J_STATUS_INVALID_SHAPE, "%s: element count overflows int64", name);
        if (t->shape[i] == 0) empty = true;
    }
    if (empty) return ATTN4J_STATUS_OK;
    for (int i = 0; i < 4; ++i) {
        int64_t span;
        if (__builtin_mul_overflow(t->shape[i] - 1, t->strides[i], &span) ||
            __builtin_add_overflow(extent, span, &extent))
            return fail(ATTN4J_STATUS_INVALID_STRIDE, "%s: shape x strides overflows int64", name);
    }
    int64_t bytes;
    if (__builtin_add_overflow(extent, 1, &extent) || __builtin_mul_overflow(extent, element_size(t->dtype), &bytes) ||
        bytes > static_cast<int64_t>(INTPTR_MAX) - static_cast<int64_t>(reinterpret_cast<uintptr_t>(t->data)))
        return fail(ATTN4J_STATUS_INVALID_STRIDE, "%s: the memory span overflows the address space", name);
    if (t->data == nullptr) return fail(ATTN4J_STATUS_NULL_ARGUMENT, "%s.data is NULL", name);
    return ATTN4J_STATUS_OK;
}

int32_t check_dtype(const char *name, const attn4j_tensor *t, unsigned allowed) {
    if ((dtype_bit(t->dtype) & allowed) != 0) return ATTN4J_STATUS_OK;
    if (t->dtype == ATTN4J_DTYPE_F16)
        return fail(ATTN4J_STATUS_UNSUPPORTED, "%s.dtype = f16 is supported on CUDA devices only", name);
    return fail(ATTN4J_STATUS_INVALID_DTYPE, "%s.dtype = %s is not allowed here", name, dtype_name(t->dtype));
}

int32_t check_dim(const char *name, const attn4j_tensor *t, int dim, int64_t expected, const char *what) {
    if (t->shape[dim] == expected) return ATTN4J_STATUS_OK;
    return fail(ATTN4J_STATUS_INVALID_SHAPE, "%s.shape[%d] = %lld, expected %lld (%s)", name, dim,
                static_cast<long long>(t->shape[dim]), static_cast<long long>(expected), what);
}

int32_t check_no_self_overlap(const char *name, const attn4j_tensor *t) {
    if (element_count(t) == 0) return ATTN4J_STATUS_OK;
    int order[4] = {0, 1, 2, 3};
    std::sort(order, order + 4, [&](int a, int b) { return t->strides[a] < t->strides[b]; });
    int64_t reach = 0;  // offset of the last element spanned by the dims seen so far
    for (int i : order) {
        if (t->shape[i] <= 1) continue;
        if (t->strides[i] <= reach)
            return fail(ATTN4J_STATUS_INVALID_STRIDE,
                        "%s.strides[%d] = %lld makes output elements overlap", name, i,
                        static_cast<long long>(t->strides[i]));
        reach += (t->shape[i] - 1) * t->strides[i];
    }
    return ATTN4J_STATUS_OK;
}

int32_t check_disjoint_bytes(const char *name, const void *data, int64_t bytes, const char *t_name,
                             const attn4j_tensor *t) {
    const int64_t last = t != nullptr ? last_offset(t) : -1;
    if (data == nullptr || bytes <= 0 || last < 0) return ATTN4J_STATUS_OK;
    const uintptr_t a0 = reinterpret_cast<uintptr_t>(data), a1 = a0 + static_cast<uintptr_t>(bytes);
    const uintptr_t b0 = reinterpret_cast<uintptr_t>(t->data);
    const uintptr_t b1 = b0 + static_cast<uintptr_t>((last + 1) * element_size(t->dtype));
    if (a0 < b1 && b0 < a1) return fail(ATTN4J_STATUS_ALIASING, "%s overlaps %s in memory", name, t_name);
    return ATTN4J_STATUS_OK;
}

int32_t check_disjoint(const char *out_name, const attn4j_tensor *out, const char *in_name,
                       const attn4j_tensor *in) {
    const int64_t lo = last_offset(out), li = last_offset(in);
    if (lo < 0 || li < 0 || out->device != in->device) return ATTN4J_STATUS_OK;
    const uintptr_t a0 = reinterpret_cast<uintptr_t>(out->data);
    const uintptr_t a1 = a0 + static_cast<uintptr_t>((lo + 1) * element_size(out->dtype));
    const uintptr_t b0 = reinterpret_cast<uintptr_t>(in->data);
    const uintptr_t b1 = b0 + static_cast<uintptr_t>((li + 1) * element_size(in->dtype));
    if (a0 < b1 && b0 < a1)
        return fail(ATTN4J_STATUS_ALIASING, "%s overlaps %s in memory", out_name, in_name);
    return ATTN4J_STATUS_OK;
}

}  // namespace attn4j
