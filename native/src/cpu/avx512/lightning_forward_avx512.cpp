// Lightning Attention-2 forward for avx512; the algorithm lives in cpu/lightning_tiled.h.
#include "cpu/avx512/avx512_traits.h"
#include "cpu/lightning_tiled.h"

namespace attn4j::cpu {

bool lightning_forward_avx512(const LightningProblem &p) { return LightningTiled<Avx512>::run(p); }

}  // namespace attn4j::cpu
