// libFuzzer harness for attn4j_flash_forward (and its _data form, attn4j_flash_params_init): fuzzed shapes, strides, dtypes, devices, nulls, huge and
// negative sizes, overflowing spans, aliasing outputs and params
// (their size field too). Every input must give status 0
// with writes confined to the outputs' elements, or a clear error; never a crash, hang or
// out-of-bounds access (the harness runs under ASan+UBSan).
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "fuzz_input.h"

using namespace attn4j::fuzz;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    Input in(data, size);
    const int32_t dtype = in.flag(3) ? ATTN4J_DTYPE_BF16 : ATTN4J_DTYPE_F32;
    const int64_t B = 1 + in.byte() % 2, Hkv = 1 + in.byte() % 3, Hq = Hkv * (1 + in.byte() % 3);
    const int64_t Nq = in.byte() % 70, Nk = in.byte() % 90, d = 1 + in.byte() % 80, dv = 1 + in.byte() % 80;
    const int64_t qs[4] = {B, Hq, Nq, d}, ks[4] = {B, Hkv, Nk, d}, vs[4] = {B, Hkv, Nk, dv};
    const int64_t os[4] = {B, Hq, Nq, dv}, ls[4] = {B, Hq, Nq, 1};
    FuzzTensor q = make_tensor(in, qs, dtype), k = make_tensor(in, ks, dtype), v = make_tensor(in, vs, dtype);
    FuzzTensor out = make_tensor(in, os, in.flag(4) ? ATTN4J_DTYPE_BF16 : ATTN4J_DTYPE_F32);
    FuzzTensor lse = make_tensor(in, ls, ATTN4J_DTYPE_F32);
    const bool with_lse = in.flag(2);
    // Aliasing, over memory large enough for the aliasing tensor (a smaller buffer would be the
    // caller's own out-of-bounds bug, invisible to a C ABI).
    if (in.flag(16) && q.buf != nullptr && q.span_bytes >= out.span_bytes) out.t.data = q.t.data;
    if (in.flag(16) && out.buf != nullptr && out.span_bytes >= lse.span_bytes) lse.t.data = out.t.data;

    attn4j_flash_params p;
    init_params(attn4j_flash_params_init, p);
    p.scale = in.flag(4) ? in.float_value() : 0.0f;
    p.softcap = in.flag(4) ? in.float_value() : 0.0f;
    p.causal = in.byte() % 2;
    p.window_left = in.flag(3) ? in.int_value() : -1;
    p.window_right = in.flag(3) ? in.int_value() : -1;
    p.num_threads = in.flag(4) ? in.int_value() : 0;
    const attn4j_flash_params *pp = in.flag(32) ? nullptr : &p;

    bool must_fail = false;
    if (!callable({&q, &k, &v, &out, with_lse ? &lse : nullptr}, must_fail)) return 0;
    if (!must_fail) {
        const double flops = 4.0 * q.t.shape[0] * q.t.shape[1] * q.t.shape[2] * k.t.shape[2] * (static_cast<double>(q.t.shape[3]) + static_cast<double>(v.t.shape[3]));
        if (too_much_work(flops)) return 0;
    }
    // Read last, so the regression inputs written before the size field kept their meaning.
    p.size = params_size<attn4j_flash_params>(in, ATTN4J_FLASH_PARAMS_SIZE_V1);
    // Sequence lengths, after everything else for the same reason.
    LengthArrays lengths;
    lengths.fill(in, p, q.t, k.t);
    const bool via_data = in.flag(2);
    Canary co(out), cl(lse);
    const attn4j_tensor *l = with_lse ? lse.arg() : nullptr;
    const int32_t st = via_data ? attn4j_flash_forward_data(q.t.data, k.t.data, v.t.data, out.t.data, lse.t.data, q.arg(),
                                                            k.arg(), v.arg(), out.arg(), l, pp)
                                : attn4j_flash_forward(q.arg(), k.arg(), v.arg(), out.arg(), l, pp);
    require_size_checked(st, pp, ATTN4J_FLASH_PARAMS_SIZE_V1);
    const char *msg = attn4j_last_error();
    if (st != ATTN4J_STATUS_OK && (msg == nullptr || msg[0] == '\0')) {
        std::fprintf(stderr, "status %d without a message\n", st);
        std::abort();
    }
    if (must_fail && st == ATTN4J_STATUS_OK) {
        std::fprintf(stderr, "an overflowing span was accepted\n");
        std::abort();
    }
    if (st == ATTN4J_STATUS_OK && out.buf != nullptr && out.t.data == out.buf.get() &&
        (!co.untouched_outside_elements() || (with_lse && lse.t.data == lse.buf.get() && !cl.untouched_outside_elements()))) {
        std::fprintf(stderr, "a write outside the output's elements\n");
        std::abort();
    }
    return 0;
}
