// Lightning Attention-2 forward for scalar; the algorithm lives in cpu/lightning_tiled.h.
#include "cpu/scalar/scalar_traits.h"
#include "cpu/lightning_tiled.h"

namespace attn4j::cpu {

bool lightning_forward_scalar(const LightningProblem &p) { return LightningTiled<Scalar>::run(p); }

}  // namespace attn4j::cpu
