#include "flash_problem.h"

#include <cmath>

#include "common/thread_pool.h"

namespace attn4j {

namespace {
void copy_strides(const attn4j_tensor *t, int64_t *dst) {
    for (int i = 0; i < 4; ++i) dst[i] = t->strides[i];
}
}  // namespace

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
    copy_strides(q, p.sq);
    copy_strides(k, p.sk);
    copy_strides(v, p.sv);
    copy_strides(out, p.so);
    if (lse != nullptr) copy_strides(lse, p.sl);
    p.scale = pr.scale != 0.0f ? pr.scale : 1.0f / std::sqrt(static_cast<float>(p.dim));
    p.softcap = pr.softcap;
    p.window_left = pr.window_left;
    p.window_right = pr.causal != 0 ? 0 : pr.window_right;  // causal: nothing right of the diagonal
    p.threads = resolve_threads(pr.num_threads);
    return p;
}

}  // namespace attn4j
