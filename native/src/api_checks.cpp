#include "api_checks.h"

#include <climits>
#include <string>

#include "cuda/cuda_backend.h"

namespace attn4j {

unsigned storage_for(const attn4j_tensor *q) { return q->device == ATTN4J_DEVICE_HOST ? kCpuStorage : kCudaStorage; }

int32_t check_same_device(const char *name, const attn4j_tensor *t, const attn4j_tensor *q) {
    if (t->device == q->device) return ATTN4J_STATUS_OK;
    return fail(ATTN4J_STATUS_INVALID_DEVICE, "%s.device = %d differs from q.device = %d", name, t->device, q->device);
}

int32_t check_qkv(const attn4j_tensor *q, const attn4j_tensor *k, const attn4j_tensor *v) {
    CHECK(check_tensor("q", q));
    CHECK(check_tensor("k", k));
    CHECK(check_tensor("v", v));
    CHECK(check_same_device("k", k, q));
    CHECK(check_same_device("v", v, q));
    CHECK(check_dtype("q", q, storage_for(q)));
    if (k->dtype != q->dtype)
        return fail(ATTN4J_STATUS_INVALID_DTYPE, "k.dtype = %s differs from q.dtype = %s", dtype_name(k->dtype),
                    dtype_name(q->dtype));
    if (v->dtype != q->dtype)
        return fail(ATTN4J_STATUS_INVALID_DTYPE, "v.dtype = %s differs from q.dtype = %s", dtype_name(v->dtype),
                    dtype_name(q->dtype));
    const int64_t B = q->shape[0], Hq = q->shape[1], d = q->shape[3], Hkv = k->shape[1];
    if (d < 1 || d > 512)
        return fail(ATTN4J_STATUS_INVALID_SHAPE, "q.shape[3] = %lld: head dim must be in 1..512", static_cast<long long>(d));
    if (v->shape[3] < 1 || v->shape[3] > 512)
        return fail(ATTN4J_STATUS_INVALID_SHAPE, "v.shape[3] = %lld: head dim must be in 1..512",
                    static_cast<long long>(v->shape[3]));
    CHECK(check_dim("k", k, 0, B, "batch of q"));
    CHECK(check_dim("k", k, 3, d, "head dim of q"));
    CHECK(check_dim("v", v, 0, B, "batch of q"));
    CHECK(check_dim("v", v, 1, Hkv, "heads of k"));
    CHECK(check_dim("v", v, 2, k->shape[2], "sequence length of k"));
    if (Hkv == 0 ? Hq != 0 : Hq % Hkv != 0)
        return fail(ATTN4J_STATUS_INVALID_SHAPE, "k.shape[1] = %lld does not divide q.shape[1] = %lld",
                    static_cast<long long>(Hkv), static_cast<long long>(Hq));
    return ATTN4J_STATUS_OK;
}

int32_t check_output(const char *name, const attn4j_tensor *t, unsigned dtypes, const int64_t (&shape)[4],
                     const char *const (&what)[4], const attn4j_tensor *q, const attn4j_tensor *k,
                     const attn4j_tensor *v) {
    CHECK(check_tensor(name, t));
    CHECK(check_same_device(name, t, q));
    CHECK(check_dtype(name, t, dtypes));
    for (int i = 0; i < 4; ++i) CHECK(check_dim(name, t, i, shape[i], what[i]));
    CHECK(check_no_self_overlap(name, t));
    CHECK(check_disjoint(name, t, "q", q));
    CHECK(check_disjoint(name, t, "k", k));
    CHECK(check_disjoint(name, t, "v", v));
    return ATTN4J_STATUS_OK;
}

int32_t check_cuda_head_dims(int64_t d, int64_t dv, bool with_256) {
    if (d == dv && (d == 64 || d == 128 || (with_256 && d == 256))) return ATTN4J_STATUS_OK;
    return fail(ATTN4J_STATUS_UNSUPPORTED, "q.shape[3] = %lld, v.shape[3] = %lld: CUDA %s supports head dims %s (equal)",
                static_cast<long long>(d), static_cast<long long>(dv), with_256 ? "FlashAttention" : "Lightning and SALE",
                with_256 ? "64, 128 and 256" : "64 and 128");
}

// What the CUDA kernel supports beyond the shared checks.
int32_t flash_forward_cuda(const attn4j_tensor *q, const attn4j_tensor *k, const attn4j_tensor *v,
                           const attn4j_tensor *out, const attn4j_tensor *lse, const cpu::FlashProblem &p,
                           void *stream) {
    CHECK(check_cuda_head_dims(p.dim, p.dim_v, p.mask == nullptr));
    const attn4j_tensor *all[5] = {q, k, v, out, lse};
    const char *names[5] = {"q", "k", "v", "out", "lse"};
    for (int i = 0; i < 4; ++i)
        if (all[i]->strides[3] != 1)
            return fail(ATTN4J_STATUS_UNSUPPORTED, "%s.strides[3] = %lld: CUDA needs unit stride along the head dim",
                        names[i], static_cast<long long>(all[i]->strides[3]));
    for (int i = 0; i < 5; ++i)
        if (all[i] != nullptr && all[i]->shape[2] > INT32_MAX)
            return fail(ATTN4J_STATUS_UNSUPPORTED, "%s.shape[2] exceeds 2^31 - 1 on CUDA devices", names[i]);
    std::string error;
    const int32_t st = cuda::flash_forward(p, q->device, stream, error);
    return st == ATTN4J_STATUS_OK ? st : fail(st, "%s", error.c_str());
}

}  // namespace attn4j
