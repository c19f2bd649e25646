// One table of kernels per ISA, defined next to that ISA's kernels (cpu/<isa>/kernels_<isa>.cpp), and
// the lookup the dispatchers use. Adding an ISA: its traits file and kernel files in cpu/<isa>/, its
// table there, its Isa value (isa.h, ATTN4J_ISA_* in attn4j.h), its line in kIsaTables (kernels.cpp)
// and its compile flags in native/CMakeLists.txt.
#pragma once
#include "cpu/flash.h"
#include "cpu/isa.h"
#include "cpu/lightning.h"
#include "cpu/sale/sale.h"

namespace attn4j::cpu {

struct CpuKernels {
    Isa isa;
    const char *name;    // ATTN4J_ISA's value for it, and attn4j_isa_name's answer
    bool (*supported)();  // whether this CPU runs the kernels (baseline code: runs on every CPU)
    // FlashAttention: a tiled kernel (run on the plan of cpu/flash_dispatch.cpp), or null and one that
    // plans for itself.
    FlashTiledFn flash_tiled;
    FlashFn flash;
    LightningFn lightning;
    SaleRowmaxFn sale_rowmax;
    // SALE's estimation on AMX tiles, used instead of sale_rowmax when cpu::amx() and dp % 64 == 0
    // (qu readable for rows rounded up to 16); null where the ISA has none.
    SaleRowmaxFn sale_rowmax_amx;
};

extern const CpuKernels kScalarKernels, kAvx2Kernels, kAvx512Kernels;

// Every ISA's table, indexed by Isa (lowest first).
extern const CpuKernels *const kIsaTables[kIsaCount];

// The current ISA's kernels.
const CpuKernels &kernels();

}  // namespace attn4j::cpu
