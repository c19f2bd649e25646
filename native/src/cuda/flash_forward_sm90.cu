// FlashAttention forward on Hopper (sm_90a) with warpgroup MMA: the math of flash_forward_cuda.cu
// (online softmax in log2 units, fp32 accumulators), on 128 x 128 tiles:
//   S = Q K^T                         wgmma m64n128k16, Q and K read from shared memory
//   m' = max(m, rowmax S), P = exp2(S - m'), l = 2^(m - m') l + rowsum P
//   O = 2^(m - m') O + P V            wgmma m64n128k16, P from registers, V read transposed
// A block of 3 warpgroups owns 128 query rows of one (batch, head). Warpgroup 0 is the producer: one
// thread loads Q and the K and V tiles of 128 keys with TMA (the tensor memory accelerator writes them
// in the 128-byte-swizzled layout of wgmma.cuh) into a pipeline of shared-memory stages guarded by
// mbarriers (K: 2 stages, V: 3), and the warpgroup gives its registers to the consumers. Warpgroups 1
// and 2 own 64 rows each; the second runs half a step behind: it issues P V of the previous tile
// together with S of this one, so that one warpgroup's softmax overlaps the other's matrix products on
// the tensor cores.
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <string>
#include <type_traits>

#include "attn4j.h"
#include "cuda/flash_params.cuh"
#include "cuda/flash_sequences.cuh"
#include "cuda/launch.h"
#include "cuda/mma.cuh"
#include "cuda/online_softmax.cuh"
#include "cuda/tma.cuh"
#include "cuda/wgmma.cuh"

namespace attn4j::cuda::flash {

namespace {

constexpr int kDim = 128, kRows = 128, kThreads = 384;  // a producer and two consumer warpgroups
constexpr int kKeys = 128;                 // keys per tile
constexpr int kBlockBytes = 128 * 128;      // one [128 rows][64] column block of 16-bit elements
constexpr int kTileBytes = 2 * kBlockBytes;  // a [128][128] tile: two column blocks
constexpr int kKStages = 2, kVStages = 3;
// Q, the K and V stages, 1024-byte alignment, then the mbarriers (full and empty per stage, Q).
constexpr size_t kSmemBytes = (1 + kKStages + kVStages) * kTileBytes + 1024 + 8 * (2 * (kKStages + kVStages) + 1);

// The three TMA descriptors of a launch (boxes of 128 rows x 64).
using Maps = tma::QkvMaps;

// Softcap: a separate kernel, since a branch around code that feeds wgmma registers serializes them.
// Blocks run in the order of blockIdx.x; group (0, or a number of heads) picks which (tile, head) each
// one takes: see launch.
// One block's work: query tile `tile` of (batch x head) bh, its rows and keys read by TMA at part's
// coordinates (Parts: the block's part of a batch of sequences, p already moved to it).
template <typename T, bool Softcap, bool Parts>
__device__ __forceinline__ void forward_block(const Params &p, const Maps &maps, const SeqPart part, const int tile,
                                              const int bh) {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
    extern __shared__ unsigned char smem_raw[];
    unsigned char *const smem =
        reinterpret_cast<unsigned char *>((reinterpret_cast<uintptr_t>(smem_raw) + 1023) & ~static_cast<uintptr_t>(1023));
    unsigned char *const sq = smem;
    auto sk = [&](int64_t t) { return smem + (1 + t % kKStages) * kTileBytes; };  // tile number t = (j0 - lo) / 128
    auto sv = [&](int64_t t) { return smem + (1 + kKStages + t % kVStages) * kTileBytes; };
    uint64_t *const bars = reinterpret_cast<uint64_t *>(smem + (1 + kKStages + kVStages) * kTileBytes);
    uint64_t *const full_k = bars, *const empty_k = bars + kKStages, *const full_v = bars + 2 * kKStages;
    uint64_t *const empty_v = full_v + kVStages, *const full_q = empty_v + kVStages;
    // Descriptors: the start address field (bits 0-13, 16-byte units) advances with the byte offset.
    const uint64_t kmajor = wgmma::descriptor(smem, 16, 1024), vmajor = wgmma::descriptor(smem, kBlockBytes, 1024);
    auto at = [](uint64_t desc, const unsigned char *base, const unsigned char *p) { return desc + ((p - base) >> 4); };

    const int b = bh / p.heads_q, h = bh % p.heads_q, hk = h / p.group;
    const int64_t i0 = static_cast<int64_t>(tile) * kRows;
    const int tid = threadIdx.x, wg = tid / 128 - 1, warp = (tid % 128) / 32, lane = tid % 32, g = lane / 4, t4 = lane % 4;

    const int64_t last = (i0 + kRows < p.len_q ? i0 + kRows : p.len_q) - 1;
    const int64_t lo = key_lo(p, i0), hi = key_hi(p, last);
    const int64_t tiles = lo < hi ? (hi - lo + kKeys - 1) / kKeys : 0;
    // Tiles inside [lo_all, hi_all) are visible to every row of the block: no per-element mask there.
    const int64_t lo_all = key_lo(p, last), hi_all = key_hi(p, i0);

    if (tid == 0) {
        for (int s = 0; s < kKStages; ++s) {
            tma::bar_init(&full_k[s], 1);
            tma::bar_init(&empty_k[s], 256);
        }
        for (int s = 0; s < kVStages; ++s) {
            tma::bar_init(&full_v[s], 1);
            tma::bar_init(&empty_v[s], 256);
        }
        tma::bar_init(full_q, 1);
        asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
    }
    __syncthreads();

    if (wg < 0) {  // the producer warpgroup
        asm volatile("setmaxnreg.dec.sync.aligned.u32 24;\n" ::: "memory");
        if (tid != 0) return;
        tma::bar_expect(full_q, kTileBytes);
        tma::load_tile(sq, &maps.q, kBlockBytes, part.q_row + i0, h, part.batch, full_q);
        // Stage s of a pipeline is refilled once both consumer warpgroups released its previous tile
        // (the first pass finds every stage free: parity 1 of a fresh barrier counts as complete).
        for (int64_t t = 0; t < tiles; ++t) {
            const int64_t j0 = lo + t * kKeys;
            tma::bar_wait(&empty_k[t % kKStages], ((t / kKStages) & 1) ^ 1);
            tma::bar_expect(&full_k[t % kKStages], kTileBytes);
            tma::load_tile(sk(t), &maps.k, kBlockBytes, part.k_row + j0, hk, part.batch, &full_k[t % kKStages]);
            tma::bar_wait(&empty_v[t % kVStages], ((t / kVStages) & 1) ^ 1);
            tma::bar_expect(&full_v[t % kVStages], kTileBytes);
            tma::load_tile(sv(t), &maps.v, kBlockBytes, part.k_row + j0, hk, part.batch, &full_v[t % kVStages]);
        }
        return;
    }
    asm volatile("setmaxnreg.inc.sync.aligned.u32 240;\n" ::: "memory");
    // This thread's two rows of the accumulator layout (rows g and g + 8 of its warp's 16).
    const int64_t rows[2] = {i0 + wg * 64 + warp * 16 + g, i0 + wg * 64 + warp * 16 + g + 8};
    tma::bar_wait(full_q, 0);

    float o[64], m[2] = {-INFINITY, -INFINITY}, l[2] = {0.0f, 0.0f};
#pragma unroll
    for (int i = 0; i < 64; ++i) o[i] = 0.0f;
    uint32_t pa[kKeys / 16][4];  // P of the tile whose P V is still to be issued (second warpgroup)

    // A part's last tile may hold rows past its keys (the next sequence's, or padding): their P is 0,
    // but 0 times a non-finite V would leak, so both warpgroups zero those V rows, half each, and wait
    // for each other before either multiplies. Only calls with parts have such a tile inside the tensor.
    const int64_t tail = Parts && tiles > 0 && lo + tiles * kKeys > p.len_k ? lo + (tiles - 1) * kKeys : -1;
    auto clear_tail = [&](int64_t t) {
        unsigned char *const base = sv(t);
        const int from = static_cast<int>(p.len_k - tail), chunks = (kKeys - from) * 16;  // 16-byte chunks
        for (int c = tid - 128; c < chunks; c += 256) {  // the 256 consumer threads
            const int row = from + c / 16, cc = c % 16;
            *reinterpret_cast<uint4 *>(base + (cc / 8) * kBlockBytes + row * 128 + (cc % 8) * 16) = make_uint4(0, 0, 0, 0);
        }
        asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");
        asm volatile("bar.sync 1, 256;\n" ::: "memory");
    };

    // O += P V of tile t, from the registers in pa.
    auto issue_pv = [&](int64_t t) {
#pragma unroll
        for (int kc = 0; kc < kKeys / 16; ++kc)
            wgmma::mma_rs<T>(o, pa[kc], at(vmajor, smem, sv(t) + kc * 16 * 128), 1);
    };

    // The second warpgroup issues P V of tile t - 1 with S of tile t; at t = 0 that is P = 0 times tile
    // 0's V, whose result is dropped, so that its wgmma sequence has no branch in it.
    if (wg == 1) {
#pragma unroll
        for (int kc = 0; kc < kKeys / 16; ++kc)
            for (int r = 0; r < 4; ++r) pa[kc][r] = 0u;
    }

    // One copy of the loop per warpgroup role, so that no wgmma sits on a branch.
    auto run = [&](auto behind_tag) {
        constexpr bool behind = decltype(behind_tag)::value;
        int64_t t = 0;
        for (int64_t j0 = lo; j0 < hi; j0 += kKeys, ++t) {
            const int64_t prev = t > 0 ? t - 1 : 0;  // the behind warpgroup's P V tile
            tma::bar_wait(&full_k[t % kKStages], (t / kKStages) & 1);
            if constexpr (behind) tma::bar_wait(&full_v[prev % kVStages], (prev / kVStages) & 1);

            // (second warpgroup: P V of the previous tile first), then S = Q K^T over the 128 head dims,
            // 16 at a time (the start address walks 32 bytes along a swizzled row, then on to the second
            // column block).
            float s[64];
#pragma unroll
            for (int i = 0; i < 64; ++i) s[i] = 0.0f;
            wgmma::fence();
            if constexpr (behind) issue_pv(prev);
#pragma unroll
            for (int ks = 0; ks < kDim / 16; ++ks) {
                const int off = (ks / 4) * kBlockBytes + (ks % 4) * 32;
                wgmma::mma_ss<T>(s, at(kmajor, smem, sq + off + (behind ? 64 * 128 : 0)), at(kmajor, smem, sk(t) + off), 1);
            }
            wgmma::commit();
            wgmma::wait<0>();
            wgmma::fence_operands(s);
            wgmma::fence_operands(o);
            tma::bar_arrive(&empty_k[t % kKStages]);  // K tile t is no longer read
            if constexpr (behind) {
                if (t > 0) tma::bar_arrive(&empty_v[prev % kVStages]);
                // At t = 0 that product was 0 times tile 0's V: drop it (a non-finite V would leak in).
#pragma unroll
                for (int i = 0; i < 64; ++i) o[i] = t > 0 ? o[i] : 0.0f;
            }

            online_softmax<T, Softcap>(s, o, m, l, pa, p, rows, j0, j0 < lo_all || j0 + kKeys > hi_all, t4);
            if constexpr (!behind) {  // O += P V now
                tma::bar_wait(&full_v[t % kVStages], (t / kVStages) & 1);
                if (Parts && j0 == tail) clear_tail(t);
                wgmma::fence();
                issue_pv(t);
                wgmma::commit();
                wgmma::wait<0>();
                wgmma::fence_operands(o);
                tma::bar_arrive(&empty_v[t % kVStages]);
            }
        }
        if constexpr (behind) {  // the last tile's P V
            if (t > 0) {
                tma::bar_wait(&full_v[(t - 1) % kVStages], ((t - 1) / kVStages) & 1);
                if (Parts && tail >= 0) clear_tail(t - 1);
                wgmma::fence();
                issue_pv(t - 1);
                wgmma::commit();
                wgmma::wait<0>();
                wgmma::fence_operands(o);
                tma::bar_arrive(&empty_v[(t - 1) % kVStages]);
            }
        }
    };
    if (wg == 1) {
        run(std::true_type{});
    } else {
        run(std::false_type{});
    }

    finish_rows<T>(p, b, h, rows, o, m, l, t4);
#endif
}

// One problem: block_order picks the (tile, batch x head). Sequences (Parts): entry blockIdx.x / heads,
// head blockIdx.x % heads (the heads of a GQA group side by side: their keys stay in L2), p moved to
// the entry's part. Two kernels, so that the one-problem path keeps reading its parameters in place.
template <typename T, bool Softcap, bool Parts>
__global__ void __launch_bounds__(kThreads, 1) flash_forward_sm90_kernel(const Params params, const __grid_constant__ Maps maps, int group) {
    if constexpr (Parts) {
        Params p = params;
        SeqPart part;
        int tile;
        if (!enter_part(p, blockIdx.x / p.heads_q, part, tile)) return;
        forward_block<T, Softcap, true>(p, maps, part, tile, static_cast<int>(blockIdx.x % p.heads_q));
    } else {
        const int n_tiles = (params.len_q + kRows - 1) / kRows;
        const TileOf at = block_order(blockIdx.x, n_tiles, gridDim.x / n_tiles, group);
        SeqPart part{};
        part.batch = at.bh / params.heads_q;
        forward_block<T, Softcap, false>(params, maps, part, at.tile, at.bh);
    }
}

template <typename T>
int32_t launch(const Params &given, const Maps &maps, int64_t batch_heads, SequencePlan *plan, cudaStream_t stream,
               std::string &error) {
    auto kernel = plan != nullptr ? (given.softcap > 0.0f ? flash_forward_sm90_kernel<T, true, true> : flash_forward_sm90_kernel<T, false, true>)
                                  : (given.softcap > 0.0f ? flash_forward_sm90_kernel<T, true, false> : flash_forward_sm90_kernel<T, false, false>);
    if (const int32_t st = status_of(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                                         static_cast<int>(kSmemBytes)), "cudaFuncSetAttribute", error))
        return st;
    Params p = given;
    int64_t blocks = (p.len_q + kRows - 1) / kRows * batch_heads;
    if (plan != nullptr) {
        if (const int32_t st = plan->make(kRows, p, error)) return st;
        blocks = p.tile_entries * p.heads_q;
        if (blocks == 0) return ATTN4J_STATUS_OK;
        if (blocks > INT32_MAX)
            return status_of(cudaErrorInvalidConfiguration, "FlashAttention (sm_90a): query tiles x heads exceed 2^31 - 1", error);
    }
    const dim3 grid(static_cast<unsigned>(blocks));
    // With a mask the blocks' work differs: the heaviest blocks of 8 heads at a time go first (a wave
    // then spans few heads, whose keys stay in L2). Without one, all blocks of a head run together.
    const int group = p.window_left >= 0 || p.window_right >= 0 ? 8 : 0;
    kernel<<<grid, kThreads, kSmemBytes, stream>>>(p, maps, group);
    return status_of(cudaGetLastError(), "FlashAttention (sm_90a) kernel launch", error);
}

}  // namespace

bool sm90_applies(const Params &p, int dim, int device) {
    // (Paged keys and per-entry key counts: the portable kernel, whose loads address rows one by one.)
    return dim == kDim && p.mask == nullptr && p.len_q > 64 && p.block_table == nullptr && p.kv_len == nullptr &&
           hopper_kernels(device);
}

bool launch_sm90(const Params &p, bool bf16, int64_t batch, int64_t heads_kv, SequencePlan *plan, cudaStream_t stream,
                 int32_t &status, std::string &error) {
    Maps maps{};
    if (!tma::encode_qkv(maps, p.q, p.sq, p.k, p.sk, p.v, p.sv, batch, p.heads_q, heads_kv, p.len_q, p.len_k, bf16, kRows, kKeys))
        return false;  // strides TMA cannot describe (e.g. broadcast heads): the caller's other kernel
    const int64_t bh = batch * p.heads_q;
    status = bf16 ? launch<__nv_bfloat16>(p, maps, bh, plan, stream, error) : launch<__half>(p, maps, bh, plan, stream, error);
    return true;
}

}  // namespace attn4j::cuda::flash
