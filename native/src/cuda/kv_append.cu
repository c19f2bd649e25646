// attn4j_kv_cache_append on CUDA: one block per (new row, sequence x kv head), one thread per element.
// With device arrays (unchecked on the host) rows whose slot lies outside the table or the pool are
// skipped, so nothing is written out of bounds.
#include <cuda_runtime.h>

#include <cstdint>
#include <string>

#include "attn4j.h"
#include "cuda/cuda_backend.h"
#include "cuda/launch.h"

namespace attn4j::cuda {

namespace {

template <typename E>
__global__ void append_rows(const core::KvAppendProblem p) {
    const int64_t i = blockIdx.x, bh = blockIdx.y, b = bh / p.heads, h = bh % p.heads;
    const int64_t n = p.new_lens != nullptr ? p.new_lens[b] : p.rows, start = p.cache_lens[b];
    if (i >= n || n > p.rows || start < 0) return;
    const int64_t pos = start + i, slot = pos / p.page_size;
    if (slot >= p.table_stride) return;
    const int64_t page = p.table[b * p.table_stride + slot], row = pos % p.page_size;
    if (page < 0 || page >= p.num_pages) return;
    E *kd = static_cast<E *>(p.k_pages) + page * p.skp[0] + h * p.skp[1] + row * p.skp[2];
    E *vd = static_cast<E *>(p.v_pages) + page * p.svp[0] + h * p.svp[1] + row * p.svp[2];
    const E *ks = static_cast<const E *>(p.k_new) + b * p.skn[0] + h * p.skn[1] + i * p.skn[2];
    const E *vs = static_cast<const E *>(p.v_new) + b * p.svn[0] + h * p.svn[1] + i * p.svn[2];
    for (int64_t e = threadIdx.x; e < p.dim; e += blockDim.x) kd[e * p.skp[3]] = ks[e * p.skn[3]];
    for (int64_t e = threadIdx.x; e < p.dim_v; e += blockDim.x) vd[e * p.svp[3]] = vs[e * p.svn[3]];
}

}  // namespace

int32_t kv_append(const core::KvAppendProblem &p) {
    std::string error;
    if (p.batch * p.heads > 65535)
        return fail(ATTN4J_STATUS_UNSUPPORTED, "k_new: batch x heads = %lld exceeds 65535 on CUDA devices",
                    static_cast<long long>(p.batch * p.heads));
    if (p.rows > INT32_MAX) return fail(ATTN4J_STATUS_UNSUPPORTED, "k_new.shape[2] exceeds 2^31 - 1 on CUDA devices");
    if (const int32_t st = use_device(p.device, error); st != ATTN4J_STATUS_OK) return reported(st, error);
    core::KvAppendProblem k = p;
    const auto stream = static_cast<cudaStream_t>(p.stream);
    StagedArrays staged(stream);
    if (!p.on_device) {  // host arrays (checked): copied with the call
        if (const int32_t st = staged.copy({{p.table, p.batch * p.table_stride, &k.table},
                                            {p.cache_lens, p.batch, &k.cache_lens},
                                            {p.new_lens, p.new_lens != nullptr ? p.batch : 0, &k.new_lens}},
                                           error))
            return reported(st, error);
    }
    int32_t st = ATTN4J_STATUS_OK;
    if (p.rows > 0 && p.batch * p.heads > 0) {
        const dim3 grid(static_cast<unsigned>(p.rows), static_cast<unsigned>(p.batch * p.heads));
        const int threads = p.dim > 64 || p.dim_v > 64 ? 128 : 64;
        if (p.dtype == core::DType::F32) {
            append_rows<float><<<grid, threads, 0, stream>>>(k);
        } else {
            append_rows<uint16_t><<<grid, threads, 0, stream>>>(k);
        }
        st = status_of(cudaGetLastError(), "KV append kernel launch", error);
    }
    return reported(st, error);
}

}  // namespace attn4j::cuda
