#include "flash_problem.h"

#include <cmath>

#include "common/thread_pool.h"

namespace attn4j {

namespace detail {
// An empty tensor's strides are never checked against overflow (nothing is addressed), so the
// kernels get zeros instead: base-pointer arithmetic on them stays defined.
void copy_strides(const attn4j_tensor *t, int64_t *dst) {
    const bool empty = t->shape[0] == 0 || t->shape[1] == 0 || t->shape[2] == 0 || t->shape[3] == 0;
    for (int i = 0; i < 4; ++i) dst[i] = empty ? 0 : t->strides[i];
}
}  // namespace detail

cpu::FlashProblem make_flash_problem(const attn4j_tensor *q, const attn4j_tensor *k, const attn4j_tensor *v,
                                     const attn4j_tensor *out, const attn4j_tensor *lse,
                                     const attn4j_flash_params &pr) {
    cpu::FlashProblem p{};
    p.q = q->data;
    p.k = k->data;
    p.v = v->data;
    p.out = out->data;
    p.lse = lse != nullptr ? static_cast<float *>(lse->data) : nullptr;
    p.in_dtype = static_cast<cpu::DType>(q->dtype);
    p.out_dtype = static_cast<cpu::DType>(out->dtype);
    p.batch = q->shape[0];
    p.heads_q = q->shape[1];
    p.heads_kv = k->shape[1];
    p.len_q = q->shape[2];
    p.len_k = k->shape[2];
    p.dim = q->shape[3];
    p.dim_v = v->shape[3];
    detail::copy_strides(q, p.sq);
    detail::copy_strides(k, p.sk);
    detail::copy_strides(v, p.sv);
    detail::copy_strides(out, p.so);
    if (lse != nullptr) detail::copy_strides(lse, p.sl);
    p.scale = pr.scale != 0.0f ? pr.scale : 1.0f / std::sqrt(static_cast<float>(p.dim));
    p.softcap = pr.softcap;
    p.window_left = pr.window_left;
    p.window_right = pr.causal != 0 ? 0 : pr.window_right;  // causal: nothing right of the diagonal
    p.threads = resolve_threads(pr.num_threads);
    return p;
}

}  // namespace attn4j
