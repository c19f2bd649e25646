// Lightning Attention-2 forward for avx2; the algorithm lives in cpu/lightning_tiled.h.
#include "cpu/avx2/avx2_traits.h"
#include "cpu/lightning_tiled.h"

namespace attn4j::cpu {

bool lightning_forward_avx2(const LightningProblem &p) { return LightningTiled<Avx2>::run(p); }

}  // namespace attn4j::cpu
