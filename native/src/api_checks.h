// Checks shared by the C entry points (api*.cpp): the q/k/v triple every attention kernel takes,
// output tensors, and the guard that turns C++ exceptions into status codes.
#pragma once
#include <cstdint>
#include <new>

#include "attn4j.h"
#include "common/error.h"
#include "tensor_checks.h"

namespace attn4j {

#define CHECK(expr)                                      \
    do {                                                 \
        int32_t status_ = (expr);                        \
        if (status_ != ATTN4J_STATUS_OK) return status_; \
    } while (0)

template <typename F>
int32_t guarded(F &&body) {
    clear_error();
    try {
        return body();
    } catch (const std::bad_alloc &) {
        return fail(ATTN4J_STATUS_OUT_OF_MEMORY, "out of memory");
    } catch (...) {
        return fail(ATTN4J_STATUS_INTERNAL, "internal error");
    }
}

constexpr unsigned kCpuStorage = dtype_bit(ATTN4J_DTYPE_F32) | dtype_bit(ATTN4J_DTYPE_BF16);
constexpr unsigned kCudaStorage = dtype_bit(ATTN4J_DTYPE_BF16) | dtype_bit(ATTN4J_DTYPE_F16);

unsigned storage_for(const attn4j_tensor *q);
int32_t check_same_device(const char *name, const attn4j_tensor *t, const attn4j_tensor *q);

// q [B, Hq, Nq, d], k [B, Hkv, Nk, d], v [B, Hkv, Nk, dv]: valid tensors, one storage dtype, head dims in
// range, Hq a multiple of Hkv. Shared by every attention kernel. paged: k and v are page pools
// [num_pages, Hkv, page_size, .], their dim 0 unrelated to B.
int32_t check_qkv(const attn4j_tensor *q, const attn4j_tensor *k, const attn4j_tensor *v, bool paged = false);

// An output tensor of the given shape and allowed dtypes, whose elements do not overlap each other,
// q, k or v.
int32_t check_output(const char *name, const attn4j_tensor *t, unsigned dtypes, const int64_t (&shape)[4],
                     const char *const (&what)[4], const attn4j_tensor *q, const attn4j_tensor *k,
                     const attn4j_tensor *v);

// A CPU kernel's result as a status: false means a worker ran out of memory.
int32_t cpu_status(bool ok);

}  // namespace attn4j
