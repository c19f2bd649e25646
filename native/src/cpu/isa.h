// Which CPU kernels run: detected from CPUID once, optionally lowered by ATTN4J_ISA or the API.
#pragma once
#include <cstdint>

namespace attn4j::cpu {

enum class Isa : int32_t { Scalar = 0, Avx2 = 1, Avx512 = 2 };

Isa best_isa();      // best this CPU supports and this build has kernels for
Isa current_isa();   // in use now
bool set_isa(Isa isa);  // false if isa is above best_isa()
const char *isa_name(int32_t isa);

}  // namespace attn4j::cpu
