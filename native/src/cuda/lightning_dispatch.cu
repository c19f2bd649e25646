// Lightning Attention-2 on CUDA: the checks only the CUDA kernels need, the launch parameters, and the
// kernel choice: the decode kernel when every sequence has at most kDecodeMaxLen tokens (one launch
// streaming each state once, where the chunked passes would spend a 128-token chunk and a state copy
// per head on each token), else the Hopper passes (warpgroup MMA, TMA loads) for head dim 128 where
// TMA can describe the rows, else the portable mma.sync passes.
#include <cuda_runtime.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include "attn4j.h"
#include "common/error.h"
#include "cuda/cuda_backend.h"
#include "cuda/launch.h"
#include "cuda/lightning_params.cuh"
#include "cuda/tma.cuh"

namespace attn4j::cuda {

namespace {

using lightning::kChunk;

// What the CUDA kernels support beyond the shared checks. Strides of empty tensors are zeros in the
// problem and never addressed, so only those of tensors with elements are checked.
int32_t check_lightning(const core::LightningProblem &p) {
    if (const int32_t st = check_head_dims(p.dim, p.dim_v)) return st;
    if (p.heads_q > kMaxCudaHeads)
        return fail(ATTN4J_STATUS_UNSUPPORTED, "q.shape[1] = %lld: CUDA supports at most %d query heads",
                    static_cast<long long>(p.heads_q), kMaxCudaHeads);
    const bool rows = p.len > 0;  // q, k, v and out have elements (batch and heads do: out or state_out has)
    const int64_t *strides[6] = {p.sq, p.sk, p.sv, p.so, p.ssi, p.sso};
    const bool filled[6] = {rows, rows, rows, rows, p.state_in != nullptr, p.state_out != nullptr};
    const int64_t last_dim[6] = {p.dim, p.dim, p.dim_v, p.dim_v, p.dim_v, p.dim_v};
    const char *names[6] = {"q", "k", "v", "out", "state_in", "state_out"};
    for (int i = 0; i < 6; ++i)
        if (filled[i] && strides[i][3] != 1 && last_dim[i] > 1)
            return fail(ATTN4J_STATUS_UNSUPPORTED, "%s.strides[3] = %lld: CUDA needs unit stride along the last dim",
                        names[i], static_cast<long long>(strides[i][3]));
    return ATTN4J_STATUS_OK;
}

lightning::Params launch_params(const core::LightningProblem &lp) {
    lightning::Params p{};
    copy_operands(p, lp);
    p.out_f32 = lp.out_dtype == core::DType::F32;
    {
        const int64_t pair_bytes = p.out_f32 ? 8 : 4;
        p.out_pairs = lp.so[3] == 1 && reinterpret_cast<uintptr_t>(lp.out) % pair_bytes == 0 && lp.so[0] % 2 == 0 &&
                      lp.so[1] % 2 == 0 && lp.so[2] % 2 == 0;
    }
    for (int64_t h = 0; h < lp.heads_q; ++h) p.slope_log2[h] = lp.slope(h) * lightning::kLog2e;
    return p;
}

// Every entry at most kDecodeMaxLen tokens. ATTN4J_LIGHTNING_DECODE=0 keeps such calls on the chunked
// passes, to compare the two.
bool decode_shaped(const core::LightningProblem &lp) {
    const char *env = std::getenv("ATTN4J_LIGHTNING_DECODE");
    if (env != nullptr && std::strcmp(env, "0") == 0) return false;
    if (lp.num_seqs == 0) return lp.len <= lightning::kDecodeMaxLen;
    for (int64_t b = 0; b < lp.num_seqs; ++b)
        if (lp.cu_seqlens[b + 1] - lp.cu_seqlens[b] > lightning::kDecodeMaxLen) return false;
    return true;
}

}  // namespace

int32_t lightning_forward(const core::LightningProblem &lp) {
    if (const int32_t st = check_lightning(lp)) return st;
    if (decode_shaped(lp)) {
        std::string error;
        if (const int32_t st = use_device(lp.device, error); st != ATTN4J_STATUS_OK) return reported(st, error);
        return reported(lightning::run_decode(lp, static_cast<cudaStream_t>(lp.stream), error), error);
    }
    // Packed sequences: each in turn on the stream (a short one on the decode kernel, as it would alone).
    if (lp.num_seqs > 0) {
        for (int64_t b = 0; b < lp.num_seqs; ++b)
            if (const int32_t st = lightning_forward(lp.sequence(b))) return st;
        return ATTN4J_STATUS_OK;
    }
    std::string error;
    const int32_t device = lp.device;
    if (const int32_t st = use_device(device, error); st != ATTN4J_STATUS_OK) return reported(st, error);
    lightning::Params p = launch_params(lp);
    const bool vec = rows_aligned16({{lp.q, lp.sq}, {lp.k, lp.sk}, {lp.v, lp.sv}});
    const bool bf16 = lp.in_dtype == core::DType::BF16;
    // Hopper: both passes on warpgroup MMA with TMA loads (head dim 128, some rows, rows TMA can describe).
    lightning::Maps maps{};
    const bool sm90 = lp.len > 0 && lp.dim == 128 && hopper_kernels(device) &&
                      tma::encode_qkv(maps.qkv, p.q, p.sq, p.k, p.sk, p.v, p.sv, lp.batch, lp.heads_q, lp.heads_kv, lp.len,
                                      lp.len, bf16, kChunk, kChunk);
    // Outputs of the input type leave the Hopper output pass by TMA stores where TMA can describe them.
    p.out_tma = sm90 && !p.out_f32 && tma::encode_rows(maps.out, p.out, p.so, lp.batch, lp.heads_q, lp.len, bf16, kChunk / 2);
    return reported(lightning::run_passes(lp, p, sm90 ? &maps : nullptr, vec, device, static_cast<cudaStream_t>(lp.stream),
                                          error),
                    error);
}

}  // namespace attn4j::cuda
