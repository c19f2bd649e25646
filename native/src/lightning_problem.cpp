#include "lightning_problem.h"

#include "common/thread_pool.h"
#include "flash_problem.h"

namespace attn4j {

cpu::LightningProblem make_lightning_problem(const attn4j_tensor *q, const attn4j_tensor *k, const attn4j_tensor *v,
                                             const attn4j_tensor *out, const attn4j_tensor *state_in,
                                             const attn4j_tensor *state_out, const attn4j_lightning_params &pr) {
    cpu::LightningProblem p{};
    p.q = q->data;
    p.k = k->data;
    p.v = v->data;
    p.out = out->data;
    p.in_dtype = static_cast<cpu::DType>(q->dtype);
    p.out_dtype = static_cast<cpu::DType>(out->dtype);
    p.batch = q->shape[0];
    p.heads_q = q->shape[1];
    p.heads_kv = k->shape[1];
    p.len = q->shape[2];
    p.dim = q->shape[3];
    p.dim_v = v->shape[3];
    detail::copy_strides(q, p.sq);
    detail::copy_strides(k, p.sk);
    detail::copy_strides(v, p.sv);
    detail::copy_strides(out, p.so);
    if (state_in != nullptr) detail::copy_strides(state_in, p.ssi);
    if (state_out != nullptr) detail::copy_strides(state_out, p.sso);
    p.slopes = pr.slopes;
    p.state_in = state_in != nullptr ? static_cast<const float *>(state_in->data) : nullptr;
    p.state_out = state_out != nullptr ? static_cast<float *>(state_out->data) : nullptr;
    p.block = pr.block_size > 0 ? pr.block_size : cpu::kLightningDefaultBlock;
    p.threads = resolve_threads(pr.num_threads);
    return p;
}

}  // namespace attn4j
