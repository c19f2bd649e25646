// Hopper (sm_90a) asynchronous copies: mbarriers (arrive, expected transaction bytes, phase waits) and
// TMA loads (cp.async.bulk.tensor, and plain bulk copies) that complete on them, and TMA stores. Only compiled into
// sm_90a code; the host builds the tensor maps with encode_rows / encode_qkv.
#pragma once
#include <cuda.h>

#include <cstdint>

namespace attn4j::cuda::tma {

// A [batch][heads][rows][128] tensor of 16-bit elements (element strides st[0..3]) as a TMA map whose
// boxes are box_rows rows x 64 columns, written 128B-swizzled (the wgmma tile layout); false where the
// driver or TMA cannot describe it (e.g. broadcast heads: zero strides; columns not contiguous).
// tensor_map.cu.
bool encode_rows(CUtensorMap &map, const void *base, const int64_t *st, int64_t batch, int64_t heads, int64_t rows,
                 bool bf16, int box_rows);

// The three maps of an attention launch (a kernel parameter): q with boxes of rows_q rows, k and v of
// rows_k; false where one of them cannot be described (the caller's other kernel runs).
struct QkvMaps {
    CUtensorMap q, k, v;
};
bool encode_qkv(QkvMaps &maps, const void *q, const int64_t *sq, const void *k, const int64_t *sk, const void *v,
                const int64_t *sv, int64_t batch, int64_t heads_q, int64_t heads_kv, int64_t len_q, int64_t len_k,
                bool bf16, int rows_q, int rows_k);

__device__ __forceinline__ uint32_t smem_addr(const void *p) { return static_cast<uint32_t>(__cvta_generic_to_shared(p)); }
// Bytes from the start of dynamic shared memory to its first 1024-byte aligned address (the 128-byte
// swizzle's alignment). Kernels add it to the shared array (smem_raw + pad_1024(smem_raw)) rather than
// round a generic address: the compiler then knows the pointers made from it shared, and accesses
// through them are shared loads and stores.
__device__ __forceinline__ uint32_t pad_1024(const void *smem_raw) { return (1024 - (smem_addr(smem_raw) & 1023)) & 1023; }

__device__ __forceinline__ void bar_init(uint64_t *bar, int count) {
    asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;\n" ::"r"(smem_addr(bar)), "r"(count) : "memory");
}
__device__ __forceinline__ void bar_arrive(uint64_t *bar) {
    asm volatile("mbarrier.arrive.shared::cta.b64 _, [%0];\n" ::"r"(smem_addr(bar)) : "memory");
}
// Arrives and announces the bytes the TMA loads of this phase will deliver.
__device__ __forceinline__ void bar_expect(uint64_t *bar, uint32_t bytes) {
    asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;\n" ::"r"(smem_addr(bar)), "r"(bytes) : "memory");
}
__device__ __forceinline__ void bar_wait(uint64_t *bar, uint32_t parity) {
    asm volatile(
        "{\n.reg .pred done;\n"
        "WAIT_%=:\n"
        "mbarrier.try_wait.parity.shared::cta.b64 done, [%0], %1;\n"
        "@!done bra WAIT_%=;\n}\n" ::"r"(smem_addr(bar)),
        "r"(parity)
        : "memory");
}

// One box of a 4-d tensor map (coordinates innermost first) into shared memory, completing on bar.
__device__ __forceinline__ void load_box(void *dst, const CUtensorMap *map, int col, int64_t row, int head, int batch,
                                         uint64_t *bar) {
    asm volatile(
        "cp.async.bulk.tensor.4d.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1, {%2, %3, %4, %5}], [%6];\n" ::"r"(
            smem_addr(dst)),
        "l"(reinterpret_cast<uint64_t>(map)), "r"(col), "r"(static_cast<int>(row)), "r"(head), "r"(batch),
        "r"(smem_addr(bar))
        : "memory");
}

// A [box_rows][128] tile of a map from encode_rows: its two column blocks (columns 0-63, 64-127),
// block_bytes apart in shared memory.
__device__ __forceinline__ void load_tile(unsigned char *dst, const CUtensorMap *map, uint32_t block_bytes, int64_t row,
                                          int head, int batch, uint64_t *bar) {
    load_box(dst, map, 0, row, head, batch, bar);
    load_box(dst + block_bytes, map, 64, row, head, batch, bar);
}

// A box of shared memory (the map's box, its layout) out to a 4-d tensor map, in this thread's bulk
// group; rows past the tensor's end are not written.
__device__ __forceinline__ void store_box(const CUtensorMap *map, const void *src, int col, int64_t row, int head, int batch) {
    asm volatile("cp.async.bulk.tensor.4d.global.shared::cta.bulk_group [%0, {%1, %2, %3, %4}], [%5];\n" ::"l"(
                     reinterpret_cast<uint64_t>(map)),
                 "r"(col), "r"(static_cast<int>(row)), "r"(head), "r"(batch), "r"(smem_addr(src))
                 : "memory");
}
__device__ __forceinline__ void store_commit() { asm volatile("cp.async.bulk.commit_group;\n" ::: "memory"); }
// Waits until this thread's committed stores have read their shared memory (it may then be rewritten).
__device__ __forceinline__ void store_wait_read() { asm volatile("cp.async.bulk.wait_group.read 0;\n" ::: "memory"); }
// Waits until this thread's committed stores are complete.
__device__ __forceinline__ void store_wait() { asm volatile("cp.async.bulk.wait_group 0;\n" ::: "memory"); }

// A contiguous run of bytes (a multiple of 16, both ends 16-byte aligned) into shared memory,
// completing on bar.
__device__ __forceinline__ void load_bytes(void *dst, const void *src, uint32_t bytes, uint64_t *bar) {
    asm volatile("cp.async.bulk.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1], %2, [%3];\n" ::"r"(
                     smem_addr(dst)),
                 "l"(src), "r"(bytes), "r"(smem_addr(bar))
                 : "memory");
}

}  // namespace attn4j::cuda::tma
