// fp64 Lightning Attention reference: the quadratic form
//   o_i = sum_{j <= i} lambda^(i-j) (q_i . k_j) v_j + lambda^(i+1) q_i S0
// (S0 the initial state) and the final state S = lambda^N S0 + sum_j lambda^(N-1-j) k_j^T v_j.
// Outputs are dense [B, Hq, N, dv] and [B, Hq, d, dv].
#pragma once
#include <vector>

#include "cpu/lightning.h"

namespace attn4j::cpu {

void lightning_reference(const LightningProblem &p, std::vector<double> &out, std::vector<double> &state);

}  // namespace attn4j::cpu
