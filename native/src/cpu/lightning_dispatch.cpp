// Lightning Attention-2 on the CPU: the current ISA's kernel (cpu/kernels.h).
#include "cpu/kernels.h"
#include "cpu/lightning.h"

namespace attn4j::cpu {

bool lightning_forward(const LightningProblem &p) { return kernels().lightning(p); }

}  // namespace attn4j::cpu
