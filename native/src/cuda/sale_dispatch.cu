// SALE on CUDA: the checks only the CUDA kernels need, the estimation's parameters and kernel choice
// (the Hopper kernel where it applies, else mma.sync), then the block-sparse pass over the mask it
// wrote (flash_dispatch.cu).
#include <cuda_runtime.h>

#include <climits>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

#include "attn4j.h"
#include "common/error.h"
#include "cuda/cuda_backend.h"
#include "cuda/launch.h"
#include "cuda/sale_estimate.cuh"

namespace attn4j::cuda {

namespace {

using sale::kBlock;

int32_t check_sale(const core::SaleProblem &sp) {
    const core::FlashProblem &p = sp.attention;
    if (sp.config.block_q != kBlock || sp.config.block_k != kBlock)
        return fail(ATTN4J_STATUS_UNSUPPORTED, "params.block_q = %lld, params.block_k = %lld: SALE on CUDA uses 64 x 64 blocks",
                    static_cast<long long>(sp.config.block_q), static_cast<long long>(sp.config.block_k));
    if (const int32_t st = check_head_dims(p.dim, p.dim_v)) return st;
    if (p.heads_q > kMaxCudaHeads || p.len_q > INT32_MAX || p.len_k > INT32_MAX)
        return fail(ATTN4J_STATUS_UNSUPPORTED, "q: at most %d heads and 2^31 - 1 tokens on CUDA devices", kMaxCudaHeads);
    return ATTN4J_STATUS_OK;
}

sale::EstParams estimation_params(const core::SaleProblem &sp, const core::BlockMask &m) {
    const core::FlashProblem &p = sp.attention;
    sale::EstParams e{};
    e.q = p.q;
    e.k = p.k;
    for (int i = 0; i < 4; ++i) {
        e.sq[i] = p.sq[i];
        e.sk[i] = p.sk[i];
    }
    e.heads_q = static_cast<int>(p.heads_q);
    e.group = static_cast<int>(p.heads_q / p.heads_kv);
    e.len_q = static_cast<int>(p.len_q);
    e.len_k = static_cast<int>(p.len_k);
    e.dim = static_cast<int>(p.dim);
    e.mask = const_cast<uint8_t *>(m.bits);  // the estimation's output
    e.row_bytes = m.row_bytes;
    e.head_rows = m.head_rows;
    e.q_blocks = static_cast<int>((p.len_q + kBlock - 1) / kBlock);
    e.k_blocks = static_cast<int>((p.len_k + kBlock - 1) / kBlock);
    e.sinks = static_cast<int>(sp.config.sink_blocks);
    e.locals = static_cast<int>(sp.config.local_blocks);
    e.causal = p.window_right == 0;
    e.scale = p.scale;
    for (int64_t h = 0; h < p.heads_q; ++h) e.log_tau[h] = sp.config.tau[h] > 0.0f ? logf(sp.config.tau[h]) : -INFINITY;
    return e;
}

// The mask of a problem with 64 x 64 blocks (device memory).
int32_t estimate(const core::SaleProblem &sp, const core::BlockMask &m) {
    const core::FlashProblem &p = sp.attention;
    std::string error;
    if (const int32_t st = use_device(p.device, error); st != ATTN4J_STATUS_OK) return reported(st, error);
    sale::EstParams e = estimation_params(sp, m);
    const bool bf16 = p.in_dtype == core::DType::BF16;
    const bool hopper = p.dim != 64 && sale::sm90_applies(static_cast<int>(p.dim), m.row_bytes, p.device);
    return reported(sale::estimate_mask(e, p.batch * p.heads_q, p.batch * p.heads_kv, bf16, hopper,
                                        static_cast<cudaStream_t>(p.stream), error),
                    error);
}

}  // namespace

int32_t sale_supported(const core::SaleProblem &sp) { return check_sale(sp); }

int32_t block_sparse_forward(const core::FlashProblem &p, double *density) {
    if (density != nullptr) *density = std::numeric_limits<double>::quiet_NaN();
    return flash_forward(p);
}

int32_t sale_forward(const core::SaleProblem &sp, const core::BlockMask &mask, double *density) {
    if (const int32_t st = check_sale(sp)) return st;
    const core::FlashProblem &p = sp.attention;
    core::BlockMask m = mask;
    std::string error;
    void *own = nullptr;
    if (m.bits == nullptr) {  // a mask of our own (its allocation and release synchronize the device)
        const int64_t bytes = core::sale_mask_bytes(p, m);
        const int32_t st = malloc_device(p.device, bytes > 0 ? bytes : 1, &own, error);
        if (st != ATTN4J_STATUS_OK) return reported(st, error);
        m.bits = static_cast<uint8_t *>(own);
    }
    int32_t st = estimate(sp, m);
    if (st == ATTN4J_STATUS_OK) {
        core::FlashProblem sparse = p;
        sparse.mask = &m;
        st = block_sparse_forward(sparse, density);
    }
    if (own != nullptr) {
        std::string ignored;
        free_device(p.device, own, ignored);
    }
    return st;
}

}  // namespace attn4j::cuda
