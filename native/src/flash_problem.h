// Turns validated C descriptors and params into the internal FlashProblem (defaults resolved:
// scale, causal folded into the window, thread count).
#pragma once
#include "attn4j.h"
#include "cpu/flash.h"

namespace attn4j {

namespace detail {
// Element strides of a validated descriptor, zeros for an empty tensor.
void copy_strides(const attn4j_tensor *t, int64_t *dst);
}  // namespace detail

cpu::FlashProblem make_flash_problem(const attn4j_tensor *q, const attn4j_tensor *k, const attn4j_tensor *v,
                                     const attn4j_tensor *out, const attn4j_tensor *lse,
                                     const attn4j_flash_params &params);

}  // namespace attn4j
