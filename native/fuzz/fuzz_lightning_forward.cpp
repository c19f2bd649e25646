// libFuzzer harness for attn4j_lightning_forward (and _data) / attn4j_lightning_decode / attn4j_lightning_slopes /
// attn4j_lightning_params_init:
// fuzzed tensors (as in fuzz_flash_forward.cpp), states that alias, and params (size, slopes, block, threads).
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <vector>

#include "fuzz_input.h"

using namespace attn4j::fuzz;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    Input in(data, size);
    const int32_t dtype = in.flag(3) ? ATTN4J_DTYPE_BF16 : ATTN4J_DTYPE_F32;
    const int64_t B = 1 + in.byte() % 2, Hkv = 1 + in.byte() % 3, Hq = Hkv * (1 + in.byte() % 3);
    const int64_t N = in.byte() % 120, d = 1 + in.byte() % 70, dv = 1 + in.byte() % 70;
    const int64_t qs[4] = {B, Hq, N, d}, ks[4] = {B, Hkv, N, d}, vs[4] = {B, Hkv, N, dv};
    const int64_t os[4] = {B, Hq, N, dv}, ss[4] = {B, Hq, d, dv};
    FuzzTensor q = make_tensor(in, qs, dtype), k = make_tensor(in, ks, dtype), v = make_tensor(in, vs, dtype);
    FuzzTensor out = make_tensor(in, os, in.flag(4) ? ATTN4J_DTYPE_BF16 : ATTN4J_DTYPE_F32);
    FuzzTensor s_in = make_tensor(in, ss, ATTN4J_DTYPE_F32), s_out = make_tensor(in, ss, ATTN4J_DTYPE_F32);
    const int mode = in.byte() % 4;  // 0: no states, 1: in only, 2: in and out, 3: decode (in place)
    // The same state in and out, or an output over a state's memory (when that memory is large enough).
    if (in.flag(8) && s_in.buf != nullptr) {
        s_out.t = s_in.t;
        s_out.span_bytes = s_in.span_bytes;
    }
    if (in.flag(16) && s_in.buf != nullptr && s_in.span_bytes >= out.span_bytes) out.t.data = s_in.t.data;

    std::vector<float> slopes(static_cast<size_t>(1 + in.byte() % 10));
    for (float &x : slopes) x = in.flag(6) ? in.float_value() : static_cast<float>(in.byte()) / 64.0f;
    attn4j_lightning_params p;
    init_params(attn4j_lightning_params_init, p);
    p.slopes = in.flag(3) ? nullptr : slopes.data();
    p.num_slopes = in.flag(4) ? in.int_value() : (p.slopes != nullptr ? static_cast<int32_t>(Hq) : 0);
    if (p.slopes != nullptr && p.num_slopes > static_cast<int32_t>(slopes.size())) p.num_slopes = static_cast<int32_t>(slopes.size());
    p.block_size = in.flag(3) ? in.int_value() : 0;
    p.num_threads = in.flag(4) ? in.int_value() : 0;
    const attn4j_lightning_params *pp = in.flag(32) ? nullptr : &p;

    float slope_out[16];
    const int32_t heads = in.int_value() % 17, layers = in.int_value(), layer = in.int_value();
    if (attn4j_lightning_slopes(heads, layer, layers, in.flag(8) ? nullptr : slope_out) != ATTN4J_STATUS_OK &&
        attn4j_last_error()[0] == '\0')
        std::abort();

    bool must_fail = false;
    if (!callable({&q, &k, &v, &out, mode >= 1 ? &s_in : nullptr, mode == 2 ? &s_out : nullptr}, must_fail)) return 0;
    if (!must_fail) {
        const double flops = 2.0 * q.t.shape[0] * q.t.shape[1] * q.t.shape[2] * (256.0 * (static_cast<double>(q.t.shape[3]) + static_cast<double>(v.t.shape[3])) + 4.0 * q.t.shape[3] * v.t.shape[3]);
        if (too_much_work(flops)) return 0;
    }
    // Read last, so the regression inputs written before the size field kept their meaning.
    p.size = params_size<attn4j_lightning_params>(in, ATTN4J_LIGHTNING_PARAMS_SIZE_V1);
    // Packed sequences, read last: an exactly-sized prefix-sum array (a read past num_seqs + 1 entries is
    // an ASan report), mostly well formed.
    std::unique_ptr<int32_t[]> cu;
    if (in.flag(3)) {
        const int64_t n = 1 + in.byte() % 4;
        cu.reset(new int32_t[n + 1]);
        for (int64_t x = 0; x <= n; ++x)
            cu[x] = x == 0 ? 0 : x == n && !in.flag(8) ? static_cast<int32_t>(N) : cu[x - 1] + in.byte() % (N + 2);
        p.cu_seqlens = in.flag(16) ? nullptr : cu.get();
        p.num_seqs = in.flag(16) ? in.int_value() % 8 : static_cast<int32_t>(n);
        if (p.num_seqs > n) p.num_seqs = static_cast<int32_t>(n);
    }
    const bool via_data = in.flag(2);
    Canary co(out);
    int32_t st;
    const attn4j_tensor *si = mode >= 1 ? s_in.arg() : nullptr, *so = mode == 2 ? s_out.arg() : nullptr;
    if (mode == 3) {
        st = attn4j_lightning_decode(q.arg(), k.arg(), v.arg(), out.arg(), s_in.arg(), pp);
    } else if (via_data) {
        st = attn4j_lightning_forward_data(q.t.data, k.t.data, v.t.data, out.t.data, s_in.t.data, s_out.t.data, q.arg(),
                                           k.arg(), v.arg(), out.arg(), si, so, pp);
    } else {
        st = attn4j_lightning_forward(q.arg(), k.arg(), v.arg(), out.arg(), si, so, pp);
    }
    require_size_checked(st, pp, ATTN4J_LIGHTNING_PARAMS_SIZE_V1);
    if (st != ATTN4J_STATUS_OK && attn4j_last_error()[0] == '\0') {
        std::fprintf(stderr, "status %d without a message\n", st);
        std::abort();
    }
    if (must_fail && st == ATTN4J_STATUS_OK) {
        std::fprintf(stderr, "an overflowing span was accepted\n");
        std::abort();
    }
    if (st == ATTN4J_STATUS_OK && out.buf != nullptr && out.t.data == out.buf.get() && !co.untouched_outside_elements()) {
        std::fprintf(stderr, "a write outside the output's elements\n");
        std::abort();
    }
    return 0;
}
