// The scalar kernels' table: portable code, on every CPU.
#include "cpu/kernels.h"

namespace attn4j::cpu {

// Defined in this directory's kernel files.
bool flash_forward_scalar(const FlashProblem &p);
bool lightning_forward_scalar(const LightningProblem &p);
void sale_rowmax_scalar(const uint8_t *, int64_t, int64_t, const uint8_t *, int8_t *, int64_t, const int32_t *,
                        const int32_t *, int32_t *);

namespace {
bool always() { return true; }
}  // namespace

const CpuKernels kScalarKernels{Isa::Scalar, "scalar", &always, nullptr, &flash_forward_scalar, &lightning_forward_scalar,
                                &sale_rowmax_scalar, nullptr};

}  // namespace attn4j::cpu
