// FlashAttention forward for AVX-512 (F, BW, DQ, VL): 16 fp32 lanes, 12x32 register-blocked
// micro-kernel (24 accumulators of the 32 zmm registers). The algorithm lives in cpu/flash_tiled.h.
#include <immintrin.h>

#include "cpu/avx512/avx512_traits.h"
#include "cpu/flash_tiled.h"

namespace attn4j::cpu {

bool flash_forward_avx512(const FlashProblem &p, const FlashPlan &plan) { return FlashTiled<Avx512>::run(p, plan); }

}  // namespace attn4j::cpu
