// Element types of tensor storage as the backends see them (the values of ATTN4J_DTYPE_*).
#pragma once
#include <cstdint>

namespace attn4j::core {

enum class DType : int32_t { F32 = 0, BF16 = 1, F16 = 2 };

}  // namespace attn4j::core
