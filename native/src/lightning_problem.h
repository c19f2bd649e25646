// Turns validated C descriptors and params into the internal LightningProblem.
#pragma once
#include "attn4j.h"
#include "cpu/lightning.h"

namespace attn4j {

cpu::LightningProblem make_lightning_problem(const attn4j_tensor *q, const attn4j_tensor *k, const attn4j_tensor *v,
                                             const attn4j_tensor *out, const attn4j_tensor *state_in,
                                             const attn4j_tensor *state_out, const attn4j_lightning_params &params);

}  // namespace attn4j
