// FlashAttention on CUDA: the checks only the CUDA kernels need, the launch parameters, and the kernel
// choice: the Hopper wgmma kernel (dense) or its block-sparse twin where they apply, else the portable
// mma.sync kernel, with the keys split for decode-shaped calls that cannot fill the GPU.
#include <cuda_runtime.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <optional>
#include <string>

#include "attn4j.h"
#include "common/error.h"
#include "cuda/cuda_backend.h"
#include "cuda/flash_params.cuh"
#include "cuda/flash_sequences.cuh"
#include "cuda/launch.h"

namespace attn4j::cuda {

namespace {

using flash::kTileKeys;

// What the CUDA kernels support beyond the shared checks. Strides of empty tensors are zeros in the
// problem and never addressed, so only those of tensors with elements are checked.
int32_t check_flash(const core::FlashProblem &p) {
    if (const int32_t st = check_head_dims(p.dim, p.dim_v, p.mask == nullptr)) return st;
    const int64_t *strides[4] = {p.sq, p.sk, p.sv, p.so};
    const bool filled[4] = {true, p.len_k > 0, p.len_k > 0, true};  // q and out have rows here
    const char *names[4] = {"q", "k", "v", "out"};
    for (int i = 0; i < 4; ++i)
        if (filled[i] && strides[i][3] != 1)
            return fail(ATTN4J_STATUS_UNSUPPORTED, "%s.strides[3] = %lld: CUDA needs unit stride along the head dim",
                        names[i], static_cast<long long>(strides[i][3]));
    if (p.len_q > INT32_MAX) return fail(ATTN4J_STATUS_UNSUPPORTED, "q.shape[2] exceeds 2^31 - 1 on CUDA devices");
    if (p.len_k > INT32_MAX) return fail(ATTN4J_STATUS_UNSUPPORTED, "k.shape[2] exceeds 2^31 - 1 on CUDA devices");
    if (p.batch * p.heads_q > 65535)
        return fail(ATTN4J_STATUS_UNSUPPORTED, "q: batch x heads = %lld exceeds 65535 on CUDA devices",
                    static_cast<long long>(p.batch * p.heads_q));
    if (p.mask != nullptr && p.seqs.any())
        return fail(ATTN4J_STATUS_UNSUPPORTED, "block-sparse attention with sequence lengths: not supported on CUDA devices");
    if (p.mask != nullptr && (p.mask->block_q != 64 || p.mask->block_k != kTileKeys))
        return fail(ATTN4J_STATUS_UNSUPPORTED,
                    "params.block_q = %lld, params.block_k = %lld: block-sparse attention on CUDA uses 64 x 64 blocks",
                    static_cast<long long>(p.mask->block_q), static_cast<long long>(p.mask->block_k));
    return ATTN4J_STATUS_OK;
}

flash::Params launch_params(const core::FlashProblem &p) {
    flash::Params k{};
    copy_operands(k, p);
    k.lse = p.lse;
    for (int i = 0; i < 4; ++i) k.sl[i] = p.sl[i];
    k.len_q = static_cast<int>(p.len_q);
    k.len_k = static_cast<int>(p.len_k);
    k.scale = p.scale;
    k.scale_log2 = p.scale * 1.4426950408889634f;
    k.softcap = p.softcap;
    k.window_left = p.window_left;
    k.window_right = p.window_right;
    k.out_f32 = p.out_dtype == core::DType::F32;
    if (p.mask != nullptr) {
        k.mask = p.mask->bits;
        k.mask_row_bytes = p.mask->row_bytes;
        k.mask_head_rows = p.mask->head_rows;
    }
    k.pack = 1;
    k.kv_splits = 1;
    k.split_keys = p.len_k;
    k.parts = nullptr;
    k.tiles = nullptr;
    k.num_tiles = nullptr;
    k.block_table = p.pages.table;
    k.table_stride = p.pages.stride;
    k.num_pages = p.pages.count;
    k.page_shift = 0;
    while ((int64_t{1} << k.page_shift) < p.pages.size) ++k.page_shift;
    k.kv_len = nullptr;
    return k;
}

// Whether every batch entry has all query rows and only its key count differs (kv_lens alone: decode
// over a cache): then the kernels read each entry's count themselves, with grouped heads and key splits,
// instead of a list of parts.
bool uniform_rows(const core::Sequences &s) {
    return s.kv_lens != nullptr && s.q_lens == nullptr && s.q_starts == nullptr && s.kv_starts == nullptr && !s.packed();
}


// Decode-like calls (at most 64 query rows) that cannot fill the GPU split the keys (flash-decoding):
// about eight blocks per SM (against two: 1.05x / 1.40x / 1.55x at 8K / 32K / 128K keys, measured;
// four, or more and smaller splits, no better), each split at least 512 keys, at most 64 splits. Key tiles start at 0
// there (no left window), so no tile crosses a split boundary.
// (Per-entry key counts: split by the longest, k.len_k; shorter entries' later splits see no key.)
void plan_key_splits(const core::FlashProblem &p, flash::Params &k) {
    const int64_t bh = p.batch * p.heads_q / k.pack;  // blocks per key range
    const int64_t len_k = k.len_k;
    int sms = 0;
    if (p.mask == nullptr && (!p.seqs.any() || k.kv_len != nullptr) && p.window_left < 0 && p.len_q <= 64 &&
        len_k >= 1024 && cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, p.device) == cudaSuccess &&
        bh < sms) {
        int64_t splits = (8 * sms + bh - 1) / bh;
        splits = std::min<int64_t>({splits, len_k / 512, 64});
        if (splits > 1) {
            k.split_keys = (len_k + splits - 1) / splits;
            k.split_keys = (k.split_keys + kTileKeys - 1) / kTileKeys * kTileKeys;
            k.kv_splits = static_cast<int>((len_k + k.split_keys - 1) / k.split_keys);
        }
    }
}

}  // namespace

int32_t flash_supported(const core::FlashProblem &p) { return check_flash(p); }

int32_t flash_forward(const core::FlashProblem &p) {
    std::string error;
    const int32_t device = p.device;
    if (const int32_t st = check_flash(p)) return st;
    if (const int32_t st = use_device(device, error); st != ATTN4J_STATUS_OK) return reported(st, error);
    flash::Params k = launch_params(p);
    const auto s = static_cast<cudaStream_t>(p.stream);
    const bool bf16 = p.in_dtype == core::DType::BF16;
    // 16-byte loads need every row of q, k and v to start 16-byte aligned.
    const bool vec = rows_aligned16({{p.q, p.sq}, {p.k, p.sk}, {p.v, p.sv}});
    // Host tables and key counts go to the device with the call; device ones are read where they are.
    // (Contiguous prefill keeps the parts, which the Hopper kernel takes.)
    StagedArrays staged(s);
    const bool uniform = uniform_rows(p.seqs) && (k.block_table != nullptr || p.len_q <= 64);
    if (!p.seqs.on_device && (k.block_table != nullptr || uniform)) {
        const int64_t table = k.block_table != nullptr ? p.batch * p.pages.stride : 0, lens = uniform ? p.batch : 0;
        if (const int32_t st = staged.copy({{p.pages.table, table, &k.block_table}, {p.seqs.kv_lens, lens, &k.kv_len}}, error))
            return reported(st, error);
    } else if (uniform) {
        k.kv_len = p.seqs.kv_lens;
    }
    if (uniform) k.len_k = static_cast<int>(p.seqs.max_k);
    // Sequences: the kernel choice by the longest part (a packed batch of decode rows is decode-shaped);
    // the plan is made for the chosen kernel's tiles and freed after the launch on the stream.
    std::optional<flash::SequencePlan> plan;
    if (p.seqs.any() && !uniform) plan.emplace(p, s);
    flash::Params shape = k;
    if (plan) shape.len_q = static_cast<int>(std::min<int64_t>(p.len_q, std::max<int64_t>(p.seqs.max_q, 1)));
    flash::SequencePlan *const sp = plan ? &*plan : nullptr;
    int32_t status = ATTN4J_STATUS_OK;
    if (vec && flash::sm90_applies(shape, static_cast<int>(p.dim), device) &&
        flash::launch_sm90(k, bf16, p.batch, p.heads_kv, sp, s, status, error))
        return reported(status, error);
    if (!plan && vec && flash::sparse_sm90_applies(k, static_cast<int>(p.dim), device) &&
        flash::launch_sparse_sm90(k, bf16, p.batch, p.heads_kv, s, status, error))
        return reported(status, error);
    // Decode with grouped heads: one block per kv head reads each K/V tile once for all its query heads.
    // Only with enough (batch x kv head) blocks: with few (batch 1 x 8 kv heads, 32K keys: 0.29-0.35x SDPA's
    // best, against 0.63x measured for one block per query head) the keys split better per query head.
    const int64_t group = p.heads_q / p.heads_kv;
    if (!plan && vec && p.mask == nullptr && group > 1 && p.len_q * group <= 64 && p.batch * p.heads_kv >= 32)
        k.pack = static_cast<int>(group);
    plan_key_splits(p, k);
    const int64_t blocks_bh = p.batch * p.heads_q / k.pack, rows = shape.len_q * k.pack;
    return reported(flash::launch_mma(k, bf16, static_cast<int>(p.dim), blocks_bh, rows, vec, sp, s, error), error);
}

}  // namespace attn4j::cuda
