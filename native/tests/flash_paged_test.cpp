// FlashAttention over a paged KV cache, on every backend: paged == the contiguous padded form == the
// fp64 reference of each sequence alone (pages shuffled in a pool poisoned with NaN, so a key read
// from a wrong slot shows; lengths off every page size; GQA, windows, soft-capping, LSE); appending
// rows chunk by chunk and decoding token by token == one prefill over the whole sequences; bad tables
// and lengths are refused naming the field, with the cache and the outputs unchanged.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "attn4j.h"
#include "backends.h"
#include "cpu/reference/flash_reference.h"
#include "cuda_test_support.h"
#include "fill_problem.h"
#include "test_support.h"

namespace attn4j::test {
namespace {

struct PagedCase {
    std::string name;
    int64_t heads_q, heads_kv, dim;
    std::vector<int32_t> kv_lens;  // cached keys per sequence
    int64_t nq;                    // query rows per sequence: its newest tokens
    std::vector<int32_t> q_lens;   // valid query rows per sequence; empty: all nq
    int64_t page_size;
    bool causal = true;
    int32_t window_left = -1;
    float softcap = 0.0f;
    int32_t dtype = ATTN4J_DTYPE_F32;
    bool bnhd = false;  // pools [pages, page_size, Hkv, d] (tokens of a page interleaved by head)

    int64_t batch() const { return static_cast<int64_t>(kv_lens.size()); }
    int64_t q_len(int64_t b) const { return q_lens.empty() ? nq : q_lens[b]; }
    int64_t pages_of(int64_t b) const { return (kv_lens[b] + page_size - 1) / page_size; }
    int64_t max_keys() const { return *std::max_element(kv_lens.begin(), kv_lens.end()); }
    double tolerance() const { return dtype == ATTN4J_DTYPE_BF16 ? 1e-2 : 1e-5; }
    attn4j_flash_params params() const {
        attn4j_flash_params p;
        attn4j_flash_params_init(&p);
        p.causal = causal ? 1 : 0;
        p.window_left = window_left;
        p.softcap = softcap;
        return p;
    }
};

std::vector<PagedCase> paged_cases() {
    std::vector<PagedCase> c;
    c.push_back({"decode_gqa_p16", 8, 2, 64, {300, 1, 129, 64, 0}, 1, {}, 16});
    c.push_back({"decode_bf16_bnhd_p64", 8, 2, 128, {1000, 77, 256}, 1, {}, 64, true, -1, 0.0f, ATTN4J_DTYPE_BF16, true});
    c.push_back({"chunked_prefill_p256", 4, 1, 64, {400, 300, 16}, 16, {16, 5, 16}, 256});
    c.push_back({"window_softcap_bf16_p32", 4, 2, 64, {200, 90}, 4, {}, 32, true, 50, 30.0f, ATTN4J_DTYPE_BF16});
    c.push_back({"spec_decode_bf16_d128_p16", 32, 8, 128, {2100, 513, 4096, 1}, 4, {}, 16, true, -1, 0.0f,
                 ATTN4J_DTYPE_BF16});
    c.push_back({"decode_many_bf16_p64", 16, 2, 64, {1500, 3, 700, 64, 65, 1, 999, 1200, 5, 333, 1024, 17, 800, 2, 640, 128},
                 1, {}, 64, true, -1, 0.0f, ATTN4J_DTYPE_BF16});
    c.push_back({"noncausal_f32_p128_d32", 4, 4, 32, {130, 257}, 3, {3, 1}, 128, false});
    return c;
}

std::string cuda_unsupported(const PagedCase &c) {
    if (c.dtype == ATTN4J_DTYPE_F32) return "CUDA: f32 storage unsupported";
    if (c.dim != 64 && c.dim != 128 && c.dim != 256) return "CUDA: head dims 64, 128 or 256";
    return "";
}

// A batch's keys twice: contiguous [B, Hkv, max keys, d] (padding NaN) and in a shuffled page pool
// [num_pages, Hkv, page_size, d] (unused slots NaN) with its table (unused entries -1).
struct Cache {
    HostTensor q, k, v, k_pool, v_pool;
    std::vector<int32_t> table;
    int32_t max_pages = 0;
};

Cache make_cache(const PagedCase &c, uint64_t seed) {
    std::mt19937_64 rng(seed);
    const int64_t B = c.batch(), nk = std::max<int64_t>(c.max_keys(), 1);
    Cache r;
    r.q = HostTensor(c.dtype, B, c.heads_q, c.nq, c.dim);
    r.k = HostTensor(c.dtype, B, c.heads_kv, nk, c.dim);
    r.v = HostTensor(c.dtype, B, c.heads_kv, nk, c.dim);
    r.q.fill_normal(rng, 1.0f);
    r.k.fill_normal(rng, 1.0f);
    r.v.fill_normal(rng, 1.0f);
    int64_t used = 0;
    for (int64_t b = 0; b < B; ++b) {
        used += c.pages_of(b);
        r.max_pages = std::max<int32_t>(r.max_pages, static_cast<int32_t>(c.pages_of(b) + 1));
    }
    const int64_t num_pages = used + 3;
    r.k_pool = HostTensor(c.dtype, num_pages, c.heads_kv, c.page_size, c.dim, c.bnhd);
    r.v_pool = HostTensor(c.dtype, num_pages, c.heads_kv, c.page_size, c.dim, c.bnhd);
    r.k_pool.poison();
    r.v_pool.poison();
    std::vector<int32_t> order(static_cast<size_t>(num_pages));
    std::iota(order.begin(), order.end(), 0);
    std::shuffle(order.begin(), order.end(), rng);
    r.table.assign(static_cast<size_t>(B * r.max_pages), -1);
    int64_t next = 0;
    for (int64_t b = 0; b < B; ++b)
        for (int64_t i = 0; i < c.pages_of(b); ++i) r.table[b * r.max_pages + i] = order[next++];
    for (int64_t b = 0; b < B; ++b)
        for (int64_t h = 0; h < c.heads_kv; ++h)
            for (int64_t j = 0; j < nk; ++j) {
                const bool valid = j < c.kv_lens[b];
                const int64_t page = valid ? r.table[b * r.max_pages + j / c.page_size] : 0, row = j % c.page_size;
                for (int64_t e = 0; e < c.dim; ++e) {
                    if (!valid) {
                        r.k.set(b, h, j, e, NAN);
                        r.v.set(b, h, j, e, NAN);
                        continue;
                    }
                    r.k_pool.set(page, h, row, e, r.k.get(b, h, j, e));
                    r.v_pool.set(page, h, row, e, r.v.get(b, h, j, e));
                }
            }
    return r;
}

// The fp64 expectation: each sequence's valid rows with the call's masks, its padded rows unmasked.
void expected(const PagedCase &c, const Cache &r, std::vector<double> &out, std::vector<double> &lse) {
    const int64_t B = c.batch(), H = c.heads_q, Nq = c.nq, d = c.dim;
    out.assign(static_cast<size_t>(B * H * Nq * d), 0.0);
    lse.assign(static_cast<size_t>(B * H * Nq), 0.0);
    for (int64_t b = 0; b < B; ++b) {
        HostTensor k = rows_of(r.k, b, 0, c.kv_lens[b]), v = rows_of(r.v, b, 0, c.kv_lens[b]);
        const int64_t lq = c.q_len(b);
        for (const bool masked : {true, false}) {
            const int64_t r0 = masked ? 0 : lq, n = masked ? lq : Nq - lq;
            if (n == 0) continue;
            HostTensor q = rows_of(r.q, b, r0, n);
            HostTensor o(ATTN4J_DTYPE_F32, 1, H, n, d), l(ATTN4J_DTYPE_F32, 1, H, n, 1);
            attn4j_flash_params p = c.params();
            if (!masked) p.causal = 0, p.window_left = -1;
            std::vector<double> ro, rl;
            cpu::flash_reference(make_flash_problem(&q.t, &k.t, &v.t, &o.t, &l.t, p), ro, rl);
            for (int64_t h = 0; h < H; ++h)
                for (int64_t i = 0; i < n; ++i) {
                    lse[(b * H + h) * Nq + r0 + i] = rl[h * n + i];
                    for (int64_t e = 0; e < d; ++e) out[((b * H + h) * Nq + r0 + i) * d + e] = ro[(h * n + i) * d + e];
                }
        }
    }
}

class FlashPaged : public ::testing::TestWithParam<OnBackend<PagedCase>> {};

TEST_P(FlashPaged, PagedEqualsContiguousEqualsReference) {
    const PagedCase &c = GetParam().c;
    const Backend &backend = GetParam().backend;
    ATTN4J_SKIP_UNLESS_RUNS("paged", backend, backend.cuda() ? cuda_unsupported(c) : "");
    SCOPED_TRACE("seed " + std::to_string(run_seed()) + " (set ATTN4J_SEED to repeat), case " + c.name);
    const Cache r = make_cache(c, run_seed() ^ std::hash<std::string>{}(c.name));
    std::vector<double> want_out, want_lse;
    expected(c, r, want_out, want_lse);
    const int64_t B = c.batch(), H = c.heads_q;
    attn4j_flash_params paged = c.params();
    paged.kv_lens = c.kv_lens.data();
    paged.q_lens = c.q_lens.empty() ? nullptr : c.q_lens.data();
    paged.block_table = r.table.data();
    paged.max_pages = r.max_pages;
    attn4j_flash_params contiguous = paged;
    contiguous.block_table = nullptr;
    contiguous.max_pages = 0;
    HostTensor out(ATTN4J_DTYPE_F32, B, H, c.nq, c.dim), lse(ATTN4J_DTYPE_F32, B, H, c.nq, 1);
    HostTensor flat_out(ATTN4J_DTYPE_F32, B, H, c.nq, c.dim), flat_lse(ATTN4J_DTYPE_F32, B, H, c.nq, 1);
    // Pages that hold whole key tiles walk the keys as the contiguous form does: the same bits.
    bool same_tiles = c.page_size % 64 == 0;

    if (!backend.cuda()) {
        UseIsa isa(backend);
        out.poison();
        lse.poison();
        ASSERT_EQ(attn4j_flash_forward(&r.q.t, &r.k_pool.t, &r.v_pool.t, &out.t, &lse.t, &paged), ATTN4J_STATUS_OK)
            << attn4j_last_error();
        flat_out.poison();
        flat_lse.poison();
        ASSERT_EQ(attn4j_flash_forward(&r.q.t, &r.k.t, &r.v.t, &flat_out.t, &flat_lse.t, &contiguous), ATTN4J_STATUS_OK)
            << attn4j_last_error();
    } else {
        same_tiles = true;  // CUDA tiles are 64 keys whatever the pages
        OnDevice q(r.q), k(r.k), v(r.v), kp(r.k_pool), vp(r.v_pool);
        out.poison();
        lse.poison();
        OnDevice dout(out), dlse(lse);
        ASSERT_EQ(attn4j_flash_forward(&q.t, &k.t, &v.t, &dout.t, &dlse.t, &contiguous), ATTN4J_STATUS_OK)
            << attn4j_last_error();
        dout.download(flat_out);
        dlse.download(flat_lse);
        const OnDevice d_table(r.table), d_kv(c.kv_lens), d_q(c.q_lens.empty() ? std::vector<int32_t>{0} : c.q_lens);
        for (bool device_arrays : {true, false}) {
            SCOPED_TRACE(device_arrays ? "device arrays" : "host arrays");
            attn4j_flash_params p = paged;
            if (device_arrays) {
                p.block_table = d_table.ints();
                p.kv_lens = d_kv.ints();
                if (!c.q_lens.empty()) p.q_lens = d_q.ints();
                p.max_seqlen_k = static_cast<int32_t>(c.max_keys());
            }
            OnDevice o(out), l(lse);  // poisoned
            ASSERT_EQ(attn4j_flash_forward(&q.t, &kp.t, &vp.t, &o.t, &l.t, &p), ATTN4J_STATUS_OK) << attn4j_last_error();
            HostTensor got(ATTN4J_DTYPE_F32, B, H, c.nq, c.dim), got_lse(ATTN4J_DTYPE_F32, B, H, c.nq, 1);
            o.download(got);
            l.download(got_lse);
            EXPECT_EQ(got.bytes, flat_out.bytes) << "paged != contiguous on CUDA";
            EXPECT_EQ(got_lse.bytes, flat_lse.bytes) << "paged != contiguous on CUDA (lse)";
            if (!device_arrays) {
                out = std::move(got);
                lse = std::move(got_lse);
            }
        }
    }
    EXPECT_LE(rel_l2(out, want_out), c.tolerance()) << "paged";
    EXPECT_TRUE(lse_matches(lse, want_lse, backend.cuda() ? 1e-2 : 1e-4)) << "paged";
    EXPECT_LE(rel_l2(flat_out, want_out), c.tolerance()) << "contiguous";
    if (same_tiles) {
        EXPECT_EQ(out.bytes, flat_out.bytes) << "paged != contiguous";
        EXPECT_EQ(lse.bytes, flat_lse.bytes) << "paged != contiguous (lse)";
    }
}

INSTANTIATE_TEST_SUITE_P(Cases, FlashPaged, ::testing::ValuesIn(on_every_backend(paged_cases())),
                         pair_name<PagedCase>);

// A pool on the backend (host memory, or the first CUDA device) with the calls that fill and read it.
struct Pool {
    bool gpu;
    HostTensor k, v;  // host pools (the device pools' contents after download)
    std::unique_ptr<OnDevice> dk, dv;
    Pool(bool on_gpu, int32_t dtype, int64_t pages, int64_t heads, int64_t size, int64_t d)
        : gpu(on_gpu), k(dtype, pages, heads, size, d), v(dtype, pages, heads, size, d) {
        k.poison();
        v.poison();
        if (gpu) dk = std::make_unique<OnDevice>(k), dv = std::make_unique<OnDevice>(v);
    }
    const attn4j_tensor *kt() const { return gpu ? &dk->t : &k.t; }
    const attn4j_tensor *vt() const { return gpu ? &dv->t : &v.t; }
};

// Runs f(q, k, v, out) with the host tensors copied to the GPU when gpu (out copied back after).
template <class F>
int32_t on_backend(bool gpu, const HostTensor &q, const HostTensor &k, const HostTensor &v, HostTensor &out, F &&f) {
    if (!gpu) return f(&q.t, &k.t, &v.t, &out.t);
    OnDevice dq(q), dk(k), dv(v), dout(out);
    const int32_t st = f(&dq.t, &dk.t, &dv.t, &dout.t);
    if (st == ATTN4J_STATUS_OK) dout.download(out);
    return st;
}

// Sequences grown as a server grows them: a prefill chunk appended and attended, then one token per
// step, each appended to its pages and decoded; every step's rows == the same rows of one causal
// prefill over the whole sequences (the contiguous padded form).
class KvCacheAppend : public ::testing::TestWithParam<Backend> {};

TEST_P(KvCacheAppend, AppendThenDecodeEqualsOnePrefill) {
    const Backend &backend = GetParam();
    const int32_t dtype = backend.cuda() ? ATTN4J_DTYPE_BF16 : ATTN4J_DTYPE_F32;
    ATTN4J_SKIP_UNLESS_RUNS("paged", backend, "");
    SCOPED_TRACE("seed " + std::to_string(run_seed()) + " (set ATTN4J_SEED to repeat)");
    UseIsa isa(backend.cuda() ? backends().front() : backend);
    std::mt19937_64 rng(run_seed() ^ 0x9a9edu);
    const int64_t Hq = 4, Hkv = 2, d = 64, size = 16;
    const std::vector<int32_t> lens{150, 37, 90}, chunk{100, 37, 1};
    const int64_t B = 3, T = 150;
    HostTensor q(dtype, B, Hq, T, d), k(dtype, B, Hkv, T, d), v(dtype, B, Hkv, T, d);
    q.fill_normal(rng, 1.0f);
    k.fill_normal(rng, 1.0f);
    v.fill_normal(rng, 1.0f);
    attn4j_flash_params whole;
    attn4j_flash_params_init(&whole);
    whole.causal = 1;
    whole.q_lens = lens.data();
    whole.kv_lens = lens.data();
    HostTensor want(ATTN4J_DTYPE_F32, B, Hq, T, d);
    want.poison();
    ASSERT_EQ(on_backend(backend.cuda(), q, k, v, want,
                         [&](auto *a, auto *b, auto *c, auto *o) { return attn4j_flash_forward(a, b, c, o, nullptr, &whole); }),
              ATTN4J_STATUS_OK)
        << attn4j_last_error();

    const int32_t max_pages = 12, num_pages = 30;  // 10 + 3 + 6 pages used, the rest spare
    Pool pool(backend.cuda(), dtype, num_pages, Hkv, size, d);
    std::vector<int32_t> order(num_pages);
    std::iota(order.begin(), order.end(), 0);
    std::shuffle(order.begin(), order.end(), rng);
    std::vector<int32_t> table(B * max_pages, -1);
    for (int64_t b = 0, next = 0; b < B; ++b)
        for (int64_t i = 0; i * size < lens[b]; ++i) table[b * max_pages + i] = order[next++];
    std::vector<int32_t> cached(B, 0);
    for (int step = 0;; ++step) {
        std::vector<int32_t> fresh(B), total(B);
        int64_t n = 0;
        for (int64_t b = 0; b < B; ++b) {
            fresh[b] = std::min<int32_t>(step == 0 ? chunk[b] : 1, lens[b] - cached[b]);
            total[b] = cached[b] + fresh[b];
            n = std::max<int64_t>(n, fresh[b]);
        }
        if (n == 0) break;
        SCOPED_TRACE("step " + std::to_string(step));
        HostTensor qs(dtype, B, Hq, n, d), ks(dtype, B, Hkv, n, d), vs(dtype, B, Hkv, n, d);
        for (int64_t b = 0; b < B; ++b)
            for (int64_t i = 0; i < n; ++i) {
                const int64_t at = std::min<int64_t>(cached[b] + i, T - 1);
                for (int64_t e = 0; e < d; ++e) {
                    for (int64_t h = 0; h < Hq; ++h) qs.set(b, h, i, e, q.get(b, h, at, e));
                    for (int64_t h = 0; h < Hkv; ++h) ks.set(b, h, i, e, k.get(b, h, at, e)), vs.set(b, h, i, e, v.get(b, h, at, e));
                }
            }
        attn4j_kv_append_params ap;
        attn4j_kv_append_params_init(&ap);
        ap.block_table = table.data();
        ap.max_pages = max_pages;
        ap.cache_lens = cached.data();
        ap.new_lens = fresh.data();
        HostTensor unused(ATTN4J_DTYPE_F32, 1, 1, 1, 1);
        ASSERT_EQ(on_backend(backend.cuda(), ks, vs, vs, unused,
                             [&](auto *kn, auto *vn, auto *, auto *) {
                                 return attn4j_kv_cache_append(pool.kt(), pool.vt(), kn, vn, &ap);
                             }),
                  ATTN4J_STATUS_OK)
            << attn4j_last_error();
        attn4j_flash_params p;
        attn4j_flash_params_init(&p);
        p.causal = 1;
        p.q_lens = fresh.data();
        p.kv_lens = total.data();
        p.block_table = table.data();
        p.max_pages = max_pages;
        HostTensor out(ATTN4J_DTYPE_F32, B, Hq, n, d);
        out.poison();
        ASSERT_EQ(on_backend(backend.cuda(), qs, ks, vs, out,
                             [&](auto *qq, auto *, auto *, auto *o) {
                                 return attn4j_flash_forward(qq, pool.kt(), pool.vt(), o, nullptr, &p);
                             }),
                  ATTN4J_STATUS_OK)
            << attn4j_last_error();
        for (int64_t b = 0; b < B; ++b) {
            double num = 0, den = 0;
            for (int64_t h = 0; h < Hq; ++h)
                for (int64_t i = 0; i < fresh[b]; ++i)
                    for (int64_t e = 0; e < d; ++e) {
                        const double a = out.get(b, h, i, e), x = want.get(b, h, cached[b] + i, e);
                        num += (a - x) * (a - x);
                        den += x * x;
                    }
            if (fresh[b] > 0)
                ASSERT_LE(std::sqrt(num / den), backend.cuda() ? 1e-2 : 1e-5) << "sequence " << b;
        }
        cached = total;
    }
    EXPECT_EQ(cached, lens);
}

INSTANTIATE_TEST_SUITE_P(Backends, KvCacheAppend, ::testing::ValuesIn(backends()),
                         [](const ::testing::TestParamInfo<Backend> &info) { return info.param.id(); });

// Bad tables and lengths: refused naming the field; outputs and the cache unchanged.
struct BadPages {
    HostTensor q{ATTN4J_DTYPE_F32, 2, 4, 1, 16}, pool_k{ATTN4J_DTYPE_F32, 6, 2, 16, 16}, pool_v{ATTN4J_DTYPE_F32, 6, 2, 16, 16};
    HostTensor out{ATTN4J_DTYPE_F32, 2, 4, 1, 16};
    std::vector<int32_t> table{0, 1, 2, 3, 4, -1}, lens{40, 17};
    attn4j_flash_params p;
    BadPages() {
        std::mt19937_64 rng(run_seed());
        q.fill_normal(rng, 1.0f);
        pool_k.fill_normal(rng, 1.0f);
        pool_v.fill_normal(rng, 1.0f);
        attn4j_flash_params_init(&p);
        p.block_table = table.data();
        p.max_pages = 3;
        p.kv_lens = lens.data();
        out.poison();
    }
    void expect(int32_t status, const std::string &needle) {
        EXPECT_EQ(attn4j_flash_forward(&q.t, &pool_k.t, &pool_v.t, &out.t, nullptr, &p), status);
        EXPECT_NE(std::string(attn4j_last_error()).find(needle), std::string::npos) << attn4j_last_error();
        for (int64_t e = 0; e < 16; ++e) EXPECT_TRUE(std::isnan(out.get(0, 0, 0, e))) << "written by a refused call";
    }
};

TEST(FlashPagedErrors, BadTablesAndLengthsAreRefused) {
    {
        BadPages a;
        ASSERT_EQ(attn4j_flash_forward(&a.q.t, &a.pool_k.t, &a.pool_v.t, &a.out.t, nullptr, &a.p), ATTN4J_STATUS_OK)
            << attn4j_last_error();
    }
    BadPages a;
    a.table[4] = 6;  // sequence 1's second page
    a.expect(ATTN4J_STATUS_INVALID_PARAM, "params.block_table[4] = 6 (sequence 1, page 1) is outside the pool");
    BadPages b;
    b.table[1] = -2;
    b.expect(ATTN4J_STATUS_INVALID_PARAM, "params.block_table[1] = -2");
    BadPages c;
    c.lens[0] = 49;
    c.expect(ATTN4J_STATUS_INVALID_PARAM, "params.kv_lens[0] = 49 exceeds 48 (the table's capacity");
    BadPages d;
    d.p.kv_lens = nullptr;
    d.expect(ATTN4J_STATUS_NULL_ARGUMENT, "params.kv_lens is NULL");
    BadPages e;
    e.pool_k.t.shape[2] = e.pool_v.t.shape[2] = 12;
    e.expect(ATTN4J_STATUS_INVALID_SHAPE, "k.shape[2] = 12: the page size of a paged cache must be a power of two");
    BadPages f;
    const int32_t starts[2] = {0, 0};
    f.p.kv_starts = starts;
    f.expect(ATTN4J_STATUS_INVALID_PARAM, "params.kv_starts is set with params.block_table");
    BadPages g;  // contiguous keys of the same batch, with a page count but no table
    HostTensor k(ATTN4J_DTYPE_F32, 2, 2, 48, 16), v(ATTN4J_DTYPE_F32, 2, 2, 48, 16);
    g.p.block_table = nullptr;
    EXPECT_EQ(attn4j_flash_forward(&g.q.t, &k.t, &v.t, &g.out.t, nullptr, &g.p), ATTN4J_STATUS_INVALID_PARAM);
    EXPECT_NE(std::string(attn4j_last_error()).find("params.max_pages = 3 is set without params.block_table"),
              std::string::npos)
        << attn4j_last_error();
    BadPages h;
    h.p.max_pages = -1;
    h.expect(ATTN4J_STATUS_INVALID_PARAM, "params.max_pages = -1 is negative");
    BadPages i;
    i.pool_v.t.shape[0] = 5;
    i.expect(ATTN4J_STATUS_INVALID_SHAPE, "v.shape[0]");
}

TEST(KvCacheAppendErrors, BadSlotsAreRefusedAndTheCacheIsUnchanged) {
    std::mt19937_64 rng(run_seed());
    HostTensor pk(ATTN4J_DTYPE_F32, 4, 2, 16, 8), pv(ATTN4J_DTYPE_F32, 4, 2, 16, 8);
    HostTensor kn(ATTN4J_DTYPE_F32, 2, 2, 3, 8), vn(ATTN4J_DTYPE_F32, 2, 2, 3, 8);
    for (HostTensor *t : {&pk, &pv, &kn, &vn}) t->fill_normal(rng, 1.0f);
    const std::vector<unsigned char> k0 = pk.bytes, v0 = pv.bytes;
    auto refused = [&](std::vector<int32_t> table, std::vector<int32_t> cache, const int32_t *fresh, int32_t status,
                       const std::string &needle) {
        attn4j_kv_append_params p;
        attn4j_kv_append_params_init(&p);
        p.block_table = table.data();
        p.max_pages = 2;
        p.cache_lens = cache.data();
        p.new_lens = fresh;
        EXPECT_EQ(attn4j_kv_cache_append(&pk.t, &pv.t, &kn.t, &vn.t, &p), status);
        EXPECT_NE(std::string(attn4j_last_error()).find(needle), std::string::npos) << attn4j_last_error();
        EXPECT_EQ(pk.bytes, k0) << "k pages written by a refused call";
        EXPECT_EQ(pv.bytes, v0) << "v pages written by a refused call";
    };
    refused({0, 1, 0, 3}, {5, 4}, nullptr, ATTN4J_STATUS_INVALID_PARAM,
            "row 5 of page 0 would be written twice (a page shared by sequences");
    refused({0, 1, 2, 3}, {30, 0}, nullptr, ATTN4J_STATUS_INVALID_PARAM,
            "sequence 0: params.cache_lens[0] + 3 new rows = 33 exceeds the table's capacity");
    refused({0, 1, 2, 4}, {0, 15}, nullptr, ATTN4J_STATUS_INVALID_PARAM,
            "params.block_table[3] = 4 (sequence 1, page 1) is outside the pool of k_pages.shape[0] = 4 pages");
    refused({0, 1, 2, 3}, {-1, 0}, nullptr, ATTN4J_STATUS_INVALID_PARAM, "params.cache_lens[0] = -1 is negative");
    const int32_t too_many[2] = {1, 4};
    refused({0, 1, 2, 3}, {0, 0}, too_many, ATTN4J_STATUS_INVALID_PARAM, "params.new_lens[1] = 4 must be in 0..3");
    HostTensor bad(ATTN4J_DTYPE_F32, 2, 3, 3, 8);
    attn4j_kv_append_params p;
    attn4j_kv_append_params_init(&p);
    const std::vector<int32_t> table{0, 1, 2, 3}, cache{0, 0};
    p.block_table = table.data();
    p.max_pages = 2;
    p.cache_lens = cache.data();
    EXPECT_EQ(attn4j_kv_cache_append(&pk.t, &pv.t, &bad.t, &vn.t, &p), ATTN4J_STATUS_INVALID_SHAPE);
    EXPECT_NE(std::string(attn4j_last_error()).find("k_new.shape[1]"), std::string::npos) << attn4j_last_error();
    p.cache_lens = nullptr;
    EXPECT_EQ(attn4j_kv_cache_append(&pk.t, &pv.t, &kn.t, &vn.t, &p), ATTN4J_STATUS_NULL_ARGUMENT);
    EXPECT_NE(std::string(attn4j_last_error()).find("params.cache_lens is NULL"), std::string::npos);
    EXPECT_EQ(pk.bytes, k0);
    // The good call writes exactly its rows: row i of sequence b to its slot, nothing else.
    p.cache_lens = cache.data();
    ASSERT_EQ(attn4j_kv_cache_append(&pk.t, &pv.t, &kn.t, &vn.t, &p), ATTN4J_STATUS_OK) << attn4j_last_error();
    HostTensor orig(ATTN4J_DTYPE_F32, 4, 2, 16, 8);
    std::memcpy(orig.bytes.data(), k0.data(), k0.size());
    for (int64_t page = 0; page < 4; ++page)
        for (int64_t h = 0; h < 2; ++h)
            for (int64_t r = 0; r < 16; ++r) {
                const int64_t b = page == 0 ? 0 : (page == 2 ? 1 : -1);
                for (int64_t e = 0; e < 8; ++e) {
                    const float want = b >= 0 && r < 3 ? kn.get(b, h, r, e) : orig.get(page, h, r, e);
                    ASSERT_EQ(pk.get(page, h, r, e), want) << "page " << page << " head " << h << " row " << r;
                }
            }
}

}  // namespace
}  // namespace attn4j::test
