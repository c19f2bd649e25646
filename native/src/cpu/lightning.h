// The CPU's Lightning Attention-2 over a core::LightningProblem: block sizes, the kernel signature.
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

// Dispatches to the current ISA's kernel (cpu/kernels.h), one per ISA in cpu/<isa>/. Returns false on
// out-of-memory in a worker.
bool lightning_forward(const LightningProblem &p);
using LightningFn = bool (*)(const LightningProblem &p);

}  // namespace attn4j::cpu
