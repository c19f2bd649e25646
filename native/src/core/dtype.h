// Element types of tensor storage as the backends see them (the values of ATTN4J_DTYPE_*).
#pragma once
#include <cstdint>

namespace attn4j::core {

enum class DType : int32_t { F32 = 0, BF16 = 1, F16 = 2 };

inline int64_t bytes_of(DType t) { return t == DType::F32 ? 4 : 2; }

// `base` moved by `elements` elements of type t.
inline const void *advance(const void *base, DType t, int64_t elements) {
    return static_cast<const char *>(base) + elements * bytes_of(t);
}
inline void *advance(void *base, DType t, int64_t elements) {
    return static_cast<char *>(base) + elements * bytes_of(t);
}

}  // namespace attn4j::core
