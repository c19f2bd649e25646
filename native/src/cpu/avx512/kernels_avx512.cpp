// The AVX-512 (F, BW, DQ, VL) kernels' table; SALE's estimation may run on AMX tiles instead
// (cpu/amx/, when cpu::amx()). Compiled without the ISA's flags: supported() runs on every CPU.
#include "cpu/kernels.h"

namespace attn4j::cpu {

// Defined in this directory's kernel files, and cpu/amx/.
bool flash_forward_avx512(const FlashProblem &p, const FlashPlan &plan);
bool lightning_forward_avx512(const LightningProblem &p);
void sale_rowmax_avx512(const uint8_t *, int64_t, int64_t, const uint8_t *, int8_t *, int64_t, const int32_t *,
                        const int32_t *, int32_t *);
void sale_rowmax_amx(const uint8_t *, int64_t, int64_t, const uint8_t *, int8_t *, int64_t, const int32_t *,
                     const int32_t *, int32_t *);

namespace {
bool supported() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
#else
    return false;
#endif
}
}  // namespace

const CpuKernels kAvx512Kernels{Isa::Avx512, "avx512", &supported, &flash_forward_avx512, nullptr, &lightning_forward_avx512,
                                &sale_rowmax_avx512, &sale_rowmax_amx};

}  // namespace attn4j::cpu
