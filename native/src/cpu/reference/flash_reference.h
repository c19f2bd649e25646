// fp64 FlashAttention reference: the plain softmax(scale * q k^T + mask) v loop every kernel is checked
// against. Outputs are dense [B, Hq, Nq, dv] and [B, Hq, Nq]; fully masked rows give 0 and -inf.
#pragma once
#include <vector>

#include "cpu/flash.h"

namespace attn4j::cpu {

void flash_reference(const FlashProblem &p, std::vector<double> &out, std::vector<double> &lse);

}  // namespace attn4j::cpu
