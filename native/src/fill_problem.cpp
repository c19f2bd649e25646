#include "fill_problem.h"

#include <cmath>

#include "common/thread_pool.h"
#include "cpu/lightning.h"

namespace attn4j {

namespace {

// An empty tensor's strides are never checked against overflow (nothing is addressed), so the
// kernels get zeros instead: base-pointer arithmetic on them stays defined.
void copy_strides(const attn4j_tensor *t, int64_t *dst) {
    const bool empty = t->shape[0] == 0 || t->shape[1] == 0 || t->shape[2] == 0 || t->shape[3] == 0;
    for (int i = 0; i < 4; ++i) dst[i] = empty ? 0 : t->strides[i];
}

// What every family's problem shares: operands, their types, shapes and strides, threads, device, stream.
template <class Problem>
void fill_operands(Problem &p, const attn4j_tensor *q, const attn4j_tensor *k, const attn4j_tensor *v,
                   const attn4j_tensor *out, int32_t num_threads, void *stream) {
    p.q = q->data;
    p.k = k->data;
    p.v = v->data;
    p.out = out->data;
    p.in_dtype = static_cast<core::DType>(q->dtype);
    p.out_dtype = static_cast<core::DType>(out->dtype);
    p.batch = q->shape[0];
    p.heads_q = q->shape[1];
    p.heads_kv = k->shape[1];
    p.dim = q->shape[3];
    p.dim_v = v->shape[3];
    copy_strides(q, p.sq);
    copy_strides(k, p.sk);
    copy_strides(v, p.sv);
    copy_strides(out, p.so);
    p.threads = resolve_threads(num_threads);
    p.device = q->device;
    p.stream = stream;
}

}  // namespace

core::FlashProblem make_flash_problem(const attn4j_tensor *q, const attn4j_tensor *k, const attn4j_tensor *v,
                                      const attn4j_tensor *out, const attn4j_tensor *lse,
                                      const attn4j_flash_params &pr) {
    core::FlashProblem p{};
    fill_operands(p, q, k, v, out, pr.num_threads, pr.cuda_stream);
    p.lse = lse != nullptr ? static_cast<float *>(lse->data) : nullptr;
    p.len_q = q->shape[2];
    p.len_k = k->shape[2];
    if (lse != nullptr) copy_strides(lse, p.sl);
    p.scale = pr.scale != 0.0f ? pr.scale : 1.0f / std::sqrt(static_cast<float>(p.dim));
    p.softcap = pr.softcap;
    p.window_left = pr.window_left;
    p.window_right = pr.causal != 0 ? 0 : pr.window_right;  // causal: nothing right of the diagonal
    return p;
}

core::LightningProblem make_lightning_problem(const attn4j_tensor *q, const attn4j_tensor *k, const attn4j_tensor *v,
                                              const attn4j_tensor *out, const attn4j_tensor *state_in,
                                              const attn4j_tensor *state_out, const attn4j_lightning_params &pr) {
    core::LightningProblem p{};
    fill_operands(p, q, k, v, out, pr.num_threads, pr.cuda_stream);
    p.len = q->shape[2];
    if (state_in != nullptr) copy_strides(state_in, p.ssi);
    if (state_out != nullptr) copy_strides(state_out, p.sso);
    p.slopes = pr.slopes;
    p.state_in = state_in != nullptr ? static_cast<const float *>(state_in->data) : nullptr;
    p.state_out = state_out != nullptr ? static_cast<float *>(state_out->data) : nullptr;
    p.block = pr.block_size > 0 ? pr.block_size : cpu::kLightningDefaultBlock;
    p.cu_seqlens = pr.num_seqs > 0 ? pr.cu_seqlens : nullptr;
    p.num_seqs = pr.num_seqs > 0 ? pr.num_seqs : 0;
    return p;
}

core::KvAppendProblem make_kv_append_problem(const attn4j_tensor *k_pages, const attn4j_tensor *v_pages,
                                             const attn4j_tensor *k_new, const attn4j_tensor *v_new,
                                             const attn4j_kv_append_params &pr) {
    core::KvAppendProblem p{};
    p.k_pages = k_pages->data;
    p.v_pages = v_pages->data;
    p.k_new = k_new->data;
    p.v_new = v_new->data;
    p.dtype = static_cast<core::DType>(k_pages->dtype);
    p.batch = k_new->shape[0];
    p.heads = k_new->shape[1];
    p.rows = k_new->shape[2];
    p.dim = k_new->shape[3];
    p.dim_v = v_new->shape[3];
    copy_strides(k_pages, p.skp);
    copy_strides(v_pages, p.svp);
    copy_strides(k_new, p.skn);
    copy_strides(v_new, p.svn);
    p.num_pages = k_pages->shape[0];
    p.page_size = k_pages->shape[2];
    p.table = pr.block_table;
    p.table_stride = pr.max_pages;
    p.cache_lens = pr.cache_lens;
    p.new_lens = pr.new_lens;
    p.threads = resolve_threads(pr.num_threads);
    p.device = k_pages->device;
    p.stream = pr.cuda_stream;
    return p;
}

}  // namespace attn4j
