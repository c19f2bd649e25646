// attn4j_kv_cache_append on the CPU (the checked problem of core/kv_append.h).
#pragma once
#include "core/kv_append.h"

namespace attn4j::cpu {

// False when a worker ran out of memory.
bool kv_append(const core::KvAppendProblem &p);

}  // namespace attn4j::cpu
