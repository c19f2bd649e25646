// The AVX2 + FMA kernels' table. Compiled without the ISA's flags: supported() runs on every CPU.
#include "cpu/kernels.h"

namespace attn4j::cpu {

// Defined in this directory's kernel files.
bool flash_forward_avx2(const FlashProblem &p, const FlashPlan &plan);
bool lightning_forward_avx2(const LightningProblem &p);
void sale_rowmax_avx2(const uint8_t *, int64_t, int64_t, const uint8_t *, int8_t *, int64_t, const int32_t *,
                      const int32_t *, int32_t *);

namespace {
bool supported() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return false;
#endif
}
}  // namespace

const CpuKernels kAvx2Kernels{Isa::Avx2, "avx2", &supported, &flash_forward_avx2, nullptr, &lightning_forward_avx2,
                              &sale_rowmax_avx2, nullptr};

}  // namespace attn4j::cpu
