// The CPU's Lightning Attention-2 over a core::LightningProblem: block sizes, the kernels of each ISA.
// Shared by the dispatcher, the kernels of every ISA and the fp64 reference.
#pragma once
#include <cstdint>

#include "core/lightning_problem.h"
#include "cpu/flash.h"

namespace attn4j::cpu {

using core::LightningProblem;

// Tokens per block when the caller asks for 0.
constexpr int64_t kLightningDefaultBlock = 32;
constexpr int64_t kLightningMaxBlock = 256;

bool lightning_forward(const LightningProblem &p);

bool lightning_forward_scalar(const LightningProblem &p);
bool lightning_forward_avx2(const LightningProblem &p);
bool lightning_forward_avx512(const LightningProblem &p);

}  // namespace attn4j::cpu
