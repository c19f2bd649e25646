// TMA tensor maps for the Hopper kernels, encoded through the driver entry point the runtime hands out
// (no link against libcuda).
#include <cuda.h>
#include <cudaTypedefs.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <mutex>

#include "cuda/tma.cuh"

namespace attn4j::cuda::tma {

namespace {

PFN_cuTensorMapEncodeTiled_v12000 encoder() {
    static PFN_cuTensorMapEncodeTiled_v12000 fn = nullptr;
    static std::once_flag once;
    std::call_once(once, [] {
        void *f = nullptr;
        cudaDriverEntryPointQueryResult found{};
        if (cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", &f, 12000, cudaEnableDefault, &found) == cudaSuccess &&
            found == cudaDriverEntryPointSuccess)
            fn = reinterpret_cast<PFN_cuTensorMapEncodeTiled_v12000>(f);
    });
    return fn;
}

}  // namespace

bool encode_rows(CUtensorMap &map, const void *base, const int64_t *st, int64_t batch, int64_t heads, int64_t rows,
                 bool bf16, int box_rows) {
    const auto fn = encoder();
    if (fn == nullptr || st[3] != 1) return false;
    const cuuint64_t dims[4] = {128, static_cast<cuuint64_t>(rows), static_cast<cuuint64_t>(heads), static_cast<cuuint64_t>(batch)};
    const cuuint64_t strides[3] = {static_cast<cuuint64_t>(st[2]) * 2, static_cast<cuuint64_t>(st[1]) * 2,
                                   static_cast<cuuint64_t>(st[0]) * 2};
    const cuuint32_t box[4] = {64, static_cast<cuuint32_t>(box_rows), 1, 1}, unit[4] = {1, 1, 1, 1};
    return fn(&map, bf16 ? CU_TENSOR_MAP_DATA_TYPE_BFLOAT16 : CU_TENSOR_MAP_DATA_TYPE_FLOAT16, 4, const_cast<void *>(base),
              dims, strides, box, unit, CU_TENSOR_MAP_INTERLEAVE_NONE, CU_TENSOR_MAP_SWIZZLE_128B,
              CU_TENSOR_MAP_L2_PROMOTION_L2_256B, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE) == CUDA_SUCCESS;
}

bool encode_qkv(QkvMaps &maps, const void *q, const int64_t *sq, const void *k, const int64_t *sk, const void *v,
                const int64_t *sv, int64_t batch, int64_t heads_q, int64_t heads_kv, int64_t len_q, int64_t len_k,
                bool bf16, int rows_q, int rows_k) {
    return encode_rows(maps.q, q, sq, batch, heads_q, len_q, bf16, rows_q) &&
           encode_rows(maps.k, k, sk, batch, heads_kv, len_k, bf16, rows_k) &&
           encode_rows(maps.v, v, sv, batch, heads_kv, len_k, bf16, rows_k);
}

}  // namespace attn4j::cuda::tma
