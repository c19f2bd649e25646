// What a FlashAttention CUDA kernel launch takes (shared by the mma.sync kernel and the sm_90a wgmma
// kernel), and each query row's visible key range.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>
#include <string>

#include "cuda/mma.cuh"

namespace attn4j::cuda::flash {

// Keys per tile of the mma.sync kernel, and the key block of the masks it reads.
constexpr int kTileKeys = 64;

// One part of a batch of sequences of different lengths (flash_sequences.cu): a sequence's query rows
// [q_row, q_row + rows) of batch entry `batch` against its keys [k_row, k_row + keys), with the call's
// masks (masked) or, for the padded rows of the padded form, every key unmasked.
struct SeqPart {
    int32_t batch, q_row, rows, k_row, keys, masked;
};
// A block's work in a call with parts: query tile `tile` of part `part`.
struct SeqTile {
    int32_t part, tile;
};

struct Params {
    const void *q, *k, *v;
    void *out;
    float *lse;
    int64_t sq[4], sk[4], sv[4], so[4], sl[4];
    int heads_q, group, len_q, len_k;
    // Grouped query heads (decode): > 1 when the query heads of one kv head share a block, whose row v is
    // head (kv head) * pack + v % pack at position v / pack, so each K/V tile is read once for all of them.
    int pack;
    float scale_log2;  // scale * log2(e)
    float softcap;     // 0: off (applied to scale * q.k, before the log2 conversion)
    float scale;
    int64_t window_left, window_right;
    bool out_f32;
    // Block-sparse (64 x 64 blocks): bit kb of a query tile's row says key tile kb is computed; null: all.
    const uint8_t *mask;
    int64_t mask_row_bytes, mask_head_rows;  // the bitmap's bytes per row and rows per (batch, head)
    // Split keys (decode): block z covers keys [z * split_keys, (z + 1) * split_keys) and writes its
    // normalized partial output and log2-sum-exp to part_o [splits][B * Hq][len_q][D] and part_lse
    // [splits][B * Hq][len_q] (fp32) for merge_splits; kv_splits = 1: no split.
    int kv_splits;
    int64_t split_keys;
    float *part_o, *part_lse;
    // Sequences (device memory; null: one problem of batch x heads): block e's work is tiles[e], whose
    // count is num_tiles[0] where given (device-built lists, the grid an upper bound), else the grid's.
    const SeqPart *parts;
    const SeqTile *tiles;
    const int32_t *num_tiles;
    int64_t tile_entries;  // host: the grid's entries (per query head)
    // Paged keys (core::KeyPages): key j of batch entry b is row j & (2^page_shift - 1) of page
    // block_table[b * table_stride + (j >> page_shift)], pages sk[0] / sv[0] apart; null: contiguous.
    // Entries outside [0, num_pages) (device tables, unchecked) read as zero rows.
    const int32_t *block_table;
    int64_t table_stride, num_pages;
    int page_shift;
    // Keys of each batch entry (device memory) when every entry has all len_q query rows (decode over a
    // cache, or contiguous keys with kv_lens only): len_k is the longest; null: len_k for every entry.
    const int32_t *kv_len;
};

// Where the key rows of one (batch entry, kv head) of k or v lie: contiguous at stride ld, or in pages.
template <typename T>
struct KeyRows {
    const T *base;  // row 0 (contiguous), or head h of page 0 (paged)
    int64_t ld, page_stride, num_pages;
    const int32_t *table;  // this batch entry's pages, or null
    int shift;

    // Row j, or null where its page is outside the pool.
    __device__ __forceinline__ const T *row(int64_t j) const {
        if (table == nullptr) return base + j * ld;
        const int64_t page = table[j >> shift];
        if (page < 0 || page >= num_pages) return nullptr;
        return base + page * page_stride + (j & ((int64_t{1} << shift) - 1)) * ld;
    }
};

// The rows of k (or v: strides sv) for batch entry b and kv head hk.
template <typename T>
__device__ __forceinline__ KeyRows<T> key_rows(const Params &p, const void *data, const int64_t (&s)[4], int64_t b, int64_t hk) {
    const T *t = static_cast<const T *>(data);
    if (p.block_table == nullptr) return {t + b * s[0] + hk * s[1], s[2], 0, 0, nullptr, 0};
    return {t + hk * s[1], s[2], s[0], p.num_pages, p.block_table + b * p.table_stride, p.page_shift};
}

// Batch entry b's keys: its own count where the call gives one per entry (Params::kv_len, clamped to
// len_k, the longest), else len_k.
__device__ __forceinline__ int64_t keys_of(const Params &p, int64_t b) {
    if (p.kv_len == nullptr) return p.len_k;
    const int64_t n = p.kv_len[b];
    return n < 0 ? 0 : (n > p.len_k ? p.len_k : n);
}

// Moves p to the part of tile entry e, as a problem of one batch entry: pointers at the part's first
// query row and key, its lengths, and no masks for padded rows; false where e is past the list.
__device__ __forceinline__ bool enter_part(Params &p, int64_t e, SeqPart &part, int &tile) {
    if (p.num_tiles != nullptr && e >= *p.num_tiles) return false;
    const SeqTile t = p.tiles[e];
    part = p.parts[t.part];
    tile = t.tile;
    const int64_t oq = part.batch * p.sq[0] + part.q_row * p.sq[2], oo = part.batch * p.so[0] + part.q_row * p.so[2];
    p.q = static_cast<const uint16_t *>(p.q) + oq;
    if (p.block_table != nullptr) {  // paged: the pools stay, the table moves to the sequence's row
        p.block_table += part.batch * p.table_stride;
    } else {
        p.k = static_cast<const uint16_t *>(p.k) + part.batch * p.sk[0] + part.k_row * p.sk[2];
        p.v = static_cast<const uint16_t *>(p.v) + part.batch * p.sv[0] + part.k_row * p.sv[2];
    }
    p.out = p.out_f32 ? static_cast<void *>(static_cast<float *>(p.out) + oo) : static_cast<void *>(static_cast<uint16_t *>(p.out) + oo);
    if (p.lse != nullptr) p.lse += part.batch * p.sl[0] + part.q_row * p.sl[2];
    p.len_q = part.rows;
    p.len_k = part.keys;
    if (part.masked == 0) p.window_left = p.window_right = -1;
    return true;
}

// Visible keys [key_lo, key_hi) of query row i against len_k keys (p.len_k, or a batch entry's keys_of).
__device__ __forceinline__ int64_t key_lo(const Params &p, int64_t i, int64_t len_k) {
    if (p.window_left < 0) return 0;
    const int64_t lo = i + len_k - p.len_q - p.window_left;
    return lo < 0 ? 0 : lo;
}
__device__ __forceinline__ int64_t key_hi(const Params &p, int64_t i, int64_t len_k) {
    if (p.window_right < 0) return len_k;
    const int64_t hi = i + len_k - p.len_q + p.window_right + 1;
    return hi > len_k ? len_k : (hi < 0 ? 0 : hi);
}
__device__ __forceinline__ int64_t key_lo(const Params &p, int64_t i) { return key_lo(p, i, p.len_k); }
__device__ __forceinline__ int64_t key_hi(const Params &p, int64_t i) { return key_hi(p, i, p.len_k); }

// Which (query tile, batch x head) block L of a 1-d grid of n_tiles x n_bh blocks computes: the
// heaviest (last) tiles first; group = 0 runs all tiles of a head together, else `group` heads at a time
// (blocks with masks differ in work: a wave then spans few heads, whose keys stay in L2).
struct TileOf {
    int tile, bh;
};
__device__ __forceinline__ TileOf block_order(int L, int n_tiles, int n_bh, int group) {
    if (group == 0) return {n_tiles - 1 - L % n_tiles, L / n_tiles};
    const int grp = L / (group * n_tiles), gsz = min(group, n_bh - grp * group), r = L - grp * group * n_tiles;
    return {n_tiles - 1 - r / gsz, grp * group + r % gsz};
}

// The sum over the 4 threads of an accumulator row (lanes 4g .. 4g + 3); every lane must call it.
__device__ __forceinline__ float quad_sum(float x) {
    x += __shfl_xor_sync(0xffffffffu, x, 1);
    x += __shfl_xor_sync(0xffffffffu, x, 2);
    return x;
}

// Query row i of (b, h) from this thread's part of its accumulators: out = acc / sum for the column
// pairs (8 n + 2 t4, + 1), pair(n) giving the unnormalized pair of n-tile n, and LSE = (m + log2 sum) ln 2
// (sum = 0: a row that saw no key, out 0 and LSE -inf). Both FlashAttention kernels end with it.
template <typename T, int D, typename Pair>
__device__ __forceinline__ void write_row(const Params &p, int64_t b, int64_t h, int64_t i, float sum, float m, int t4,
                                          Pair pair, int64_t len_k) {
    // sum = 0 with visible keys (dense): every score was -inf from the inputs (an infinite q or k), not a
    // masked row, so NaN as in any softmax, never a hidden 0.
    const bool hidden = sum == 0.0f && p.mask == nullptr && key_lo(p, i, len_k) < key_hi(p, i, len_k);
    const float inv = hidden ? NAN : sum > 0.0f ? 1.0f / sum : 0.0f;
    const int64_t base = b * p.so[0] + h * p.so[1] + i * p.so[2];
#pragma unroll
    for (int n = 0; n < D / 8; ++n) {
        const int c = n * 8 + t4 * 2;
        const float2 v = pair(n);
        if (p.out_f32) {
            float *dst = static_cast<float *>(p.out) + base;
            dst[c] = v.x * inv;
            dst[c + 1] = v.y * inv;
        } else {
            T *dst = static_cast<T *>(p.out) + base;
            dst[c] = from_float<T>(v.x * inv);
            dst[c + 1] = from_float<T>(v.y * inv);
        }
    }
    if (p.lse != nullptr && t4 == 0)
        p.lse[b * p.sl[0] + h * p.sl[1] + i * p.sl[2]] =
            hidden ? NAN : sum > 0.0f ? (m + log2f(sum)) * 0.6931471805599453f : -INFINITY;
}

// The portable kernel (flash_forward_cuda.cu, sm_80 and newer, mma.sync) for head dims 64, 128 and 256:
// 16-byte loads where `vec` (every row of q, k and v 16-byte aligned), params.kv_splits key splits
// merged afterwards. Launches on `stream` and returns the status.
class SequencePlan;
int32_t launch_mma(const Params &params, bool bf16, int dim, int64_t batch_heads, int64_t len_q, bool vec,
                   SequencePlan *plan, cudaStream_t stream, std::string &error);

// The Hopper kernel (flash_forward_sm90.cu): wgmma with 128 x 128 tiles loaded by TMA, for head dim
// 128, dense attention, 16-byte aligned rows, on sm_90 devices. sm90_applies is false where it does not
// apply (another device, a build without sm_90a code, a problem outside those bounds); launch_sm90
// returns false (and launches nothing) when TMA cannot describe the tensors, else launches and sets
// status.
bool sm90_applies(const Params &p, int dim, int device);
bool launch_sm90(const Params &p, bool bf16, int64_t batch, int64_t heads_kv, SequencePlan *plan, cudaStream_t stream,
                 int32_t &status, std::string &error);

// The Hopper block-sparse kernel (flash_sparse_sm90.cu) for 64 x 64 block masks: head dim 128, no soft-cap
// or left window, the same contract otherwise.
bool sparse_sm90_applies(const Params &p, int dim, int device);
bool launch_sparse_sm90(const Params &p, bool bf16, int64_t batch, int64_t heads_kv, cudaStream_t stream, int32_t &status,
                        std::string &error);

}  // namespace attn4j::cuda::flash
