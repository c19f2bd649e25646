// The CPU's FlashAttention: how the kernels walk a core::FlashProblem's keys, the plan the tiled
// kernels take, and the kernel signatures of every ISA. Shared by the dispatcher, every ISA's kernel and the
// reference.
#pragma once
#include <cstdint>
#include <vector>

#include "core/flash_problem.h"

namespace attn4j::cpu {

// The CPU kernels work on the backend-neutral problem (core/flash_problem.h).
using core::BlockMask;
using core::DType;
using core::FlashProblem;

// Calls f(j0, j1) for every key tile [j0, j1) of at most `width` keys in [lo, hi) that query rows
// starting at i0 compute: all of them, or with a block mask only those of selected blocks (a tile
// never straddles a block edge). Shared by every kernel, so dense and sparse walk keys alike.
template <class F>
void for_each_key_tile(const FlashProblem &p, int64_t b, int64_t h, int64_t i0, int64_t lo, int64_t hi,
                       int64_t width, F &&f) {
    // Tiles of at most `width` keys, none across a page (the kernels address a tile's rows by one stride).
    auto tiles = [&](int64_t s, int64_t e) {
        for (int64_t j0 = s, j1; j0 < e; j0 = j1) {
            j1 = p.key_run_end(j0, j0 + width < e ? j0 + width : e);
            f(j0, j1);
        }
    };
    if (p.mask == nullptr) {
        tiles(lo, hi);
        return;
    }
    const BlockMask &m = *p.mask;
    const uint8_t *row = m.row(b, h, i0 / m.block_q);
    for (int64_t kb = lo / m.block_k; kb * m.block_k < hi; ++kb) {
        if (!BlockMask::test(row, kb)) continue;
        const int64_t s = kb * m.block_k > lo ? kb * m.block_k : lo;
        const int64_t e = (kb + 1) * m.block_k < hi ? (kb + 1) * m.block_k : hi;
        tiles(s, e);
    }
}

// Query rows per tile: the mask's query block when block-sparse, else `dense`.
inline int64_t tile_rows(const FlashProblem &p, int64_t dense) { return p.mask != nullptr ? p.mask->block_q : dense; }

// How the tiled kernels split the work: `splits` > 1 divides every row's keys into that many
// ranges processed by different threads (flash-decoding); their partial results go to `partial`
// ([B*Hq*Nq][splits][2 + dv]: m, l, unnormalized acc) and are merged afterwards.
struct FlashPlan {
    int64_t splits = 1;
    float *partial = nullptr;
    bool bf16_dot = false;  // the CPU has a bf16 dot product (AVX512_BF16)
    // Several problems in one parallel pass, their tiles spread over every thread (the sequences of a
    // batch of different lengths: core::sequence_parts), instead of the one problem passed (splits = 1).
    const FlashProblem *parts = nullptr;
    int64_t part_count = 0;
};

// Dispatches to the current ISA's kernel (cpu/kernels.h). Returns false on out-of-memory in a worker.
bool flash_forward(const FlashProblem &p);

// The kernels of each ISA (cpu/<isa>/flash_forward_<isa>.cpp): one that plans for itself, or a tiled
// one that runs the plan flash_forward makes.
using FlashFn = bool (*)(const FlashProblem &p);
using FlashTiledFn = bool (*)(const FlashProblem &p, const FlashPlan &plan);

// Below this much arithmetic a call finishes before sleeping pool threads could wake up to help.
constexpr double kMinParallelFlops = 4e6;

// Query rows per tile of the tiled kernels (the unit of work besides key splits).
constexpr int64_t kFlashTileRows = 96;

}  // namespace attn4j::cpu
