// Which CPU kernels run: detected from CPUID once, optionally lowered by ATTN4J_ISA or the API.
#pragma once
#include <cstdint>

namespace attn4j::cpu {

// The values of ATTN4J_ISA_*; each has its kernel table (cpu/kernels.h).
enum class Isa : int32_t { Scalar = 0, Avx2 = 1, Avx512 = 2 };
constexpr int32_t kIsaCount = 3;

Isa best_isa();      // best this CPU supports and this build has kernels for
Isa current_isa();   // in use now
bool set_isa(Isa isa);  // false if isa is above best_isa()
const char *isa_name(int32_t isa);  // "unknown" for a value that is no Isa
// Whether the AVX-512 kernels multiply bf16 storage as bf16 pairs (vdpbf16ps) instead of widening it
// to fp32. By default where it is faster, measured once per process: on AMD Zen 4 vdpbf16ps runs at
// the fp32 FMA rate with twice the work (pairs win), on Sapphire Rapids at half (widening wins).
// ATTN4J_BF16_DOT=1 or 0 forces it on (where the CPU has AVX512_BF16) or off.
bool bf16_dot();
bool bf16_dot_default();  // the choice above, before any set_bf16_dot
bool bf16_dot_supported();
void set_bf16_dot(bool on);  // for tests and benchmarks; ignored when unsupported
// Whether SALE's estimation may use AMX int8 tiles (tdpbusd) under the AVX-512 kernels: the CPU has
// AMX-INT8 and the OS granted the tile state to this process. On by default where supported;
// ATTN4J_AMX=0 turns it off.
bool amx();
bool amx_supported();
void set_amx(bool on);  // for tests and benchmarks; ignored when unsupported

}  // namespace attn4j::cpu
