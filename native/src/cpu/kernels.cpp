#include "cpu/kernels.h"

namespace attn4j::cpu {

const CpuKernels *const kIsaTables[kIsaCount] = {&kScalarKernels, &kAvx2Kernels, &kAvx512Kernels};

const CpuKernels &kernels() { return *kIsaTables[static_cast<int32_t>(current_isa())]; }

}  // namespace attn4j::cpu
