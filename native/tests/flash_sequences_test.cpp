// Batches of sequences of different lengths, on every ISA: the padded form == the packed form ==
// each sequence alone, all against the fp64 reference run sequence by sequence; padded query rows
// see all of their sequence's valid keys; nothing outside the packed rows is written; bad lengths
// are refused naming the field, before anything is written.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "attn4j.h"
#include "backends.h"
#include "cuda_test_support.h"
#include "cpu/isa.h"
#include "cpu/reference/flash_reference.h"
#include "fill_problem.h"
#include "test_support.h"

namespace attn4j::test {
namespace {

struct SeqCase {
    std::string name;
    int64_t heads_q, heads_kv, dim, dim_v;
    std::vector<int32_t> q_lens, kv_lens;  // per sequence
    int64_t pad_q, pad_k;                  // extra rows/keys of the padded form past the longest
    bool causal = false, left = false;     // left: padding before the valid rows
    int32_t window_left = -1, window_right = -1;
    float softcap = 0.0f;
    int32_t dtype = ATTN4J_DTYPE_F32;
    bool bnhd = false;

    int64_t batch() const { return static_cast<int64_t>(q_lens.size()); }
    int64_t max_of(const std::vector<int32_t> &v) const {
        int64_t m = 0;
        for (int32_t x : v) m = std::max<int64_t>(m, x);
        return m;
    }
    int64_t nq() const { return max_of(q_lens) + pad_q; }
    int64_t nk() const { return max_of(kv_lens) + pad_k; }
    double tolerance() const { return dtype == ATTN4J_DTYPE_BF16 ? 1e-2 : 1e-5; }
    attn4j_flash_params params() const {
        attn4j_flash_params p;
        attn4j_flash_params_init(&p);
        p.causal = causal ? 1 : 0;
        p.window_left = window_left;
        p.window_right = window_right;
        p.softcap = softcap;
        return p;
    }
};

void PrintTo(const SeqCase &c, std::ostream *os) { *os << c.name; }

std::vector<SeqCase> seq_cases() {
    std::vector<SeqCase> c;
    c.push_back({"mixed_mha", 2, 2, 64, 64, {200, 0, 1, 97, 130}, {200, 0, 1, 97, 130}, 3, 3});
    c.push_back({"mixed_causal_gqa", 4, 2, 64, 64, {150, 33, 1, 96, 200}, {150, 33, 1, 96, 200}, 0, 5, true});
    c.push_back({"chunked_causal_q_lt_k", 4, 1, 32, 32, {7, 1, 40, 0}, {90, 16, 40, 13}, 2, 1, true});
    c.push_back({"window_softcap", 2, 2, 48, 48, {180, 64, 9}, {180, 64, 9}, 1, 1, true, false, 24, -1, 30.0f});
    c.push_back({"left_padding_causal", 2, 1, 64, 64, {120, 5, 77}, {120, 5, 77}, 4, 4, true, true});
    c.push_back({"bf16_bnhd_dv_ne_d", 4, 2, 64, 32, {100, 1, 255}, {100, 1, 255}, 2, 2, true, false, -1, -1, 0.0f,
                 ATTN4J_DTYPE_BF16, true});
    c.push_back({"many_short_one_long", 2, 2, 32, 32, {1, 2, 3, 400, 4, 5, 6, 7}, {1, 2, 3, 400, 4, 5, 6, 7}, 0, 0, true});
    c.push_back({"decode_rows", 8, 2, 64, 64, {1, 1, 4, 16}, {300, 2, 129, 64}, 0, 7, true});
    // Shapes the CUDA kernels take (bf16, d = dv in {64, 128}): parts of several query and key tiles,
    // lengths off every tile size, decode rows (the portable kernel), windows and soft-capping.
    c.push_back({"bf16_tiles_gqa_causal", 4, 2, 128, 128, {300, 1, 129, 0, 257}, {300, 1, 129, 0, 257}, 5, 3, true,
                 false, -1, -1, 0.0f, ATTN4J_DTYPE_BF16});
    c.push_back({"bf16_chunked_left_d64", 2, 1, 64, 64, {65, 3, 200}, {400, 3, 200}, 2, 9, true, true, -1, -1, 0.0f,
                 ATTN4J_DTYPE_BF16});
    c.push_back({"bf16_window_softcap", 2, 2, 128, 128, {260, 70}, {260, 70}, 0, 130, true, false, 100, -1, 20.0f,
                 ATTN4J_DTYPE_BF16});
    c.push_back({"bf16_decode_rows", 8, 2, 128, 128, {1, 1, 4, 16}, {300, 2, 129, 64}, 0, 7, true, false, -1, -1, 0.0f,
                 ATTN4J_DTYPE_BF16});
    return c;
}

// A padded tensor [B, H, n, d] and the dense fp64 expectation of each sequence computed alone.
struct Padded {
    HostTensor q, k, v, out, lse;
    std::vector<int32_t> q_starts, kv_starts;
};

int64_t q_start(const SeqCase &c, int64_t b) { return c.left ? c.nq() - c.q_lens[b] : 0; }
int64_t k_start(const SeqCase &c, int64_t b) { return c.left ? c.nk() - c.kv_lens[b] : 0; }

Padded make_padded(const SeqCase &c, uint64_t seed) {
    std::mt19937_64 rng(seed);
    Padded r;
    r.q = HostTensor(c.dtype, c.batch(), c.heads_q, c.nq(), c.dim, c.bnhd);
    r.k = HostTensor(c.dtype, c.batch(), c.heads_kv, c.nk(), c.dim, c.bnhd);
    r.v = HostTensor(c.dtype, c.batch(), c.heads_kv, c.nk(), c.dim_v, c.bnhd);
    r.out = HostTensor(ATTN4J_DTYPE_F32, c.batch(), c.heads_q, c.nq(), c.dim_v);
    r.lse = HostTensor(ATTN4J_DTYPE_F32, c.batch(), c.heads_q, c.nq(), 1);
    r.q.fill_normal(rng, 1.0f);
    r.k.fill_normal(rng, 1.0f);
    r.v.fill_normal(rng, 1.0f);
    // Padding keys that leak into any row would show: make them huge.
    for (int64_t b = 0; b < c.batch(); ++b)
        for (int64_t h = 0; h < c.heads_kv; ++h)
            for (int64_t j = 0; j < c.nk(); ++j) {
                if (j >= k_start(c, b) && j < k_start(c, b) + c.kv_lens[b]) continue;
                for (int64_t e = 0; e < c.dim; ++e) r.k.set(b, h, j, e, 50.0f);
                for (int64_t e = 0; e < c.dim_v; ++e) r.v.set(b, h, j, e, 1e4f);
            }
    for (int64_t b = 0; b < c.batch(); ++b) {
        r.q_starts.push_back(static_cast<int32_t>(q_start(c, b)));
        r.kv_starts.push_back(static_cast<int32_t>(k_start(c, b)));
    }
    return r;
}

// The fp64 expectation of the padded output: each sequence's valid rows with the call's mask, its
// padded rows unmasked over the valid keys; [B, Hq, Nq, dv] and [B, Hq, Nq].
void expected(const SeqCase &c, const Padded &r, std::vector<double> &out, std::vector<double> &lse) {
    const int64_t B = c.batch(), H = c.heads_q, Nq = c.nq(), dv = c.dim_v;
    out.assign(static_cast<size_t>(B * H * Nq * dv), 0.0);
    lse.assign(static_cast<size_t>(B * H * Nq), 0.0);
    for (int64_t b = 0; b < B; ++b) {
        const int64_t q0 = q_start(c, b), lq = c.q_lens[b];
        HostTensor k = rows_of(r.k, b, k_start(c, b), c.kv_lens[b]), v = rows_of(r.v, b, k_start(c, b), c.kv_lens[b]);
        struct Range { int64_t r0, n; bool masked; };
        const Range ranges[3] = {{q0, lq, true}, {0, q0, false}, {q0 + lq, Nq - q0 - lq, false}};
        for (const Range &g : ranges) {
            if (g.n == 0) continue;
            HostTensor q = rows_of(r.q, b, g.r0, g.n);
            HostTensor o(ATTN4J_DTYPE_F32, 1, H, g.n, dv), l(ATTN4J_DTYPE_F32, 1, H, g.n, 1);
            attn4j_flash_params p = c.params();
            if (!g.masked) p.causal = 0, p.window_left = p.window_right = -1;
            std::vector<double> ro, rl;
            cpu::flash_reference(make_flash_problem(&q.t, &k.t, &v.t, &o.t, &l.t, p), ro, rl);
            for (int64_t h = 0; h < H; ++h)
                for (int64_t i = 0; i < g.n; ++i) {
                    lse[(b * H + h) * Nq + g.r0 + i] = rl[h * g.n + i];
                    for (int64_t e = 0; e < dv; ++e)
                        out[((b * H + h) * Nq + g.r0 + i) * dv + e] = ro[(h * g.n + i) * dv + e];
                }
        }
    }
}

std::string cuda_unsupported(const SeqCase &c) {
    if (c.dtype == ATTN4J_DTYPE_F32) return "CUDA: f32 storage unsupported";
    if (c.dim != c.dim_v || (c.dim != 64 && c.dim != 128 && c.dim != 256)) return "CUDA: head dims (64, 128 or 256, equal)";
    return "";
}

bool same_bytes(const HostTensor &a, const HostTensor &b) { return a.bytes == b.bytes; }

// The same batch on the GPU: padded and packed forms, host and device length arrays. Padding V rows
// hold NaN there (a row that read one would be NaN), outputs f32, poisoned; the forms agree bit for bit.
void run_on_cuda(const SeqCase &c, const Padded &r, const std::vector<double> &want_out, const std::vector<double> &want_lse,
                 const std::vector<int32_t> &cu_q, const std::vector<int32_t> &cu_k, const HostTensor &pq,
                 const HostTensor &pk, const HostTensor &pv) {
    const int64_t B = c.batch(), H = c.heads_q, tq = cu_q.back();
    HostTensor vnan(c.dtype, B, c.heads_kv, c.nk(), c.dim_v, c.bnhd);
    for (int64_t b = 0; b < B; ++b)
        for (int64_t h = 0; h < c.heads_kv; ++h)
            for (int64_t j = 0; j < c.nk(); ++j) {
                const bool valid = j >= k_start(c, b) && j < k_start(c, b) + c.kv_lens[b];
                for (int64_t e = 0; e < c.dim_v; ++e) vnan.set(b, h, j, e, valid ? r.v.get(b, h, j, e) : NAN);
            }
    OnDevice q(r.q), k(r.k), v(vnan);
    HostTensor out(ATTN4J_DTYPE_F32, B, H, c.nq(), c.dim_v), lse(ATTN4J_DTYPE_F32, B, H, c.nq(), 1);
    out.poison();
    lse.poison();
    OnDevice dout(out), dlse(lse);
    const OnDevice d_qlens(c.q_lens), d_kvlens(c.kv_lens), d_qstarts(r.q_starts), d_kvstarts(r.kv_starts);
    HostTensor padded_out(ATTN4J_DTYPE_F32, B, H, c.nq(), c.dim_v), padded_lse(ATTN4J_DTYPE_F32, B, H, c.nq(), 1);
    for (bool device_arrays : {false, true}) {
        SCOPED_TRACE(device_arrays ? "padded, device arrays" : "padded, host arrays");
        attn4j_flash_params p = c.params();
        p.q_lens = device_arrays ? d_qlens.ints() : c.q_lens.data();
        p.kv_lens = device_arrays ? d_kvlens.ints() : c.kv_lens.data();
        if (c.left) {
            p.q_starts = device_arrays ? d_qstarts.ints() : r.q_starts.data();
            p.kv_starts = device_arrays ? d_kvstarts.ints() : r.kv_starts.data();
        }
        if (device_arrays) p.max_seqlen_q = static_cast<int32_t>(c.max_of(c.q_lens));  // the kernel choice of the host form
        ASSERT_EQ(attn4j_cuda_memcpy(dout.ptr, out.bytes.data(), dout.bytes, ATTN4J_COPY_HOST_TO_DEVICE), ATTN4J_STATUS_OK);
        ASSERT_EQ(attn4j_cuda_memcpy(dlse.ptr, lse.bytes.data(), dlse.bytes, ATTN4J_COPY_HOST_TO_DEVICE), ATTN4J_STATUS_OK);
        ASSERT_EQ(attn4j_flash_forward(&q.t, &k.t, &v.t, &dout.t, &dlse.t, &p), ATTN4J_STATUS_OK) << attn4j_last_error();
        HostTensor got(ATTN4J_DTYPE_F32, B, H, c.nq(), c.dim_v), got_lse(ATTN4J_DTYPE_F32, B, H, c.nq(), 1);
        dout.download(got);
        dlse.download(got_lse);
        EXPECT_LE(rel_l2(got, want_out), 1e-2) << "padded form on CUDA";
        ASSERT_TRUE(lse_matches(got_lse, want_lse, 1e-2)) << "padded form on CUDA";
        if (!device_arrays) {
            padded_out = std::move(got);
            padded_lse = std::move(got_lse);
        } else {
            EXPECT_TRUE(same_bytes(got, padded_out)) << "device arrays != host arrays (padded)";
            EXPECT_TRUE(same_bytes(got_lse, padded_lse)) << "device arrays != host arrays (padded lse)";
        }
    }

    OnDevice dq(pq), dk(pk), dv(pv);
    const int64_t gap = 3;
    HostTensor po(ATTN4J_DTYPE_F32, 1, H, tq + gap, c.dim_v), pl(ATTN4J_DTYPE_F32, 1, H, tq + gap, 1);
    po.poison();
    pl.poison();
    const OnDevice d_cuq(cu_q), d_cuk(cu_k);
    HostTensor host_arrays_out(ATTN4J_DTYPE_F32, 1, H, tq + gap, c.dim_v);
    for (bool device_arrays : {false, true}) {
        SCOPED_TRACE(device_arrays ? "packed, device arrays" : "packed, host arrays");
        OnDevice o(po), l(pl);
        o.t.shape[2] = l.t.shape[2] = tq;  // the gap rows lie outside the tensors
        attn4j_flash_params p = c.params();
        p.cu_seqlens_q = device_arrays ? d_cuq.ints() : cu_q.data();
        p.cu_seqlens_k = device_arrays ? d_cuk.ints() : cu_k.data();
        p.num_seqs = static_cast<int32_t>(B);
        if (device_arrays) p.max_seqlen_q = static_cast<int32_t>(std::max<int64_t>(c.max_of(c.q_lens), 1));
        ASSERT_EQ(attn4j_flash_forward(&dq.t, &dk.t, &dv.t, &o.t, &l.t, &p), ATTN4J_STATUS_OK) << attn4j_last_error();
        HostTensor got(ATTN4J_DTYPE_F32, 1, H, tq + gap, c.dim_v), got_lse(ATTN4J_DTYPE_F32, 1, H, tq + gap, 1);
        o.download(got);
        l.download(got_lse);
        for (int64_t b = 0; b < B; ++b)
            for (int64_t h = 0; h < H; ++h)
                for (int64_t i = 0; i < c.q_lens[b]; ++i) {
                    const int64_t row = q_start(c, b) + i;
                    ASSERT_EQ(got_lse.get(0, h, cu_q[b] + i, 0), padded_lse.get(b, h, row, 0)) << "lse, sequence " << b << " row " << i;
                    for (int64_t e = 0; e < c.dim_v; ++e)
                        ASSERT_EQ(got.get(0, h, cu_q[b] + i, e), padded_out.get(b, h, row, e))
                            << "packed != padded, sequence " << b << " row " << i;
                }
        for (int64_t h = 0; h < H; ++h)
            for (int64_t i = tq; i < tq + gap; ++i) {
                ASSERT_TRUE(std::isnan(got_lse.get(0, h, i, 0))) << "lse written outside the packed rows";
                for (int64_t e = 0; e < c.dim_v; ++e) ASSERT_TRUE(std::isnan(got.get(0, h, i, e))) << "written outside";
            }
        if (!device_arrays) host_arrays_out = std::move(got);
        else EXPECT_TRUE(same_bytes(got, host_arrays_out)) << "device arrays != host arrays (packed)";
    }

    // What the host can check of device arrays is refused naming the field, before anything is written.
    OnDevice o(po);
    o.t.shape[2] = tq;
    auto refused = [&](attn4j_flash_params p, int32_t status, const std::string &needle) {
        p.num_seqs = static_cast<int32_t>(B);
        EXPECT_EQ(attn4j_flash_forward(&dq.t, &dk.t, &dv.t, &o.t, nullptr, &p), status);
        EXPECT_NE(std::string(attn4j_last_error()).find(needle), std::string::npos) << attn4j_last_error();
    };
    attn4j_flash_params no_max = c.params();
    no_max.cu_seqlens_q = d_cuq.ints();
    no_max.cu_seqlens_k = d_cuk.ints();
    refused(no_max, ATTN4J_STATUS_INVALID_PARAM, "params.max_seqlen_q = 0 with device arrays");
    attn4j_flash_params mixed = no_max;
    mixed.cu_seqlens_k = cu_k.data();
    mixed.max_seqlen_q = 1;
    refused(mixed, ATTN4J_STATUS_INVALID_DEVICE, "params.cu_seqlens_k is host memory but params.cu_seqlens_q is device memory");
    HostTensor untouched(ATTN4J_DTYPE_F32, 1, H, tq + gap, c.dim_v);
    o.download(untouched);
    EXPECT_TRUE(same_bytes(untouched, po)) << "a refused call wrote its output";
}

class FlashSequences : public ::testing::TestWithParam<SeqCase> {};

TEST_P(FlashSequences, PaddedEqualsPackedEqualsAloneEqualsReference) {
    const SeqCase &c = GetParam();
    SCOPED_TRACE("seed " + std::to_string(run_seed()) + " (set ATTN4J_SEED to repeat), case " + c.name);
    Padded r = make_padded(c, run_seed() ^ std::hash<std::string>{}(c.name));
    std::vector<double> want_out, want_lse;
    expected(c, r, want_out, want_lse);

    // The packed form: every sequence's valid rows back to back, out with a poisoned gap after each head.
    const int64_t B = c.batch(), H = c.heads_q;
    std::vector<int32_t> cu_q{0}, cu_k{0};
    for (int64_t b = 0; b < B; ++b) {
        cu_q.push_back(cu_q.back() + c.q_lens[b]);
        cu_k.push_back(cu_k.back() + c.kv_lens[b]);
    }
    const int64_t tq = cu_q.back(), tk = cu_k.back(), gap = 3;
    HostTensor pq(c.dtype, 1, H, tq, c.dim), pk(c.dtype, 1, c.heads_kv, tk, c.dim), pv(c.dtype, 1, c.heads_kv, tk, c.dim_v);
    for (int64_t b = 0; b < B; ++b) {
        for (int64_t h = 0; h < H; ++h)
            for (int64_t i = 0; i < c.q_lens[b]; ++i)
                for (int64_t e = 0; e < c.dim; ++e) pq.set(0, h, cu_q[b] + i, e, r.q.get(b, h, q_start(c, b) + i, e));
        for (int64_t h = 0; h < c.heads_kv; ++h)
            for (int64_t j = 0; j < c.kv_lens[b]; ++j) {
                for (int64_t e = 0; e < c.dim; ++e) pk.set(0, h, cu_k[b] + j, e, r.k.get(b, h, k_start(c, b) + j, e));
                for (int64_t e = 0; e < c.dim_v; ++e) pv.set(0, h, cu_k[b] + j, e, r.v.get(b, h, k_start(c, b) + j, e));
            }
    }
    HostTensor po(ATTN4J_DTYPE_F32, 1, H, tq + gap, c.dim_v), pl(ATTN4J_DTYPE_F32, 1, H, tq + gap, 1);
    po.t.shape[2] = pl.t.shape[2] = tq;  // rows tq .. tq + gap - 1 of each head are outside the tensor

    const int32_t saved = attn4j_cpu_isa();
    for (int32_t isa = ATTN4J_ISA_SCALAR; isa <= attn4j_cpu_isa_best(); ++isa) {
        SCOPED_TRACE(std::string("isa ") + attn4j_isa_name(isa));
        ASSERT_EQ(attn4j_set_cpu_isa(isa), ATTN4J_STATUS_OK);
        attn4j_flash_params p = c.params();
        p.q_lens = c.q_lens.data();
        p.kv_lens = c.kv_lens.data();
        if (c.left) p.q_starts = r.q_starts.data(), p.kv_starts = r.kv_starts.data();
        r.out.poison();
        r.lse.poison();
        ASSERT_EQ(attn4j_flash_forward(&r.q.t, &r.k.t, &r.v.t, &r.out.t, &r.lse.t, &p), ATTN4J_STATUS_OK)
            << attn4j_last_error();
        EXPECT_LE(rel_l2(r.out, want_out), c.tolerance()) << "padded form";
        ASSERT_TRUE(lse_matches(r.lse, want_lse, 1e-4)) << "padded form";

        attn4j_flash_params pp = c.params();
        pp.cu_seqlens_q = cu_q.data();
        pp.cu_seqlens_k = cu_k.data();
        pp.num_seqs = static_cast<int32_t>(B);
        for (HostTensor *t : {&po, &pl})  // every byte, the gaps outside the shape included
            for (size_t x = 0; x < t->bytes.size() / 4; ++x) reinterpret_cast<float *>(t->bytes.data())[x] = NAN;
        ASSERT_EQ(attn4j_flash_forward(&pq.t, &pk.t, &pv.t, &po.t, &pl.t, &pp), ATTN4J_STATUS_OK) << attn4j_last_error();
        for (int64_t b = 0; b < B; ++b)
            for (int64_t h = 0; h < H; ++h)
                for (int64_t i = 0; i < c.q_lens[b]; ++i) {
                    const int64_t row = q_start(c, b) + i;
                    ASSERT_EQ(pl.get(0, h, cu_q[b] + i, 0), r.lse.get(b, h, row, 0)) << "lse, sequence " << b << " row " << i;
                    for (int64_t e = 0; e < c.dim_v; ++e)
                        ASSERT_EQ(po.get(0, h, cu_q[b] + i, e), r.out.get(b, h, row, e))
                            << "packed != padded, sequence " << b << " row " << i;
                }
        for (int64_t h = 0; h < H; ++h)
            for (int64_t i = tq; i < tq + gap; ++i) {
                ASSERT_TRUE(std::isnan(pl.get(0, h, i, 0))) << "lse written outside the packed rows";
                for (int64_t e = 0; e < c.dim_v; ++e) ASSERT_TRUE(std::isnan(po.get(0, h, i, e))) << "written outside";
            }

        // Each sequence alone, through the ordinary entry point.
        for (int64_t b = 0; b < B; ++b) {
            if (c.q_lens[b] == 0) continue;
            HostTensor q = rows_of(r.q, b, q_start(c, b), c.q_lens[b]);
            HostTensor k = rows_of(r.k, b, k_start(c, b), c.kv_lens[b]), v = rows_of(r.v, b, k_start(c, b), c.kv_lens[b]);
            HostTensor o(ATTN4J_DTYPE_F32, 1, H, c.q_lens[b], c.dim_v);
            o.poison();
            const attn4j_flash_params alone = c.params();
            ASSERT_EQ(attn4j_flash_forward(&q.t, &k.t, &v.t, &o.t, nullptr, &alone), ATTN4J_STATUS_OK);
            double num = 0, den = 0;
            for (int64_t h = 0; h < H; ++h)
                for (int64_t i = 0; i < c.q_lens[b]; ++i)
                    for (int64_t e = 0; e < c.dim_v; ++e) {
                        const double a = o.get(0, h, i, e), x = r.out.get(b, h, q_start(c, b) + i, e);
                        num += (a - x) * (a - x);
                        den += a * a;
                    }
            EXPECT_LE(std::sqrt(num / std::max(den, 1e-30)), c.tolerance()) << "alone != padded, sequence " << b;
        }
    }
    attn4j_set_cpu_isa(saved);

    const Backend &gpu = backends().back();
    const std::string why = skip_reason("sequences", gpu, cuda_unsupported(c));
    if (why.empty()) {
        SCOPED_TRACE("cuda:0");
        run_on_cuda(c, r, want_out, want_lse, cu_q, cu_k, pq, pk, pv);
    }
}

INSTANTIATE_TEST_SUITE_P(Cases, FlashSequences, ::testing::ValuesIn(seq_cases()),
                         [](const ::testing::TestParamInfo<SeqCase> &info) { return info.param.name; });

// Bad lengths: refused with the field named, nothing written.
struct BadLengths {
    HostTensor q{ATTN4J_DTYPE_F32, 2, 2, 16, 8}, k{ATTN4J_DTYPE_F32, 2, 2, 16, 8}, v{ATTN4J_DTYPE_F32, 2, 2, 16, 8};
    HostTensor out{ATTN4J_DTYPE_F32, 2, 2, 16, 8};
    attn4j_flash_params p;
    BadLengths() {
        attn4j_flash_params_init(&p);
        out.poison();
    }
    void expect(int32_t status, const std::string &needle) {
        EXPECT_EQ(attn4j_flash_forward(&q.t, &k.t, &v.t, &out.t, nullptr, &p), status);
        EXPECT_NE(std::string(attn4j_last_error()).find(needle), std::string::npos) << attn4j_last_error();
        for (int64_t e = 0; e < 8; ++e) EXPECT_TRUE(std::isnan(out.get(0, 0, 0, e)));
    }
};

TEST(FlashSequenceErrors, PaddedLengthsOutOfRange) {
    const int32_t negative[2] = {3, -1}, too_long[2] = {17, 2}, starts[2] = {0, 10}, lens[2] = {4, 7};
    BadLengths a;
    a.p.kv_lens = negative;
    a.expect(ATTN4J_STATUS_INVALID_PARAM, "params.kv_lens[1] = -1");
    BadLengths b;
    b.p.q_lens = too_long;
    b.expect(ATTN4J_STATUS_INVALID_PARAM, "params.q_lens[0] = 17 exceeds 16");
    BadLengths c;
    c.p.q_lens = lens;
    c.p.q_starts = starts;
    c.expect(ATTN4J_STATUS_INVALID_PARAM, "params.q_starts[1] + q_lens[1] = 17 exceeds 16");
    const int32_t past_end[2] = {0, 20};  // no lengths given: a start past the end would leave a negative length
    BadLengths e;
    e.p.q_starts = past_end;
    e.expect(ATTN4J_STATUS_INVALID_PARAM, "params.q_starts[1] = 20 exceeds 16");
    BadLengths d;
    d.p.kv_lens = lens;
    d.p.max_seqlen_k = 5;
    d.expect(ATTN4J_STATUS_INVALID_PARAM, "params.max_seqlen_k = 5 is less than the longest sequence (7)");
}

TEST(FlashSequenceErrors, PackedPrefixSums) {
    const int32_t rising[3] = {0, 9, 5}, short_end[3] = {0, 4, 15}, late_start[3] = {1, 4, 16}, good[3] = {0, 4, 16};
    BadLengths a;
    a.p.num_seqs = 2;
    a.p.cu_seqlens_q = good;
    a.p.cu_seqlens_k = good;
    a.expect(ATTN4J_STATUS_INVALID_SHAPE, "q.shape[0] = 2: the packed form");
    auto packed = [&](const int32_t *cq, const int32_t *ck) {
        BadLengths t;
        t.q.t.shape[0] = t.k.t.shape[0] = t.v.t.shape[0] = t.out.t.shape[0] = 1;
        t.p.num_seqs = 2;
        t.p.cu_seqlens_q = cq;
        t.p.cu_seqlens_k = ck;
        return t;
    };
    packed(rising, good).expect(ATTN4J_STATUS_INVALID_PARAM, "params.cu_seqlens_q[2] = 5 is less than params.cu_seqlens_q[1] = 9");
    packed(good, short_end).expect(ATTN4J_STATUS_INVALID_PARAM, "params.cu_seqlens_k[2] = 15 must equal 16");
    packed(late_start, good).expect(ATTN4J_STATUS_INVALID_PARAM, "params.cu_seqlens_q[0] = 1 must be 0");
    packed(good, nullptr).expect(ATTN4J_STATUS_NULL_ARGUMENT, "params.cu_seqlens_k is NULL");
    BadLengths both = packed(good, good);
    both.p.kv_lens = good;
    both.expect(ATTN4J_STATUS_INVALID_PARAM, "use one form");
    BadLengths orphan;
    orphan.p.cu_seqlens_q = good;
    orphan.expect(ATTN4J_STATUS_INVALID_PARAM, "params.cu_seqlens_q is set but params.num_seqs = 0");
    BadLengths negative;
    negative.p.num_seqs = -2;
    negative.expect(ATTN4J_STATUS_INVALID_PARAM, "params.num_seqs = -2");
}

}  // namespace
}  // namespace attn4j::test
