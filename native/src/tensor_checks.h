// Argument checks shared by every C entry point: one function per rule, each returning a status
// and leaving a message that names the argument (e.g. "k.shape[1] = 3 does not divide q.shape[1] = 8").
#pragma once
#include <cstdint>

#include "attn4j.h"

namespace attn4j {

// Non-null descriptor, known dtype, host device (this build), shape >= 0, strides >= 0, no int64
// overflow in the element extent, and data non-null when the tensor has elements.
int32_t check_tensor(const char *name, const attn4j_tensor *t);
// The tensor's dtype is one of `allowed` (a bit per ATTN4J_DTYPE_*).
int32_t check_dtype(const char *name, const attn4j_tensor *t, unsigned allowed);
// shape[dim] of `a` equals `expected`, described as `what` in the message.
int32_t check_dim(const char *name, const attn4j_tensor *t, int dim, int64_t expected, const char *what);
// No two elements of an output share memory.
int32_t check_no_self_overlap(const char *name, const attn4j_tensor *t);
// The memory spans of an output and another tensor do not intersect.
// A buffer of `bytes` bytes at `data` (a SALE mask) and a tensor on the same device must not share memory.
int32_t check_disjoint_bytes(const char *name, const void *data, int64_t bytes, const char *t_name,
                             const attn4j_tensor *t);

int32_t check_disjoint(const char *out_name, const attn4j_tensor *out, const char *in_name,
                       const attn4j_tensor *in);

int64_t element_count(const attn4j_tensor *t);
int64_t element_size(int32_t dtype);
const char *dtype_name(int32_t dtype);

constexpr unsigned dtype_bit(int32_t dtype) { return 1u << dtype; }

}  // namespace attn4j
