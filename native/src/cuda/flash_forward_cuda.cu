// FlashAttention forward on NVIDIA GPUs (sm_80 and newer): bf16/fp16 storage, fp32 accumulation,
// mma.sync m16n8k16 tensor-core tiles, the online softmax kept in registers (FlashAttention-2).
//
// A block of 4 warps owns 64 Mt query rows of one (batch, head), or for decode with grouped heads (Pack)
// the rows of every query head of one kv head (row v: head v % group at position v / group, so that
// each K/V tile is read once for the group); each warp owns Mt m-tiles of 16 rows
// (Mt = 2 for dense attention: every K/V fragment read from shared memory feeds two mma; Mt = 1 for
// block-sparse attention, whose mask has 64-row blocks, for short queries and unaligned rows). For every 64-key
// tile that some row of the block can see (masked tiles are skipped; only tiles that cross a mask
// edge pay for the per-element test):
//   S = Q K^T (registers)  ->  scale, soft-cap, mask  ->  m' = max(m, rowmax S), P = exp2(S - m')
//   l = 2^(m - m') l + rowsum P;  O = 2^(m - m') O + P V   (P reused from S's registers as the A operand)
// then O / l and LSE = (m + log2 l) ln 2. Scores live in log2 units (scale * log2 e folded in).
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <string>
#include <type_traits>
#include <utility>

#include "attn4j.h"
#include "cuda/flash_params.cuh"
#include "cuda/flash_sequences.cuh"
#include "cuda/launch.h"
#include "cuda/mma.cuh"

namespace attn4j::cuda {

namespace {

using flash::key_hi;
using flash::key_lo;
using flash::enter_part;
using flash::Params;
using flash::SeqPart;

constexpr int kThreads = 128;  // 4 warps
constexpr int kKeys = flash::kTileKeys;
constexpr int kPad = 8;       // shared-memory row padding (elements): conflict-free fragment loads

// K/V tile pairs in shared memory: with asynchronous loads one tile is loaded while the other is used.
// (Four stages for decode with grouped heads, one block per SM, measured slower than two with two blocks.)
template <bool Vec>
__host__ __device__ constexpr int kv_stages() { return Vec ? 2 : 1; }

// The first key tile at or after j (tiles start at multiples of kKeys from lo) that the block mask
// keeps for this query tile, or hi; every tile when there is no mask.
__device__ __forceinline__ int64_t next_tile(const uint8_t *row, int64_t j, int64_t hi) {
    if (row == nullptr) return j;
    for (; j < hi; j += 64)
        if ((row[j / 64 / 8] >> ((j / 64) % 8)) & 1) return j;
    return hi;
}

// One block's work: query tile `tile` of (batch x head) blockIdx.y, or with sequences the tile of the
// part p was moved to (blockIdx.y the head), or with Pack the rows of (batch x kv head) blockIdx.y.
template <typename T, int D, bool Vec, int Mt, bool Pack = false>
__device__ __forceinline__ void forward_rows(const Params &p, const int tile) {
    constexpr int kRows = 64 * Mt;
    // One m-tile keeps its Q fragments in registers for the whole key loop, unless d = 256 needs them
    // for the accumulators.
    constexpr bool kQRegs = Mt == 1 && D <= 128;
    extern __shared__ __align__(16) unsigned char smem[];
    constexpr int ldq = D + kPad;
    T *sq = reinterpret_cast<T *>(smem);  // [kRows][ldq]
    // K and V tiles, [kKeys][ldq] each, after Q: one pair per stage.
    constexpr int kStages = kv_stages<Vec>();
    T *const kv0 = sq + kRows * ldq;
    auto k_tile = [&](int b) { return kv0 + b * 2 * kKeys * ldq; };
    auto v_tile = [&](int b) { return kv0 + b * 2 * kKeys * ldq + kKeys * ldq; };

    const int bh = blockIdx.y, heads_kv = p.heads_q / p.group;
    const int b = Pack ? bh / heads_kv : bh / p.heads_q, hk = Pack ? bh % heads_kv : bh % p.heads_q / p.group;
    const int h = Pack ? hk * p.pack : bh % p.heads_q;  // with Pack the group's first head
    const int64_t i0 = static_cast<int64_t>(tile) * kRows;
    const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32, g = lane / 4, t4 = lane % 4;
    // Rows of this block's problem, and each row's position in the sequence and head.
    const int64_t rows_q = Pack ? static_cast<int64_t>(p.len_q) * p.pack : p.len_q;
    auto pos = [&](int64_t r) { return Pack ? r / p.pack : r; };
    auto head = [&](int64_t r) { return Pack ? h + static_cast<int>(r % p.pack) : h; };

    const T *q = static_cast<const T *>(p.q) + b * p.sq[0] + h * p.sq[1];
    const flash::KeyRows<T> k = flash::key_rows<T>(p, p.k, p.sk, b, hk), v = flash::key_rows<T>(p, p.v, p.sv, b, hk);
    const int64_t len_k = flash::keys_of(p, b);

    if constexpr (Pack) {  // rows of several heads: their own addresses (Vec: 16-byte aligned rows)
        constexpr int kVec = 8;
        for (int x = tid; x < kRows * (D / kVec); x += kThreads) {
            const int r = x / (D / kVec), c = (x % (D / kVec)) * kVec;
            uint4 val = make_uint4(0, 0, 0, 0);
            if (i0 + r < rows_q)
                val = *reinterpret_cast<const uint4 *>(q + ((i0 + r) % p.pack) * p.sq[1] + pos(i0 + r) * p.sq[2] + c);
            *reinterpret_cast<uint4 *>(sq + r * ldq + c) = val;
        }
    } else {
        load_rows<T, D, kThreads, Vec>(sq, ldq, q, p.sq[2], i0, kRows, p.len_q, tid);
    }
    __syncthreads();

    // This warp's rows: m-tile mt covers r0 + 16 mt .. + 15. A fragments of Q by ldmatrix (rows lane % 16,
    // columns 8 (lane / 16) of a 16 x 16 step); with one m-tile they stay in registers for the whole key
    // loop, with two they are re-read per tile (registers go to the second tile's accumulators).
    const int r0 = warp * 16 * Mt;
    auto load_q = [&](uint32_t (&a)[4], int mt, int kk) {
        ldmatrix_x4(a, &sq[(r0 + mt * 16 + lane % 16) * ldq + kk * 16 + (lane / 16) * 8]);
    };
    uint32_t qa[kQRegs ? D / 16 : 1][4];
    if constexpr (kQRegs) {
#pragma unroll
        for (int kk = 0; kk < D / 16; ++kk) load_q(qa[kk], 0, kk);
    }

    const int64_t last = (i0 + kRows < rows_q ? i0 + kRows : rows_q) - 1;
    int64_t lo = key_lo(p, pos(i0), len_k), hi = key_hi(p, pos(last), len_k);
    if (p.kv_splits > 1) {  // this block's share of the keys
        const int64_t s_lo = blockIdx.z * p.split_keys, s_hi = s_lo + p.split_keys;
        lo = lo > s_lo ? lo : s_lo;
        hi = hi < s_hi ? hi : s_hi;
    }
    // Tiles inside [lo_all, hi_all) are visible to every row of the block: no per-element mask there.
    const int64_t lo_all = key_lo(p, pos(last), len_k), hi_all = key_hi(p, pos(i0), len_k);
    auto row_of = [&](int mt, int half) { return i0 + r0 + mt * 16 + g + 8 * half; };

    float m[Mt][2], l[Mt][2], acc[Mt][D / 8][4];
#pragma unroll
    for (int mt = 0; mt < Mt; ++mt) {
        m[mt][0] = m[mt][1] = -INFINITY;
        l[mt][0] = l[mt][1] = 0.0f;
#pragma unroll
        for (int dt = 0; dt < D / 8; ++dt)
            for (int c = 0; c < 4; ++c) acc[mt][dt][c] = 0.0f;
    }

    // Block-sparse calls (64-row blocks, Mt = 1) walk only the kept key tiles (lo is 0 there: no left window).
    // (No masks with sequences: the dispatch refuses them.)
    const uint8_t *mrow = p.mask != nullptr ? p.mask + (static_cast<int64_t>(bh) * p.mask_head_rows + tile) * p.mask_row_bytes : nullptr;
    const int64_t first = next_tile(mrow, lo, hi);
    int64_t ahead = first;  // the next tile to load
    auto issue = [&](int stage) {  // one commit group per call (empty past the last tile)
        if (ahead < hi) {
            load_rows_async_by<T, D, kThreads>(k_tile(stage), ldq, k, ahead, kKeys, len_k, tid);
            load_rows_async_by<T, D, kThreads>(v_tile(stage), ldq, v, ahead, kKeys, len_k, tid);
            ahead = next_tile(mrow, ahead + kKeys, hi);
        }
        cp_async_commit();
    };
    if constexpr (Vec)
        for (int s = 0; s + 1 < kStages; ++s) issue(s);
    int stage = 0;
    for (int64_t j0 = first; j0 < hi; j0 = next_tile(mrow, j0 + kKeys, hi), stage = (stage + 1) % kStages) {
        T *sk = k_tile(stage), *sv = v_tile(stage);
        if constexpr (Vec) {
            // Refill the stage computed last (the barrier after it freed it), then wait for this tile: the
            // groups still pending are the kStages - 1 issued after it.
            issue((stage + kStages - 1) % kStages);
            cp_async_wait<kStages - 1>();
            __syncthreads();
        } else {
            __syncthreads();  // the previous tile's K and V are no longer read
            load_rows_by<T, D, kThreads, false>(sk, ldq, k, j0, kKeys, len_k, tid);
            load_rows_by<T, D, kThreads, false>(sv, ldq, v, j0, kKeys, len_k, tid);
            __syncthreads();
        }

        // S = Q K^T, 16 head dims at a time; one ldmatrix.x4 of K gives the B fragments of 2 x 8 keys,
        // used by every m-tile.
        float s[Mt][kKeys / 8][4];
#pragma unroll
        for (int mt = 0; mt < Mt; ++mt)
#pragma unroll
            for (int nt = 0; nt < kKeys / 8; ++nt)
                for (int c = 0; c < 4; ++c) s[mt][nt][c] = 0.0f;
#pragma unroll
        for (int kk = 0; kk < D / 16; ++kk) {
            uint32_t a[Mt][4];
#pragma unroll
            for (int mt = 0; mt < Mt; ++mt) {
                if constexpr (kQRegs) {
                    for (int c = 0; c < 4; ++c) a[mt][c] = qa[kk][c];
                } else {
                    load_q(a[mt], mt, kk);
                }
            }
#pragma unroll
            for (int nt = 0; nt < kKeys / 8; nt += 2) {
                uint32_t kb[4];
                ldmatrix_x4(kb, &sk[(nt * 8 + lane % 8 + (lane / 16) * 8) * ldq + kk * 16 + ((lane / 8) % 2) * 8]);
#pragma unroll
                for (int mt = 0; mt < Mt; ++mt) {
                    mma<T>(s[mt][nt], a[mt], kb[0], kb[1]);
                    mma<T>(s[mt][nt + 1], a[mt], kb[2], kb[3]);
                }
            }
        }

        // Scale, soft-cap and mask in place, the row maxima (over the 4 threads of a row), then
        // P = exp2(S - m'), the row sums and the rescaled accumulators.
        const bool edge = j0 < lo_all || j0 + kKeys > hi_all;
#pragma unroll
        for (int mt = 0; mt < Mt; ++mt) {
            float mx[2] = {-INFINITY, -INFINITY};
            auto scale_mask = [&](auto masked) {
#pragma unroll
                for (int nt = 0; nt < kKeys / 8; ++nt)
#pragma unroll
                    for (int c = 0; c < 4; ++c) {
                        const int half = c / 2;
                        float x;
                        if (p.softcap > 0.0f) {
                            x = p.softcap * tanhf(s[mt][nt][c] * p.scale / p.softcap) * 1.4426950408889634f;
                        } else {
                            x = s[mt][nt][c] * p.scale_log2;
                        }
                        if constexpr (decltype(masked)::value) {
                            const int64_t j = j0 + nt * 8 + t4 * 2 + (c & 1), i = pos(row_of(mt, half));
                            if (j < key_lo(p, i, len_k) || j >= key_hi(p, i, len_k)) x = -INFINITY;
                        }
                        s[mt][nt][c] = x;
                        mx[half] = fmaxf(mx[half], x);
                    }
            };
            if (edge) {
                scale_mask(std::true_type{});
            } else {
                scale_mask(std::false_type{});
            }
            float alpha[2];
#pragma unroll
            for (int half = 0; half < 2; ++half) {
                mx[half] = fmaxf(mx[half], __shfl_xor_sync(0xffffffffu, mx[half], 1));
                mx[half] = fmaxf(mx[half], __shfl_xor_sync(0xffffffffu, mx[half], 2));
                const float m_new = fmaxf(m[mt][half], mx[half]);
                const float m_use = m_new == -INFINITY ? 0.0f : m_new;  // a row that sees nothing yet
                alpha[half] = exp2f(m[mt][half] - m_use);
                m[mt][half] = m_new;
                mx[half] = m_use;
            }
            float rowsum[2] = {0.0f, 0.0f};
#pragma unroll
            for (int nt = 0; nt < kKeys / 8; ++nt)
#pragma unroll
                for (int c = 0; c < 4; ++c) {
                    const float e = exp2f(s[mt][nt][c] - mx[c / 2]);
                    s[mt][nt][c] = e;
                    rowsum[c / 2] += e;
                }
#pragma unroll
            for (int half = 0; half < 2; ++half) l[mt][half] = l[mt][half] * alpha[half] + rowsum[half];
#pragma unroll
            for (int dt = 0; dt < D / 8; ++dt) {
                acc[mt][dt][0] *= alpha[0];
                acc[mt][dt][1] *= alpha[0];
                acc[mt][dt][2] *= alpha[1];
                acc[mt][dt][3] *= alpha[1];
            }
        }

        // O += P V, with P (the S accumulators) rearranged into A fragments 16 keys at a time.
#pragma unroll
        for (int kc = 0; kc < kKeys / 16; ++kc) {
            uint32_t pa[Mt][4];
#pragma unroll
            for (int mt = 0; mt < Mt; ++mt) {
                pa[mt][0] = pack2<T>(s[mt][2 * kc][0], s[mt][2 * kc][1]);
                pa[mt][1] = pack2<T>(s[mt][2 * kc][2], s[mt][2 * kc][3]);
                pa[mt][2] = pack2<T>(s[mt][2 * kc + 1][0], s[mt][2 * kc + 1][1]);
                pa[mt][3] = pack2<T>(s[mt][2 * kc + 1][2], s[mt][2 * kc + 1][3]);
            }
            // Lanes 0-15 address keys kc*16 + lane of head-dim tile dt, lanes 16-31 those of tile dt + 1.
            const int vrow = kc * 16 + (lane % 16), vcol = (lane / 16) * 8;
#pragma unroll
            for (int dt = 0; dt < D / 8; dt += 2) {
                uint32_t vb[4];
                ldmatrix_x4_trans(vb, &sv[vrow * ldq + dt * 8 + vcol]);
#pragma unroll
                for (int mt = 0; mt < Mt; ++mt) {
                    mma<T>(acc[mt][dt], pa[mt], vb[0], vb[1]);
                    mma<T>(acc[mt][dt + 1], pa[mt], vb[2], vb[3]);
                }
            }
        }
        if constexpr (Vec) __syncthreads();  // the next iteration refills this stage
    }

    // Finish the row sums across the 4 threads of a row, normalize and write.
#pragma unroll
    for (int mt = 0; mt < Mt; ++mt)
#pragma unroll
        for (int half = 0; half < 2; ++half) {
            const float sum = flash::quad_sum(l[mt][half]);
            const int64_t r = row_of(mt, half), i = pos(r);
            if (r >= rows_q) continue;
            const int hh = head(r);
            if (p.kv_splits > 1) {  // a partial result for merge_splits, by (batch x query head, row)
                const float inv = sum > 0.0f ? 1.0f / sum : 0.0f;
                const int64_t bhq = static_cast<int64_t>(b) * p.heads_q + hh;
                const int64_t row = (static_cast<int64_t>(blockIdx.z) * gridDim.y * p.pack + bhq) * p.len_q + i;
#pragma unroll
                for (int dt = 0; dt < D / 8; ++dt) {
                    const int c = dt * 8 + t4 * 2;
                    p.part_o[row * D + c] = acc[mt][dt][2 * half] * inv;
                    p.part_o[row * D + c + 1] = acc[mt][dt][2 * half + 1] * inv;
                }
                if (t4 == 0) p.part_lse[row] = sum > 0.0f ? m[mt][half] + log2f(sum) : -INFINITY;
                continue;
            }
            flash::write_row<T, D>(p, b, hh, i, sum, m[mt][half], t4,
                                   [&](int dt) { return make_float2(acc[mt][dt][2 * half], acc[mt][dt][2 * half + 1]); },
                                   len_k);
        }
}

// One problem: heaviest (causal) tiles first. Sequences (Parts): the entry's part as a problem of its
// own. Two kernels, so that the one-problem path keeps reading its parameters in place.
template <typename T, int D, bool Vec, int Mt, bool Parts, bool Pack = false>
__global__ void __launch_bounds__(kThreads) flash_forward_kernel(const Params params) {
    if constexpr (Pack) {
        forward_rows<T, D, Vec, Mt, true>(params, static_cast<int>(blockIdx.x));
    } else if constexpr (Parts) {
        Params p = params;
        SeqPart part;
        int tile;
        if (enter_part(p, blockIdx.x, part, tile)) forward_rows<T, D, Vec, Mt>(p, tile);
    } else {
        forward_rows<T, D, Vec, Mt>(params, static_cast<int>(gridDim.x - 1 - blockIdx.x));
    }
}

// Combines the key splits of each row: O = sum_s w_s O_s / sum_s w_s with w_s = 2^(lse_s - max lse),
// LSE = (max + log2 sum_s w_s) ln 2. One block per (row, batch x head), one thread per column.
template <typename T, int D>
__global__ void __launch_bounds__(D) merge_splits(const Params p) {
    const int64_t i = blockIdx.x, bh = blockIdx.y, b = bh / p.heads_q, h = bh % p.heads_q, len_k = flash::keys_of(p, b);
    const int64_t rows = static_cast<int64_t>(gridDim.y) * p.len_q, row = bh * p.len_q + i;
    float mx = -INFINITY;
    for (int s = 0; s < p.kv_splits; ++s) mx = fmaxf(mx, p.part_lse[s * rows + row]);
    float wsum = 0.0f, o = 0.0f;
    if (mx > -INFINITY)
        for (int s = 0; s < p.kv_splits; ++s) {
            const float w = exp2f(p.part_lse[s * rows + row] - mx);
            wsum += w;
            o += w * p.part_o[(s * rows + row) * D + threadIdx.x];
        }
    const bool hidden = wsum == 0.0f && key_lo(p, i, len_k) < key_hi(p, i, len_k);  // as in write_row
    o = hidden ? NAN : wsum > 0.0f ? o / wsum : 0.0f;
    const int64_t at = b * p.so[0] + h * p.so[1] + i * p.so[2] + threadIdx.x;
    if (p.out_f32) {
        static_cast<float *>(p.out)[at] = o;
    } else {
        static_cast<T *>(p.out)[at] = from_float<T>(o);
    }
    if (p.lse != nullptr && threadIdx.x == 0)
        p.lse[b * p.sl[0] + h * p.sl[1] + i * p.sl[2]] =
            hidden ? NAN : wsum > 0.0f ? (mx + log2f(wsum)) * 0.6931471805599453f : -INFINITY;
}

// batch_heads and len_q: the blocks' (batch x heads) and rows; with grouped heads (params.pack > 1),
// batch x kv heads and the rows of a group.
template <typename T, int D, bool Vec, int Mt>
int32_t launch(const Params &given, int64_t batch_heads, int64_t len_q, flash::SequencePlan *plan, cudaStream_t stream,
               std::string &error) {
    constexpr int kRows = 64 * Mt;
    const bool pack = Vec && Mt == 1 && given.pack > 1;
    const size_t smem = sizeof(T) * (kRows + 2 * kv_stages<Vec>() * kKeys) * (D + kPad);
    auto kernel = plan != nullptr ? flash_forward_kernel<T, D, Vec, Mt, true> : flash_forward_kernel<T, D, Vec, Mt, false>;
    if constexpr (Vec && Mt == 1)
        if (pack) kernel = flash_forward_kernel<T, D, Vec, Mt, false, true>;
    if (const int32_t st = status_of(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                                         static_cast<int>(smem)), "cudaFuncSetAttribute", error))
        return st;
    Params params = given;
    dim3 grid(static_cast<unsigned>((len_q + kRows - 1) / kRows), static_cast<unsigned>(batch_heads),
              static_cast<unsigned>(params.kv_splits));
    if (plan != nullptr) {  // one block per (tile entry, query head)
        if (const int32_t st = plan->make(kRows, params, error)) return st;
        if (params.tile_entries == 0) return ATTN4J_STATUS_OK;
        grid = dim3(static_cast<unsigned>(params.tile_entries), static_cast<unsigned>(params.heads_q), 1);
    }
    if (params.kv_splits == 1) {
        kernel<<<grid, kThreads, smem, stream>>>(params);
        return status_of(cudaGetLastError(), "FlashAttention kernel launch", error);
    }
    // Key splits: partial results in stream-ordered scratch memory, then the merge.
    Params split = params;
    const size_t rows = static_cast<size_t>(params.kv_splits) * batch_heads * len_q;
    void *work = nullptr;
    int32_t st = status_of(cudaMallocAsync(&work, rows * (D + 1) * sizeof(float), stream), "cudaMallocAsync (key splits)", error);
    if (st != ATTN4J_STATUS_OK) return st;
    split.part_o = static_cast<float *>(work);
    split.part_lse = split.part_o + rows * D;
    kernel<<<grid, kThreads, smem, stream>>>(split);
    st = status_of(cudaGetLastError(), "FlashAttention kernel launch", error);
    if (st == ATTN4J_STATUS_OK) {  // one block per (query row, batch x query head)
        const dim3 rows_grid(static_cast<unsigned>(params.len_q), static_cast<unsigned>(batch_heads * params.pack));
        merge_splits<T, D><<<rows_grid, D, 0, stream>>>(split);
        st = status_of(cudaGetLastError(), "FlashAttention split merge launch", error);
    }
    const int32_t freed = status_of(cudaFreeAsync(work, stream), "cudaFreeAsync", error);
    return st != ATTN4J_STATUS_OK ? st : freed;
}

// 128-row blocks for dense attention with aligned rows and more than one 64-row tile; 64-row blocks
// for block-sparse masks (a 128-row block would walk the union of two mask rows), short queries
// (decode) and unaligned rows.
template <typename T, int D>
int32_t launch_for(const Params &params, int64_t batch_heads, int64_t len_q, bool vec, flash::SequencePlan *plan,
                   cudaStream_t stream, std::string &error) {
    if (!vec) return launch<T, D, false, 1>(params, batch_heads, len_q, plan, stream, error);
    // (d = 256: one m-tile, whose 128 accumulator registers per thread leave no room for a second)
    if constexpr (D <= 128)
        if (params.mask == nullptr && len_q > 64 && params.pack == 1)
            return launch<T, D, true, 2>(params, batch_heads, len_q, plan, stream, error);
    return launch<T, D, true, 1>(params, batch_heads, len_q, plan, stream, error);
}

}  // namespace

int32_t flash::launch_mma(const Params &params, bool bf16, int dim, int64_t batch_heads, int64_t len_q, bool vec,
                          SequencePlan *plan, cudaStream_t stream, std::string &error) {
    const int64_t bh = batch_heads;
    const cudaStream_t s = stream;
    if (dim == 64)
        return bf16 ? launch_for<__nv_bfloat16, 64>(params, bh, len_q, vec, plan, s, error)
                    : launch_for<__half, 64>(params, bh, len_q, vec, plan, s, error);
    if (dim == 256)
        return bf16 ? launch_for<__nv_bfloat16, 256>(params, bh, len_q, vec, plan, s, error)
                    : launch_for<__half, 256>(params, bh, len_q, vec, plan, s, error);
    return bf16 ? launch_for<__nv_bfloat16, 128>(params, bh, len_q, vec, plan, s, error)
                : launch_for<__half, 128>(params, bh, len_q, vec, plan, s, error);
}

}  // namespace attn4j::cuda
