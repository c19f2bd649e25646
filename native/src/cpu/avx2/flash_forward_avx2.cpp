// FlashAttention forward for AVX2 + FMA: 8 fp32 lanes, 6x16 register-blocked micro-kernel
// (12 accumulators of the 16 ymm registers). The algorithm lives in cpu/flash_tiled.h.
#include <immintrin.h>

#include "cpu/avx2/avx2_traits.h"
#include "cpu/flash_tiled.h"

namespace attn4j::cpu {

bool flash_forward_avx2(const FlashProblem &p, const FlashPlan &plan) { return FlashTiled<Avx2>::run(p, plan); }

}  // namespace attn4j::cpu
