// Validated C descriptors and params to the backend-neutral problems (core/): defaults resolved
// (scale, causal folded into the window, block size, thread count), the device and stream noted.
// The one place each problem is filled; api*.cpp then hand it to cpu:: or cuda:: unchanged.
#pragma once
#include "attn4j.h"
#include "core/flash_problem.h"
#include "core/kv_append.h"
#include "core/lightning_problem.h"

namespace attn4j {

core::FlashProblem make_flash_problem(const attn4j_tensor *q, const attn4j_tensor *k, const attn4j_tensor *v,
                                      const attn4j_tensor *out, const attn4j_tensor *lse,
                                      const attn4j_flash_params &params);

core::LightningProblem make_lightning_problem(const attn4j_tensor *q, const attn4j_tensor *k, const attn4j_tensor *v,
                                              const attn4j_tensor *out, const attn4j_tensor *state_in,
                                              const attn4j_tensor *state_out, const attn4j_lightning_params &params);

core::KvAppendProblem make_kv_append_problem(const attn4j_tensor *k_pages, const attn4j_tensor *v_pages,
                                             const attn4j_tensor *k_new, const attn4j_tensor *v_new,
                                             const attn4j_kv_append_params &params);

}  // namespace attn4j
