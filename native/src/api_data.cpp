// The *_data entry points: each tensor's data pointer arrives as its own argument (Java heap arrays
// pinned for a call cannot be stored in a descriptor). They patch copies of the descriptors and
// call the ordinary entry points, so checks and results are the same.
#include "attn4j.h"

namespace {

// A descriptor with `data` in place of its own, or NULL for a NULL descriptor.
struct Patched {
    attn4j_tensor t{};
    const attn4j_tensor *ptr = nullptr;
    Patched(const attn4j_tensor *d, void *data) {
        if (d == nullptr) return;
        t = *d;
        t.data = data;
        ptr = &t;
    }
};

}  // namespace

extern "C" {

int32_t attn4j_flash_forward_data(void *q_data, void *k_data, void *v_data, void *out_data, void *lse_data,
                                  const attn4j_tensor *q, const attn4j_tensor *k, const attn4j_tensor *v,
                                  const attn4j_tensor *out, const attn4j_tensor *lse,
                                  const attn4j_flash_params *params) {
    const Patched pq(q, q_data), pk(k, k_data), pv(v, v_data), po(out, out_data), pl(lse, lse_data);
    return attn4j_flash_forward(pq.ptr, pk.ptr, pv.ptr, po.ptr, pl.ptr, params);
}

int32_t attn4j_lightning_forward_data(void *q_data, void *k_data, void *v_data, void *out_data,
                                      void *state_in_data, void *state_out_data, const attn4j_tensor *q,
                                      const attn4j_tensor *k, const attn4j_tensor *v, const attn4j_tensor *out,
                                      const attn4j_tensor *state_in, const attn4j_tensor *state_out,
                                      const attn4j_lightning_params *params) {
    const Patched pq(q, q_data), pk(k, k_data), pv(v, v_data), po(out, out_data);
    const Patched psi(state_in, state_in_data), pso(state_out, state_out_data);
    return attn4j_lightning_forward(pq.ptr, pk.ptr, pv.ptr, po.ptr, psi.ptr, pso.ptr, params);
}

int32_t attn4j_sale_forward_data(void *q_data, void *k_data, void *v_data, void *out_data, void *lse_data,
                                 const attn4j_tensor *q, const attn4j_tensor *k, const attn4j_tensor *v,
                                 const attn4j_tensor *out, const attn4j_tensor *lse, const attn4j_sale_params *params,
                                 uint8_t *mask, int64_t mask_bytes, double *density) {
    const Patched pq(q, q_data), pk(k, k_data), pv(v, v_data), po(out, out_data), pl(lse, lse_data);
    return attn4j_sale_forward(pq.ptr, pk.ptr, pv.ptr, po.ptr, pl.ptr, params, mask, mask_bytes, density);
}

int32_t attn4j_block_sparse_forward_data(void *q_data, void *k_data, void *v_data, void *out_data, void *lse_data,
                                         const attn4j_tensor *q, const attn4j_tensor *k, const attn4j_tensor *v,
                                         const attn4j_tensor *out, const attn4j_tensor *lse,
                                         const attn4j_sale_params *params, const uint8_t *mask,
                                         int64_t mask_bytes, double *density) {
    const Patched pq(q, q_data), pk(k, k_data), pv(v, v_data), po(out, out_data), pl(lse, lse_data);
    return attn4j_block_sparse_forward(pq.ptr, pk.ptr, pv.ptr, po.ptr, pl.ptr, params, mask, mask_bytes, density);
}

int32_t attn4j_sale_calibrate_data(void *q_data, void *k_data, void *v_data, const attn4j_tensor *q,
                                   const attn4j_tensor *k, const attn4j_tensor *v, float target_error,
                                   const attn4j_sale_params *params, float *thresholds_out,
                                   int32_t num_thresholds_out) {
    const Patched pq(q, q_data), pk(k, k_data), pv(v, v_data);
    return attn4j_sale_calibrate(pq.ptr, pk.ptr, pv.ptr, target_error, params, thresholds_out, num_thresholds_out);
}

}  // extern "C"
