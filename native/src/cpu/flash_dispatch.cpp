// The one place that maps the current ISA to a FlashAttention kernel.
#include "cpu/flash.h"
#include "cpu/isa.h"

namespace attn4j::cpu {

bool flash_forward(const FlashProblem &p) {
    switch (current_isa()) {
        default:
            return flash_forward_scalar(p);
    }
}

}  // namespace attn4j::cpu
