// The part and tile lists of a call with sequence lengths (flash_sequences.cuh). Parts follow the CPU's
// rule (cpu/flash_sequences.cpp): a sequence's valid rows with the call's masks, and in the padded form
// its padded rows before and after them, which see every valid key of the sequence unmasked.
#include <cub/block/block_scan.cuh>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "attn4j.h"
#include "cuda/flash_sequences.cuh"
#include "cuda/launch.h"

namespace attn4j::cuda::flash {

namespace {

constexpr int kBuildThreads = 1024;

// The length arrays (host or device memory) and the extents they index.
struct DeviceSeqs {
    const int32_t *q_lens, *kv_lens, *q_starts, *kv_starts, *cu_q, *cu_k;
    int64_t count;       // batch entries (padded) or sequences (packed)
    int per;             // parts per batch entry: 3 with padded query rows, else 1
    int64_t len_q, len_k;  // the tensors' rows and keys
    bool packed;
};

__host__ __device__ inline int64_t clamp64(int64_t x, int64_t lo, int64_t hi) { return x < lo ? lo : (x > hi ? hi : x); }

// Part x of the call (the arrays read where they live); every value is clamped into the tensors,
// which only changes anything for device arrays (the host checked its own).
__host__ __device__ SeqPart part_of(const DeviceSeqs &s, int64_t x) {
    auto read = [](const int32_t *a, int64_t i) { return static_cast<int64_t>(a[i]); };
    if (s.packed) {
        const int64_t a = clamp64(read(s.cu_q, x), 0, s.len_q), z = clamp64(read(s.cu_q, x + 1), a, s.len_q);
        const int64_t ka = clamp64(read(s.cu_k, x), 0, s.len_k), kz = clamp64(read(s.cu_k, x + 1), ka, s.len_k);
        return {0, static_cast<int32_t>(a), static_cast<int32_t>(z - a), static_cast<int32_t>(ka), static_cast<int32_t>(kz - ka), 1};
    }
    const int64_t b = x / s.per, which = x % s.per;
    const int64_t q0 = s.q_starts ? clamp64(read(s.q_starts, b), 0, s.len_q) : 0;
    const int64_t lq = s.q_lens ? clamp64(read(s.q_lens, b), 0, s.len_q - q0) : s.len_q - q0;
    const int64_t k0 = s.kv_starts ? clamp64(read(s.kv_starts, b), 0, s.len_k) : 0;
    const int64_t lk = s.kv_lens ? clamp64(read(s.kv_lens, b), 0, s.len_k - k0) : s.len_k - k0;
    const int64_t r0 = which == 0 ? q0 : (which == 1 ? 0 : q0 + lq), rows = which == 0 ? lq : (which == 1 ? q0 : s.len_q - q0 - lq);
    return {static_cast<int32_t>(b), static_cast<int32_t>(r0), static_cast<int32_t>(rows), static_cast<int32_t>(k0),
            static_cast<int32_t>(lk), which == 0 ? 1 : 0};
}

// One block: each thread takes a part, a block-wide prefix sum places its tiles (last, heaviest under
// a causal mask, first); entries past `capacity` (only reachable with invalid prefix sums) are dropped.
__global__ void __launch_bounds__(kBuildThreads) build_lists(const DeviceSeqs s, int rows_per_tile, SeqPart *parts,
                                                             SeqTile *tiles, int64_t capacity, int32_t *num_tiles) {
    using Scan = cub::BlockScan<int, kBuildThreads>;
    __shared__ typename Scan::TempStorage scan;
    __shared__ int64_t base;
    if (threadIdx.x == 0) base = 0;
    __syncthreads();
    const int64_t n_parts = s.count * s.per;
    for (int64_t c = 0; c < n_parts; c += kBuildThreads) {
        const int64_t x = c + threadIdx.x;
        int n = 0;
        if (x < n_parts) {
            const SeqPart part = part_of(s, x);
            parts[x] = part;
            n = (part.rows + rows_per_tile - 1) / rows_per_tile;
        }
        int offset = 0, total = 0;
        Scan(scan).ExclusiveSum(n, offset, total);
        for (int t = 0; t < n; ++t)
            if (base + offset + t < capacity) tiles[base + offset + t] = {static_cast<int32_t>(x), n - 1 - t};
        __syncthreads();
        if (threadIdx.x == 0) base += total;
        __syncthreads();
    }
    if (threadIdx.x == 0) *num_tiles = static_cast<int32_t>(base < capacity ? base : capacity);
}

DeviceSeqs describe(const core::FlashProblem &p) {
    const core::Sequences &q = p.seqs;
    DeviceSeqs s{q.q_lens, q.kv_lens, q.q_starts, q.kv_starts, q.cu_q, q.cu_k, 0, 1, p.len_q, p.len_k, q.packed()};
    s.count = q.packed() ? q.num_seqs : p.batch;
    s.per = !q.packed() && (q.q_lens || q.q_starts) ? 3 : 1;
    return s;
}

// Visible keys x rows of a tile (the host's ordering of the list), with the kernels' masks.
int64_t tile_work(const core::FlashProblem &p, const SeqPart &part, int64_t i0, int64_t i1) {
    int64_t lo = 0, hi = part.keys;
    if (part.masked) {
        const int64_t shift = static_cast<int64_t>(part.keys) - part.rows;
        if (p.window_left >= 0) lo = clamp64(i0 + shift - p.window_left, 0, part.keys);
        if (p.window_right >= 0) hi = clamp64(i1 - 1 + shift + p.window_right + 1, 0, part.keys);
    }
    return (hi > lo ? hi - lo : 0) * (i1 - i0) + 1;
}

}  // namespace

SequencePlan::~SequencePlan() {
    if (work_ != nullptr) cudaFreeAsync(work_, stream_);
}

int32_t SequencePlan::make(int tile_rows, Params &k, std::string &error) {
    return p_.seqs.on_device ? on_device(tile_rows, k, error) : from_host(tile_rows, k, error);
}

int32_t SequencePlan::from_host(int tile_rows, Params &k, std::string &error) {
    const DeviceSeqs s = describe(p_);
    std::vector<SeqPart> parts;
    struct Entry {
        SeqTile tile;
        int64_t work;
    };
    std::vector<Entry> entries;
    for (int64_t x = 0; x < s.count * s.per; ++x) {
        const SeqPart part = part_of(s, x);
        if (part.rows == 0) continue;
        const int32_t at = static_cast<int32_t>(parts.size());
        parts.push_back(part);
        for (int32_t t = 0; static_cast<int64_t>(t) * tile_rows < part.rows; ++t) {
            const int64_t i0 = static_cast<int64_t>(t) * tile_rows, i1 = std::min<int64_t>(i0 + tile_rows, part.rows);
            entries.push_back({{at, t}, tile_work(p_, part, i0, i1)});
        }
    }
    std::stable_sort(entries.begin(), entries.end(), [](const Entry &a, const Entry &b) { return a.work > b.work; });
    const size_t part_bytes = parts.size() * sizeof(SeqPart), bytes = part_bytes + entries.size() * sizeof(SeqTile);
    std::vector<unsigned char> host(bytes > 0 ? bytes : 1);
    std::memcpy(host.data(), parts.data(), part_bytes);
    for (size_t e = 0; e < entries.size(); ++e)
        std::memcpy(host.data() + part_bytes + e * sizeof(SeqTile), &entries[e].tile, sizeof(SeqTile));
    if (const int32_t st = status_of(cudaMallocAsync(&work_, host.size(), stream_), "cudaMallocAsync (sequence lists)", error))
        return st;
    // From pageable memory: the copy has read `host` when it returns.
    if (const int32_t st = status_of(cudaMemcpyAsync(work_, host.data(), bytes, cudaMemcpyHostToDevice, stream_),
                                     "cudaMemcpyAsync (sequence lists)", error))
        return st;
    k.parts = static_cast<const SeqPart *>(work_);
    k.tiles = reinterpret_cast<const SeqTile *>(static_cast<unsigned char *>(work_) + part_bytes);
    k.num_tiles = nullptr;
    k.tile_entries = static_cast<int64_t>(entries.size());
    return ATTN4J_STATUS_OK;
}

int32_t SequencePlan::on_device(int tile_rows, Params &k, std::string &error) {
    const DeviceSeqs s = describe(p_);
    const int64_t n_parts = s.count * s.per;
    const int64_t rows = s.packed ? s.len_q : s.count * s.len_q;
    const int64_t capacity = (rows + tile_rows - 1) / tile_rows + n_parts;
    const size_t part_bytes = static_cast<size_t>(n_parts) * sizeof(SeqPart);
    const size_t bytes = part_bytes + static_cast<size_t>(capacity) * sizeof(SeqTile) + sizeof(int32_t);
    if (const int32_t st = status_of(cudaMallocAsync(&work_, bytes, stream_), "cudaMallocAsync (sequence lists)", error))
        return st;
    auto *parts = static_cast<SeqPart *>(work_);
    auto *tiles = reinterpret_cast<SeqTile *>(static_cast<unsigned char *>(work_) + part_bytes);
    auto *count = reinterpret_cast<int32_t *>(tiles + capacity);
    build_lists<<<1, kBuildThreads, 0, stream_>>>(s, tile_rows, parts, tiles, capacity, count);
    if (const int32_t st = status_of(cudaGetLastError(), "sequence list kernel launch", error)) return st;
    k.parts = parts;
    k.tiles = tiles;
    k.num_tiles = count;
    k.tile_entries = capacity;
    return ATTN4J_STATUS_OK;
}

}  // namespace attn4j::cuda::flash
