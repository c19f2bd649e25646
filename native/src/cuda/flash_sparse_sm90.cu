// Block-sparse FlashAttention on Hopper (sm_90a) for 64 x 64 block masks (SALE's sparse pass), head
// dim 128: the math of flash_forward_sm90.cu on the key blocks a mask row keeps,
//   S = Q K^T (wgmma m64n64k16, Q and K from shared memory) -> online_softmax -> O += P V (m64n128k16)
// A block owns QB = 3 neighbouring query blocks (64 rows each) of one (batch, head), with a warpgroup
// each and a producer warpgroup. The producer's first warp reads the QB mask rows 32 bytes at a time (a
// ballot finds the bytes with kept blocks), and its first thread loads each key block that any of the rows
// keeps, once, with TMA (K and V, 64 keys x 128 dims, 128B-swizzled) into a ring of stages, writing into
// each stage the block's number and which query blocks keep it, then a last stage that marks the end.
// Each consumer warpgroup walks the ring, computes the stages its row keeps and passes over the others.
// Neighbouring query blocks keep mostly the same key blocks (sinks, the diagonal), so one walk over the
// union loads fewer bytes than one per row; the warpgroups' products and softmax interleave on the SM.
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <string>

#include "attn4j.h"
#include "cuda/flash_params.cuh"
#include "cuda/launch.h"
#include "cuda/mma.cuh"
#include "cuda/online_softmax.cuh"
#include "cuda/tma.cuh"
#include "cuda/wgmma.cuh"

namespace attn4j::cuda::flash {

namespace {

constexpr int kDim = 128, kRows = 64, kKeys = 64;
constexpr int kBlockBytes = 64 * 128;      // one [64 rows][64] column block of 16-bit elements
constexpr int kTileBytes = 2 * kBlockBytes;  // a [64][128] tile
// What the producer wrote into a stage: key block kb, and in roles bit w when query block w keeps it,
// or kEnd when no key block follows.
struct Stage {
    int kb, roles;
};
[[maybe_unused]] constexpr int kEnd = 1 << 8;

// A block of QB consumer warpgroups (one query block each) and the producer warpgroup: as many stages
// (K and V of a key block each) as shared memory holds after the Q tiles, 1024-byte alignment, the
// mbarriers (full and empty per stage, Q) and the stage notes; registers moved from the producer to
// the consumers.
template <int QB>
struct Shape {
    static constexpr int kThreads = 128 * (QB + 1);
    static constexpr int kStages = QB == 2 ? 6 : 5;
    static constexpr size_t kSmemBytes = (QB + 2 * kStages) * kTileBytes + 1024 + 8 * (2 * kStages + 1) + sizeof(Stage) * kStages;
    static constexpr int kConsumerRegs = QB == 2 ? 240 : 160, kProducerRegs = 24;
    static_assert(kSmemBytes <= 227 * 1024, "shared memory per block");
    static_assert(kProducerRegs * 128 + kConsumerRegs * 128 * QB <= 65536, "registers per SM");
};
// Three query blocks per block: 1.03x two at 64K on an H100 (4.98 vs 5.13 ms for SALE's mask at tau 0.05).
constexpr int kQueryBlocks = 3;

using Maps = tma::QkvMaps;

// The bits of mask byte x that stand for key blocks in [a, z).
[[maybe_unused]] __device__ __forceinline__ uint32_t byte_range(int64_t x, int64_t a, int64_t z) {
    const int64_t lo = a - 8 * x, hi = z - 8 * x;
    const int l = lo < 0 ? 0 : (lo > 8 ? 8 : static_cast<int>(lo)), h = hi < 0 ? 0 : (hi > 8 ? 8 : static_cast<int>(hi));
    return ((1u << h) - 1u) & ~((1u << l) - 1u);
}

template <typename T, int QB>
__global__ void __launch_bounds__(Shape<QB>::kThreads, 1) flash_sparse_sm90_kernel(const Params p, const __grid_constant__ Maps maps, int q_blocks) {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
    constexpr int kStages = Shape<QB>::kStages;
    extern __shared__ unsigned char smem_raw[];
    unsigned char *const smem = smem_raw + tma::pad_1024(smem_raw);
    auto sq = [&](int w) { return smem + w * kTileBytes; };
    auto sk = [&](int s) { return smem + (QB + 2 * s) * kTileBytes; };
    auto sv = [&](int s) { return smem + (QB + 1 + 2 * s) * kTileBytes; };
    uint64_t *const full = reinterpret_cast<uint64_t *>(smem + (QB + 2 * kStages) * kTileBytes);
    uint64_t *const empty = full + kStages, *const full_q = empty + kStages;
    Stage *const note = reinterpret_cast<Stage *>(full_q + 1);

    // All groups of a head run together (heaviest first): the head's K and V stay in L2 while its
    // query blocks, which keep different key blocks, read them (8 heads at a time: 40% L2 hits, 1.3x the time).
    const int groups = (q_blocks + QB - 1) / QB;
    const TileOf at_group = block_order(blockIdx.x, groups, gridDim.x / groups, 0);
    const int bh = at_group.bh, b = bh / p.heads_q, h = bh % p.heads_q, hk = h / p.group;
    // (the warpgroup number through a shuffle: the compiler then knows it, and what depends on it, uniform)
    const int tid = threadIdx.x, wg = __shfl_sync(0xffffffffu, tid / 128, 0) - 1, warp = (tid % 128) / 32, lane = tid % 32,
              g = lane / 4, t4 = lane % 4;
    auto first_row = [&](int w) { return static_cast<int64_t>(QB * at_group.tile + w) * kRows; };

    if (tid == 0) {
        for (int s = 0; s < kStages; ++s) {
            tma::bar_init(&full[s], 1);
            tma::bar_init(&empty[s], 128 * QB);
        }
        tma::bar_init(full_q, 1);
        asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
    }
    __syncthreads();

    if (wg < 0) {  // the producer warpgroup; its first warp walks the masks
        asm volatile("setmaxnreg.dec.sync.aligned.u32 %0;\n" ::"n"(Shape<QB>::kProducerRegs) : "memory");
        if (warp != 0) return;
        // Query block w's mask row and the key blocks [a, z) its rows can see (none past the last row).
        const uint8_t *row[QB];
        int64_t a[QB], z[QB], kb_lo = INT64_MAX, kb_hi = 0;
        uint32_t q_bytes = 0;
        for (int w = 0; w < QB; ++w) {
            const int64_t i0 = first_row(w);
            row[w] = p.mask + (static_cast<int64_t>(bh) * p.mask_head_rows + QB * at_group.tile + w) * p.mask_row_bytes;
            a[w] = z[w] = 0;
            if (i0 >= p.len_q) continue;
            q_bytes += kTileBytes;
            const int64_t lo = key_lo(p, i0), hi = key_hi(p, (i0 + kRows < p.len_q ? i0 + kRows : p.len_q) - 1);
            if (lo >= hi) continue;
            a[w] = lo / kKeys;
            z[w] = (hi + kKeys - 1) / kKeys;
            kb_lo = a[w] < kb_lo ? a[w] : kb_lo;
            kb_hi = z[w] > kb_hi ? z[w] : kb_hi;
        }
        if (lane == 0) {
            tma::bar_expect(full_q, q_bytes);
            for (int w = 0; w < QB; ++w)
                if (first_row(w) < p.len_q) tma::load_tile(sq(w), &maps.q, kBlockBytes, first_row(w), h, b, full_q);
        }
        int64_t t = 0;  // stages written so far
        // A stage is refilled once both consumer warpgroups released it (the first pass finds every stage
        // free: parity 1 of a fresh barrier counts as complete).
        auto next_stage = [&]() {
            const int s = static_cast<int>(t % kStages);
            tma::bar_wait(&empty[s], ((t / kStages) & 1) ^ 1);
            return s;
        };
        for (int64_t x0 = kb_lo < kb_hi ? kb_lo / 8 : 0; x0 < (kb_hi + 7) / 8; x0 += 32) {
            const int64_t x = x0 + lane;
            // bits: byte x of the QB rows side by side (row w in bits 8 w .. 8 w + 7).
            uint32_t bits = 0;
            for (int w = 0; w < QB; ++w) {
                const uint32_t in = byte_range(x, a[w], z[w]);
                bits |= (in != 0 ? row[w][x] & in : 0u) << (8 * w);
            }
            for (uint32_t any = __ballot_sync(0xffffffffu, bits != 0); any != 0; any &= any - 1) {
                const int src = __ffs(static_cast<int>(any)) - 1;
                const uint32_t c = __shfl_sync(0xffffffffu, bits, src);
                uint32_t u = 0;
                for (int w = 0; w < QB; ++w) u |= (c >> (8 * w)) & 0xffu;
                for (; u != 0; u &= u - 1, ++t) {
                    const int bit = __ffs(static_cast<int>(u)) - 1;
                    if (lane != 0) continue;
                    const int s = next_stage();
                    const int kb = static_cast<int>((x0 + src) * 8 + bit);
                    int roles = 0;
                    for (int w = 0; w < QB; ++w) roles |= static_cast<int>((c >> (8 * w + bit)) & 1u) << w;
                    note[s].kb = kb;
                    note[s].roles = roles;
                    tma::bar_expect(&full[s], 2 * kTileBytes);
                    tma::load_tile(sk(s), &maps.k, kBlockBytes, static_cast<int64_t>(kb) * kKeys, hk, b, &full[s]);
                    tma::load_tile(sv(s), &maps.v, kBlockBytes, static_cast<int64_t>(kb) * kKeys, hk, b, &full[s]);
                }
            }
        }
        if (lane == 0) {
            const int s = next_stage();
            note[s].roles = kEnd;
            tma::bar_arrive(&full[s]);
        }
        return;
    }
    asm volatile("setmaxnreg.inc.sync.aligned.u32 %0;\n" ::"n"(Shape<QB>::kConsumerRegs) : "memory");
    const int64_t i0 = first_row(wg), last = (i0 + kRows < p.len_q ? i0 + kRows : p.len_q) - 1;
    // This thread's two rows of the accumulator layout (rows g and g + 8 of its warp's 16).
    const int64_t rows[2] = {i0 + warp * 16 + g, i0 + warp * 16 + g + 8};
    // Key blocks inside [lo_all, hi_all) are visible to every row of the query block: no per-element mask.
    const int64_t lo_all = key_lo(p, last), hi_all = key_hi(p, i0);
    const uint64_t kmajor = wgmma::descriptor(smem, 16, 1024), vmajor = wgmma::descriptor(smem, kBlockBytes, 1024);
    auto at = [&](uint64_t desc, const unsigned char *ptr) { return desc + ((ptr - smem) >> 4); };
    tma::bar_wait(full_q, 0);

    float o[64], m[2] = {-INFINITY, -INFINITY}, l[2] = {0.0f, 0.0f};
#pragma unroll
    for (int i = 0; i < 64; ++i) o[i] = 0.0f;
    uint32_t pa[kKeys / 16][4];
    // Stage s of the ring in its pass `phase`; the notes are read through a shuffle so that the stage
    // number, and the descriptors made from it, stay uniform (no per-thread descriptor arithmetic).
    int s = 0, phase = 0;
    auto advance = [&]() {
        if (++s == kStages) {
            s = 0;
            phase ^= 1;
        }
    };
    for (;; advance()) {
        // Pass over the stages this query block does not keep.
        int roles;
        for (;; advance()) {
            tma::bar_wait(&full[s], phase);
            roles = __shfl_sync(0xffffffffu, note[s].roles, 0);
            if (roles & (kEnd | (1 << wg))) break;
            tma::bar_arrive(&empty[s]);
        }
        if (roles & kEnd) break;
        const int64_t j0 = static_cast<int64_t>(__shfl_sync(0xffffffffu, note[s].kb, 0)) * kKeys;

        // S = Q K^T over the 128 head dims, 16 at a time (the start address walks 32 bytes along a
        // swizzled row, then on to the second column block).
        float sc[32];
#pragma unroll
        for (int i = 0; i < 32; ++i) sc[i] = 0.0f;
        wgmma::fence();
#pragma unroll
        for (int ks = 0; ks < kDim / 16; ++ks) {
            const int off = (ks / 4) * kBlockBytes + (ks % 4) * 32;
            wgmma::mma_ss_n64<T>(sc, at(kmajor, sq(wg) + off), at(kmajor, sk(s) + off), 1);
        }
        wgmma::commit();
        wgmma::wait<0>();
        wgmma::fence_operands(sc);

        online_softmax<T, false, 32, true>(sc, o, m, l, pa, p, rows, j0, j0 < lo_all || j0 + kKeys > hi_all, t4);

        // O += P V, V read transposed 16 keys at a time.
        wgmma::fence();
#pragma unroll
        for (int kc = 0; kc < kKeys / 16; ++kc) wgmma::mma_rs<T>(o, pa[kc], at(vmajor, sv(s) + kc * 16 * 128), 1);
        wgmma::commit();
        wgmma::wait<0>();
        wgmma::fence_operands(o);
        tma::bar_arrive(&empty[s]);
    }

    finish_rows<T>(p, b, h, rows, o, m, l, t4);
#endif
}

template <typename T, int QB>
int32_t launch(const Params &p, const Maps &maps, int64_t batch_heads, cudaStream_t stream, std::string &error) {
    using S = Shape<QB>;
    auto kernel = flash_sparse_sm90_kernel<T, QB>;
    if (const int32_t st = status_of(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                                         static_cast<int>(S::kSmemBytes)), "cudaFuncSetAttribute", error))
        return st;
    const int q_blocks = (p.len_q + kRows - 1) / kRows;
    const dim3 grid(static_cast<unsigned>((q_blocks + QB - 1) / QB * batch_heads));
    kernel<<<grid, S::kThreads, S::kSmemBytes, stream>>>(p, maps, q_blocks);
    return status_of(cudaGetLastError(), "block-sparse FlashAttention (sm_90a) kernel launch", error);
}

}  // namespace

bool sparse_sm90_applies(const Params &p, int dim, int device) {
    return dim == kDim && p.mask != nullptr && p.softcap == 0.0f && p.window_left < 0 && p.kv_splits == 1 &&
           hopper_kernels(device);
}

bool launch_sparse_sm90(const Params &p, bool bf16, int64_t batch, int64_t heads_kv, cudaStream_t stream, int32_t &status,
                        std::string &error) {
    Maps maps{};
    if (!tma::encode_qkv(maps, p.q, p.sq, p.k, p.sk, p.v, p.sv, batch, p.heads_q, heads_kv, p.len_q, p.len_k, bf16, kRows, kKeys))
        return false;
    const int64_t bh = batch * p.heads_q;
    status = bf16 ? launch<__nv_bfloat16, kQueryBlocks>(p, maps, bh, stream, error)
                  : launch<__half, kQueryBlocks>(p, maps, bh, stream, error);
    return true;
}

}  // namespace attn4j::cuda::flash
