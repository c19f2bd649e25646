#include "api_checks.h"


namespace attn4j {

unsigned storage_for(const attn4j_tensor *q) { return q->device == ATTN4J_DEVICE_HOST ? kCpuStorage : kCudaStorage; }

int32_t check_same_device(const char *name, const attn4j_tensor *t, const attn4j_tensor *q) {
    if (t->device == q->device) return ATTN4J_STATUS_OK;
    return fail(ATTN4J_STATUS_INVALID_DEVICE, "%s.device = %d differs from q.device = %d", name, t->device, q->device);
}

int32_t check_qkv(const attn4j_tensor *q, const attn4j_tensor *k, const attn4j_tensor *v, bool paged) {
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
    if (!paged) CHECK(check_dim("k", k, 0, B, "batch of q"));
    CHECK(check_dim("k", k, 3, d, "head dim of q"));
    CHECK(check_dim("v", v, 0, paged ? k->shape[0] : B, paged ? "pages of k" : "batch of q"));
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

int32_t cpu_status(bool ok) {
    return ok ? ATTN4J_STATUS_OK : fail(ATTN4J_STATUS_OUT_OF_MEMORY, "out of memory in a worker thread");
}

}  // namespace attn4j
