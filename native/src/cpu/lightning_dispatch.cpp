// Maps the current ISA to a Lightning Attention kernel.
#include "cpu/isa.h"
#include "cpu/lightning.h"

namespace attn4j::cpu {

bool lightning_forward(const LightningProblem &p) {
    switch (current_isa()) {
        case Isa::Avx512:
            return lightning_forward_avx512(p);
        case Isa::Avx2:
            return lightning_forward_avx2(p);
        default:
            return lightning_forward_scalar(p);
    }
}

}  // namespace attn4j::cpu
