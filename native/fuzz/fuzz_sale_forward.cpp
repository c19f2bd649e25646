// libFuzzer harness for attn4j_sale_forward / attn4j_block_sparse_forward / attn4j_sale_calibrate (each also
// in its _data form) / attn4j_sale_mask_bytes / attn4j_sale_params_init / attn4j_structured_qkv: fuzzed tensors (as in fuzz_flash_forward.cpp),
// params (size, thresholds, block sizes, sinks, locals, threads, sequence lengths) and mask buffers sized exactly as claimed,
// so any read or write past mask_bytes is caught.
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "fuzz_input.h"

using namespace attn4j::fuzz;

namespace {
void require_message(int32_t st) {
    if (st != ATTN4J_STATUS_OK && attn4j_last_error()[0] == '\0') {
        std::fprintf(stderr, "status %d without a message\n", st);
        std::abort();
    }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    Input in(data, size);
    const int32_t dtype = in.flag(3) ? ATTN4J_DTYPE_BF16 : ATTN4J_DTYPE_F32;
    const int64_t B = 1 + in.byte() % 2, Hkv = 1 + in.byte() % 3, Hq = Hkv * (1 + in.byte() % 3);
    const int64_t Nq = in.byte() % 150, Nk = in.flag(2) ? Nq : in.byte() % 150, d = 1 + in.byte() % 70, dv = 1 + in.byte() % 70;
    const int64_t qs[4] = {B, Hq, Nq, d}, ks[4] = {B, Hkv, Nk, d}, vs[4] = {B, Hkv, Nk, dv}, os[4] = {B, Hq, Nq, dv};
    const int64_t ls[4] = {B, Hq, Nq, 1};
    FuzzTensor q = make_tensor(in, qs, dtype), k = make_tensor(in, ks, dtype), v = make_tensor(in, vs, dtype);
    FuzzTensor out = make_tensor(in, os, in.flag(4) ? ATTN4J_DTYPE_BF16 : ATTN4J_DTYPE_F32);
    FuzzTensor lse = make_tensor(in, ls, ATTN4J_DTYPE_F32);
    const bool with_lse = in.flag(3);

    std::vector<float> taus(static_cast<size_t>(1 + in.byte() % 10));
    for (float &x : taus) x = in.flag(5) ? in.float_value() : static_cast<float>(in.byte()) / 1024.0f;
    attn4j_sale_params p;
    init_params(attn4j_sale_params_init, p);
    p.causal = in.flag(2) ? 1 : 0;
    p.scale = in.flag(8) ? in.float_value() : 0.0f;
    p.thresholds = in.flag(4) ? nullptr : taus.data();
    p.num_thresholds = in.flag(5) ? in.int_value() : (p.thresholds != nullptr ? (in.flag(2) ? 1 : static_cast<int32_t>(Hq)) : 0);
    if (p.thresholds != nullptr && p.num_thresholds > static_cast<int32_t>(taus.size())) p.num_thresholds = static_cast<int32_t>(taus.size());
    p.block_q = in.flag(3) ? in.int_value() : 16 * (in.byte() % 7);
    p.block_k = in.flag(3) ? in.int_value() : 16 * (in.byte() % 9);
    p.sink_blocks = in.flag(4) ? in.int_value() : in.byte() % 3;
    p.local_blocks = in.flag(4) ? in.int_value() : in.byte() % 4;
    p.num_threads = in.flag(4) ? in.int_value() : 0;
    const attn4j_sale_params *pp = in.flag(32) ? nullptr : &p;

    int64_t need = 0;
    const int32_t sized = attn4j_sale_mask_bytes(q.arg(), k.arg(), pp, in.flag(16) ? nullptr : &need);
    require_message(sized);
    // A buffer of exactly mask_bytes: the claimed size, sometimes smaller than needed.
    int64_t mask_bytes = sized == ATTN4J_STATUS_OK ? need : 0;
    if (in.flag(6)) mask_bytes = in.byte() % 8;
    if (mask_bytes > (1 << 20)) return 0;
    std::vector<uint8_t> mask(static_cast<size_t>(mask_bytes));
    for (auto &x : mask) x = in.byte();
    uint8_t *mask_ptr = in.flag(5) ? nullptr : mask.data();

    const int mode = in.byte() % 4;  // 0: SALE, 1: block-sparse, 2: calibration (no out), 3: structured inputs
    bool must_fail = false;
    if (!callable({&q, &k, &v, mode < 2 ? &out : nullptr, mode < 2 && with_lse ? &lse : nullptr}, must_fail)) return 0;
    if (!must_fail) {
        const double flops = 4.0 * q.t.shape[0] * q.t.shape[1] * q.t.shape[2] * static_cast<double>(k.t.shape[2]) *
                             (static_cast<double>(q.t.shape[3]) + static_cast<double>(v.t.shape[3]));
        if (too_much_work(flops)) return 0;
    }
    // Each mode's own choices, then the size field last, so the regression inputs written before it
    // kept their meaning.
    const bool no_density = mode == 0 && in.flag(3);
    const float target = mode == 2 && in.flag(4) ? in.float_value() : 0.05f;
    float tau_out[64];  // num_thresholds_out below is at most 39 or Hq (<= 9), or a negative or huge value
    float *tau_ptr = mode == 2 && in.flag(16) ? nullptr : tau_out;
    const int32_t num_tau = mode == 2 && in.flag(4) ? in.int_value() : static_cast<int32_t>(Hq);
    const int32_t pattern = mode == 3 ? (in.flag(8) ? in.int_value() : in.byte() % 6) : 0;
    const uint64_t seed = mode == 3 ? in.byte() : 0;
    p.size = params_size<attn4j_sale_params>(in, ATTN4J_SALE_PARAMS_SIZE_V1);
    const bool via_data = in.flag(2);
    // Sequence lengths, after everything else for the same reason; then sometimes a mask sized for them.
    LengthArrays lengths;
    lengths.fill(in, p, q.t, k.t);
    if (in.flag(2) && mask_ptr != nullptr && attn4j_sale_mask_bytes(q.arg(), k.arg(), pp, &need) == ATTN4J_STATUS_OK &&
        need <= (1 << 20)) {
        mask_bytes = need;
        mask.assign(static_cast<size_t>(need), 0x5A);
        mask_ptr = mask.data();
    }
    if (p.size != static_cast<int32_t>(sizeof p)) {
        const int32_t st = attn4j_sale_mask_bytes(q.arg(), k.arg(), pp, &need);
        require_message(st);
        require_size_checked(st, pp, ATTN4J_SALE_PARAMS_SIZE_V1);
    }

    Canary co(out);
    double density = -1.0;
    int32_t st;
    const attn4j_tensor *l = with_lse ? lse.arg() : nullptr;
    if (mode == 0) {
        double *dp = no_density ? nullptr : &density;
        st = via_data ? attn4j_sale_forward_data(q.t.data, k.t.data, v.t.data, out.t.data, lse.t.data, q.arg(), k.arg(),
                                                 v.arg(), out.arg(), l, pp, mask_ptr, mask_bytes, dp)
                      : attn4j_sale_forward(q.arg(), k.arg(), v.arg(), out.arg(), l, pp, mask_ptr, mask_bytes, dp);
    } else if (mode == 1) {
        st = via_data ? attn4j_block_sparse_forward_data(q.t.data, k.t.data, v.t.data, out.t.data, lse.t.data, q.arg(),
                                                         k.arg(), v.arg(), out.arg(), l, pp, mask_ptr, mask_bytes, &density)
                      : attn4j_block_sparse_forward(q.arg(), k.arg(), v.arg(), out.arg(), l, pp, mask_ptr, mask_bytes,
                                                    &density);
    } else if (mode == 2) {
        st = via_data ? attn4j_sale_calibrate_data(q.t.data, k.t.data, v.t.data, q.arg(), k.arg(), v.arg(), target, pp,
                                                   tau_ptr, num_tau)
                      : attn4j_sale_calibrate(q.arg(), k.arg(), v.arg(), target, pp, tau_ptr, num_tau);
    } else {
        st = attn4j_structured_qkv(pattern, seed, q.arg(), k.arg(), v.arg());
    }
    require_message(st);
    if (mode < 3) require_size_checked(st, pp, ATTN4J_SALE_PARAMS_SIZE_V1);
    if (must_fail && st == ATTN4J_STATUS_OK) {
        std::fprintf(stderr, "an overflowing span was accepted\n");
        std::abort();
    }
    if (st == ATTN4J_STATUS_OK && mode < 2) {
        if (out.buf != nullptr && out.t.data == out.buf.get() && !co.untouched_outside_elements()) {
            std::fprintf(stderr, "a write outside the output's elements\n");
            std::abort();
        }
        if (density > 1.0 || (density < 0.0 && density != -1.0)) {
            std::fprintf(stderr, "density %g out of range\n", density);
            std::abort();
        }
    }
    return 0;
}
