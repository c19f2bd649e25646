// SALE and block-sparse attention over sequences of different lengths, on every backend: each
// sequence of a padded or packed batch gets the mask and the output it gets alone, bit for bit; a
// mask entry's bytes past its sequence's blocks are 0; padded query rows attend densely to their
// sequence's valid keys; nothing outside the packed rows is written; tau = 0 is the fp64 reference.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "attn4j.h"
#include "backends.h"
#include "cpu/reference/flash_reference.h"
#include "fill_problem.h"
#include "test_support.h"

namespace attn4j::test {
namespace {

struct SaleSeqCase {
    std::string name;
    int64_t heads_q, heads_kv, dim;
    int32_t dtype;
    std::vector<int32_t> q_lens, kv_lens;
    int64_t pad_q, pad_k;  // rows and keys of the padded form past the longest sequence
    bool left, causal;     // left: padding before the valid rows
    float tau;
    int32_t block_q = 0, block_k = 0;

    int64_t batch() const { return static_cast<int64_t>(q_lens.size()); }
    static int64_t longest(const std::vector<int32_t> &v) {
        int64_t m = 0;
        for (int32_t x : v) m = std::max<int64_t>(m, x);
        return m;
    }
    int64_t nq() const { return longest(q_lens) + pad_q; }
    int64_t nk() const { return longest(kv_lens) + pad_k; }
    int64_t q_start(int64_t b) const { return left ? nq() - q_lens[b] : 0; }
    int64_t k_start(int64_t b) const { return left ? nk() - kv_lens[b] : 0; }
    attn4j_sale_params params() const {
        attn4j_sale_params p;
        attn4j_sale_params_init(&p);
        p.causal = causal ? 1 : 0;
        p.thresholds = &tau;
        p.num_thresholds = 1;
        p.block_q = block_q;
        p.block_k = block_k;
        return p;
    }
};

std::vector<SaleSeqCase> cases() {
    const int32_t f32 = ATTN4J_DTYPE_F32, bf16 = ATTN4J_DTYPE_BF16;
    return {
        {"causal_gqa_f32", 4, 2, 64, f32, {300, 0, 64, 1, 513}, {300, 0, 64, 1, 513}, 7, 7, false, true, 0.02f},
        {"left_chunked_bf16", 2, 1, 64, bf16, {70, 5, 200}, {300, 5, 200}, 3, 2, true, true, 0.05f},
        {"blocks_32x128", 2, 2, 32, f32, {250, 40, 129}, {250, 40, 129}, 0, 11, false, false, 0.02f, 32, 128},
        {"dense_tau0", 2, 2, 64, f32, {150, 1, 77}, {150, 1, 77}, 2, 2, false, true, 0.0f},
        {"bf16_d128_gqa", 4, 2, 128, bf16, {300, 64, 1, 200}, {300, 64, 1, 200}, 5, 5, false, true, 0.02f},
        {"bf16_d64_left", 2, 2, 64, bf16, {130, 0, 65}, {200, 3, 65}, 2, 2, true, true, 0.02f},
        {"bf16_rows_without_keys", 2, 1, 128, bf16, {5, 400}, {0, 400}, 1, 1, false, true, 0.02f},
    };
}

std::string unsupported(const SaleSeqCase &c, const Backend &b) {
    if (!b.cuda()) return "";
    if (c.dtype == ATTN4J_DTYPE_F32) return "CUDA: f32 storage unsupported";
    if (c.dim != 64 && c.dim != 128) return "CUDA: head dims 64 and 128";
    if ((c.block_q != 0 && c.block_q != 64) || (c.block_k != 0 && c.block_k != 64)) return "CUDA: 64 x 64 blocks only";
    return "";
}

// Device memory holding a copy of host bytes, and back.
struct DeviceCopy {
    void *ptr = nullptr;
    explicit DeviceCopy(const void *src, size_t bytes) {
        EXPECT_EQ(attn4j_cuda_malloc(0, static_cast<int64_t>(std::max<size_t>(bytes, 1)), &ptr), ATTN4J_STATUS_OK);
        if (bytes > 0)
            EXPECT_EQ(attn4j_cuda_memcpy(ptr, src, static_cast<int64_t>(bytes), ATTN4J_COPY_HOST_TO_DEVICE), ATTN4J_STATUS_OK);
    }
    DeviceCopy(const DeviceCopy &) = delete;
    DeviceCopy &operator=(const DeviceCopy &) = delete;
    ~DeviceCopy() { attn4j_cuda_free(0, ptr); }
    void download(void *dst, size_t bytes) const {
        ASSERT_EQ(attn4j_cuda_synchronize(0), ATTN4J_STATUS_OK) << attn4j_last_error();
        if (bytes > 0)
            ASSERT_EQ(attn4j_cuda_memcpy(dst, ptr, static_cast<int64_t>(bytes), ATTN4J_COPY_DEVICE_TO_HOST), ATTN4J_STATUS_OK);
    }
};

// One SALE (or, given a mask, block-sparse) call on a backend. out and lse are f32 with `gap` poisoned
// rows past each head's q rows that lie outside the tensors; the mask starts poisoned for SALE.
struct Result {
    HostTensor out, lse;
    std::vector<uint8_t> mask;
    double density = -1.0;
};

Result run(const Backend &be, const HostTensor &q, const HostTensor &k, const HostTensor &v, const attn4j_sale_params &p,
           const std::vector<uint8_t> *sparse_mask, int64_t gap = 0) {
    Result r;
    const int64_t B = q.t.shape[0], H = q.t.shape[1], N = q.t.shape[2], dv = v.t.shape[3];
    r.out = HostTensor(ATTN4J_DTYPE_F32, B, H, N + gap, dv);
    r.lse = HostTensor(ATTN4J_DTYPE_F32, B, H, N + gap, 1);
    r.out.poison();
    r.lse.poison();
    r.out.t.shape[2] = r.lse.t.shape[2] = N;
    int64_t bytes = 0;
    EXPECT_EQ(attn4j_sale_mask_bytes(&q.t, &k.t, &p, &bytes), ATTN4J_STATUS_OK) << attn4j_last_error();
    r.mask = sparse_mask != nullptr ? *sparse_mask : std::vector<uint8_t>(static_cast<size_t>(bytes), 0xA5);
    EXPECT_EQ(static_cast<int64_t>(r.mask.size()), bytes);
    if (!be.cuda()) {
        const int32_t st = sparse_mask != nullptr
                               ? attn4j_block_sparse_forward(&q.t, &k.t, &v.t, &r.out.t, &r.lse.t, &p, r.mask.data(), bytes, &r.density)
                               : attn4j_sale_forward(&q.t, &k.t, &v.t, &r.out.t, &r.lse.t, &p, r.mask.data(), bytes, &r.density);
        EXPECT_EQ(st, ATTN4J_STATUS_OK) << attn4j_last_error();
        return r;
    }
    DeviceCopy dq(q.bytes.data(), q.bytes.size()), dk(k.bytes.data(), k.bytes.size()), dv_(v.bytes.data(), v.bytes.size());
    DeviceCopy dout(r.out.bytes.data(), r.out.bytes.size()), dlse(r.lse.bytes.data(), r.lse.bytes.size());
    DeviceCopy dmask(r.mask.data(), r.mask.size());
    attn4j_tensor tq = q.t, tk = k.t, tv = v.t, to = r.out.t, tl = r.lse.t;
    tq.data = dq.ptr, tk.data = dk.ptr, tv.data = dv_.ptr, to.data = dout.ptr, tl.data = dlse.ptr;
    tq.device = tk.device = tv.device = to.device = tl.device = 0;
    uint8_t *m = static_cast<uint8_t *>(dmask.ptr);
    const int32_t st = sparse_mask != nullptr ? attn4j_block_sparse_forward(&tq, &tk, &tv, &to, &tl, &p, m, bytes, &r.density)
                                              : attn4j_sale_forward(&tq, &tk, &tv, &to, &tl, &p, m, bytes, &r.density);
    EXPECT_EQ(st, ATTN4J_STATUS_OK) << attn4j_last_error();
    dout.download(r.out.bytes.data(), r.out.bytes.size());
    dlse.download(r.lse.bytes.data(), r.lse.bytes.size());
    dmask.download(r.mask.data(), r.mask.size());
    return r;
}

// Sequence b's entry of a batch mask (rows of `head_rows` rows of `row_bytes`) against the mask of the
// sequence alone (`q_blocks` rows of `alone_row_bytes` per head): equal bits, zeros past them.
::testing::AssertionResult same_entry(const std::vector<uint8_t> &batch, int64_t b, int64_t heads, int64_t head_rows,
                                      int64_t row_bytes, const std::vector<uint8_t> &alone, int64_t q_blocks,
                                      int64_t alone_row_bytes) {
    for (int64_t h = 0; h < heads; ++h)
        for (int64_t qb = 0; qb < head_rows; ++qb)
            for (int64_t x = 0; x < row_bytes; ++x) {
                const uint8_t got = batch[static_cast<size_t>(((b * heads + h) * head_rows + qb) * row_bytes + x)];
                const uint8_t want = qb < q_blocks && x < alone_row_bytes
                                         ? alone[static_cast<size_t>((h * q_blocks + qb) * alone_row_bytes + x)]
                                         : 0;
                if (got != want)
                    return ::testing::AssertionFailure() << "mask entry " << b << ", head " << h << ", query block " << qb
                                                         << ", byte " << x << ": " << int(got) << " != " << int(want);
            }
    return ::testing::AssertionSuccess();
}

int64_t blocks(int64_t n, int32_t block) { return (n + (block != 0 ? block : 64) - 1) / (block != 0 ? block : 64); }

// Rows [r0, r0 + n) of every head of batch entry b of `got` equal rows [0, n) of `want` (entry 0), bit for bit.
::testing::AssertionResult same_rows(const HostTensor &got, int64_t b, int64_t r0, const HostTensor &want, int64_t n,
                                     const char *what) {
    for (int64_t h = 0; h < want.t.shape[1]; ++h)
        for (int64_t i = 0; i < n; ++i)
            for (int64_t e = 0; e < want.t.shape[3]; ++e) {
                const float a = got.get(b, h, r0 + i, e), x = want.get(0, h, i, e);
                if (std::memcmp(&a, &x, 4) != 0)
                    return ::testing::AssertionFailure() << what << ": head " << h << ", row " << i << ", element " << e
                                                         << ": " << a << " != " << x << " (alone)";
            }
    return ::testing::AssertionSuccess();
}

class SaleSequences : public ::testing::TestWithParam<OnBackend<SaleSeqCase>> {};

TEST_P(SaleSequences, EachSequenceAsAlone) {
    const SaleSeqCase &c = GetParam().c;
    const Backend &be = GetParam().backend;
    ATTN4J_SKIP_UNLESS_RUNS("sale-sequences", be, unsupported(c, be));
    const uint64_t seed = run_seed() ^ std::hash<std::string>{}(c.name);
    SCOPED_TRACE("seed " + std::to_string(run_seed()) + " (set ATTN4J_SEED to repeat), case " + c.name + " on " + be.name);
    const int32_t saved = attn4j_cpu_isa();
    if (!be.cuda()) ASSERT_EQ(attn4j_set_cpu_isa(be.isa), ATTN4J_STATUS_OK);

    // The padded batch: structured attention (so that masks are sparse), huge values in padding keys.
    const int64_t B = c.batch(), H = c.heads_q;
    HostTensor q(c.dtype, B, H, c.nq(), c.dim), k(c.dtype, B, c.heads_kv, c.nk(), c.dim), v(c.dtype, B, c.heads_kv, c.nk(), c.dim);
    ASSERT_EQ(attn4j_structured_qkv(ATTN4J_PATTERN_MIXED, seed, &q.t, &k.t, &v.t), ATTN4J_STATUS_OK);
    std::vector<int32_t> q_starts, kv_starts, cu_q{0}, cu_k{0};
    for (int64_t b = 0; b < B; ++b) {
        q_starts.push_back(static_cast<int32_t>(c.q_start(b)));
        kv_starts.push_back(static_cast<int32_t>(c.k_start(b)));
        cu_q.push_back(cu_q.back() + c.q_lens[b]);
        cu_k.push_back(cu_k.back() + c.kv_lens[b]);
        for (int64_t h = 0; h < c.heads_kv; ++h)
            for (int64_t j = 0; j < c.nk(); ++j) {
                if (j >= c.k_start(b) && j < c.k_start(b) + c.kv_lens[b]) continue;
                for (int64_t e = 0; e < c.dim; ++e) k.set(b, h, j, e, 50.0f), v.set(b, h, j, e, 1e4f);
            }
    }
    // The packed batch: every sequence's valid rows back to back.
    HostTensor pq(c.dtype, 1, H, cu_q.back(), c.dim), pk(c.dtype, 1, c.heads_kv, cu_k.back(), c.dim),
        pv(c.dtype, 1, c.heads_kv, cu_k.back(), c.dim);
    for (int64_t b = 0; b < B; ++b) {
        for (int64_t h = 0; h < H; ++h)
            for (int64_t i = 0; i < c.q_lens[b]; ++i)
                for (int64_t e = 0; e < c.dim; ++e) pq.set(0, h, cu_q[b] + i, e, q.get(b, h, c.q_start(b) + i, e));
        for (int64_t h = 0; h < c.heads_kv; ++h)
            for (int64_t j = 0; j < c.kv_lens[b]; ++j)
                for (int64_t e = 0; e < c.dim; ++e) {
                    pk.set(0, h, cu_k[b] + j, e, k.get(b, h, c.k_start(b) + j, e));
                    pv.set(0, h, cu_k[b] + j, e, v.get(b, h, c.k_start(b) + j, e));
                }
    }

    attn4j_sale_params padded = c.params();
    padded.q_lens = c.q_lens.data();
    padded.kv_lens = c.kv_lens.data();
    if (c.left) padded.q_starts = q_starts.data(), padded.kv_starts = kv_starts.data();
    attn4j_sale_params packed = c.params();
    packed.cu_seqlens_q = cu_q.data();
    packed.cu_seqlens_k = cu_k.data();
    packed.num_seqs = static_cast<int32_t>(B);
    const int64_t gap = 3;
    const Result rp = run(be, q, k, v, padded, nullptr);
    const Result rk = run(be, pq, pk, pv, packed, nullptr, gap);
    ASSERT_FALSE(HasFailure());

    const int64_t pad_rows = blocks(c.nq(), c.block_q), pad_bytes = (blocks(c.nk(), c.block_k) + 7) / 8;
    const int64_t pack_rows = blocks(SaleSeqCase::longest(c.q_lens), c.block_q);
    const int64_t pack_bytes = (blocks(SaleSeqCase::longest(c.kv_lens), c.block_k) + 7) / 8;
    ASSERT_EQ(static_cast<int64_t>(rk.mask.size()), B * H * pack_rows * pack_bytes) << "packed mask size";
    for (int64_t b = 0; b < B; ++b) {
        SCOPED_TRACE("sequence " + std::to_string(b));
        const int64_t lq = c.q_lens[b], lk = c.kv_lens[b];
        HostTensor aq = rows_of(q, b, c.q_start(b), lq), ak = rows_of(k, b, c.k_start(b), lk), av = rows_of(v, b, c.k_start(b), lk);
        if (lq > 0) {
            const Result alone = run(be, aq, ak, av, c.params(), nullptr);
            ASSERT_FALSE(HasFailure());
            const int64_t qb = blocks(lq, c.block_q), rb = (blocks(lk, c.block_k) + 7) / 8;
            EXPECT_TRUE(same_entry(rp.mask, b, H, pad_rows, pad_bytes, alone.mask, qb, rb)) << "padded mask";
            EXPECT_TRUE(same_entry(rk.mask, b, H, pack_rows, pack_bytes, alone.mask, qb, rb)) << "packed mask";
            EXPECT_TRUE(same_rows(rp.out, b, c.q_start(b), alone.out, lq, "padded out"));
            EXPECT_TRUE(same_rows(rp.lse, b, c.q_start(b), alone.lse, lq, "padded lse"));
            EXPECT_TRUE(same_rows(rk.out, 0, cu_q[b], alone.out, lq, "packed out"));
            EXPECT_TRUE(same_rows(rk.lse, 0, cu_q[b], alone.lse, lq, "packed lse"));
        } else {
            EXPECT_TRUE(same_entry(rp.mask, b, H, pad_rows, pad_bytes, {}, 0, 0)) << "empty sequence's mask";
        }
        // Padded rows see all of the sequence's valid keys, unmasked (the dense fp64 reference).
        struct Range { int64_t r0, n; };
        for (const Range g : {Range{0, c.q_start(b)}, Range{c.q_start(b) + lq, c.nq() - c.q_start(b) - lq}}) {
            if (g.n == 0) continue;
            HostTensor rq = rows_of(q, b, g.r0, g.n), ro(ATTN4J_DTYPE_F32, 1, H, g.n, c.dim), rl(ATTN4J_DTYPE_F32, 1, H, g.n, 1);
            std::vector<double> want, want_lse;
            attn4j_flash_params fp;
            attn4j_flash_params_init(&fp);
            cpu::flash_reference(make_flash_problem(&rq.t, &ak.t, &av.t, &ro.t, &rl.t, fp), want, want_lse);
            HostTensor got = rows_of(rp.out, b, g.r0, g.n);
            EXPECT_LE(rel_l2(got, want), c.dtype == ATTN4J_DTYPE_BF16 ? 1e-2 : 1e-5) << "padded rows from " << g.r0;
        }
        // tau = 0 is dense attention: the fp64 reference of the sequence alone.
        if (c.tau == 0.0f && lq > 0) {
            HostTensor ro(ATTN4J_DTYPE_F32, 1, H, lq, c.dim), rl(ATTN4J_DTYPE_F32, 1, H, lq, 1);
            std::vector<double> want, want_lse;
            attn4j_flash_params fp;
            attn4j_flash_params_init(&fp);
            fp.causal = c.causal ? 1 : 0;
            cpu::flash_reference(make_flash_problem(&aq.t, &ak.t, &av.t, &ro.t, &rl.t, fp), want, want_lse);
            EXPECT_LE(rel_l2(rows_of(rk.out, 0, cu_q[b], lq), want), 1e-5) << "tau = 0 against the reference";
        }
    }
    for (int64_t h = 0; h < H; ++h)
        for (int64_t i = cu_q.back(); i < cu_q.back() + gap; ++i) {
            ASSERT_TRUE(std::isnan(rk.lse.get(0, h, i, 0))) << "lse written outside the packed rows";
            for (int64_t e = 0; e < c.dim; ++e) ASSERT_TRUE(std::isnan(rk.out.get(0, h, i, e))) << "written outside";
        }
    if (be.cuda()) {
        EXPECT_TRUE(std::isnan(rp.density)) << "CUDA does not read the mask back";
    } else {
        EXPECT_GT(rp.density, 0.0);
        EXPECT_LE(rp.density, 1.0);
        EXPECT_EQ(rp.density, rk.density) << "padded and packed compute the same blocks";
        if (c.tau == 0.0f) EXPECT_EQ(rp.density, 1.0);
        else EXPECT_LT(rp.density, 1.0) << "the structured inputs give sparse masks";
    }

    // The block-sparse pass over the masks SALE wrote gives SALE's outputs, bit for bit.
    const Result sp = run(be, q, k, v, padded, &rp.mask);
    const Result sk = run(be, pq, pk, pv, packed, &rk.mask, gap);
    EXPECT_TRUE(sp.out.bytes == rp.out.bytes) << "block-sparse (padded) != SALE (padded)";
    EXPECT_TRUE(sk.out.bytes == rk.out.bytes) << "block-sparse (packed) != SALE (packed)";
    EXPECT_TRUE(sk.lse.bytes == rk.lse.bytes) << "block-sparse lse (packed) != SALE lse (packed)";
    if (!be.cuda()) EXPECT_EQ(sp.density, rp.density);
    attn4j_set_cpu_isa(saved);
}

INSTANTIATE_TEST_SUITE_P(Cases, SaleSequences, ::testing::ValuesIn(on_every_backend(cases())), pair_name<SaleSeqCase>);

// Bad lengths are refused naming the field, and the mask follows the lengths' layout.
TEST(SaleSequenceErrors, LengthsAreCheckedAndSizeTheMask) {
    HostTensor q(ATTN4J_DTYPE_F32, 1, 2, 200, 16), k(ATTN4J_DTYPE_F32, 1, 2, 200, 16), v(ATTN4J_DTYPE_F32, 1, 2, 200, 16);
    HostTensor out(ATTN4J_DTYPE_F32, 1, 2, 200, 16);
    std::mt19937_64 rng(run_seed());
    q.fill_normal(rng, 1.0f);
    k.fill_normal(rng, 1.0f);
    v.fill_normal(rng, 1.0f);
    out.poison();
    const int32_t cu[4] = {0, 130, 130, 200}, bad_cu[4] = {0, 130, 120, 200}, lens[1] = {201};
    attn4j_sale_params p;
    attn4j_sale_params_init(&p);
    p.cu_seqlens_q = cu;
    p.cu_seqlens_k = cu;
    p.num_seqs = 3;
    int64_t bytes = 0;
    ASSERT_EQ(attn4j_sale_mask_bytes(&q.t, &k.t, &p, &bytes), ATTN4J_STATUS_OK) << attn4j_last_error();
    EXPECT_EQ(bytes, 3 * 2 * 3 * 1) << "[num_seqs][Hq][ceil(130 / 64)][ceil(ceil(130 / 64) / 8)]";
    std::vector<uint8_t> mask(static_cast<size_t>(bytes));
    auto refused = [&](const attn4j_sale_params &bad, int64_t mask_bytes, int32_t status, const std::string &needle) {
        EXPECT_EQ(attn4j_sale_forward(&q.t, &k.t, &v.t, &out.t, nullptr, &bad, mask.data(), mask_bytes, nullptr), status);
        EXPECT_NE(std::string(attn4j_last_error()).find(needle), std::string::npos) << attn4j_last_error();
        EXPECT_EQ(attn4j_block_sparse_forward(&q.t, &k.t, &v.t, &out.t, nullptr, &bad, mask.data(), mask_bytes, nullptr), status);
        EXPECT_NE(std::string(attn4j_last_error()).find(needle), std::string::npos) << attn4j_last_error();
        EXPECT_TRUE(std::isnan(out.get(0, 0, 0, 0))) << "a refused call wrote its output";
    };
    refused(p, bytes - 1, ATTN4J_STATUS_INVALID_SHAPE, "mask_bytes = 17, the mask needs 18 bytes");
    attn4j_sale_params falling = p;
    falling.cu_seqlens_k = bad_cu;
    refused(falling, bytes, ATTN4J_STATUS_INVALID_PARAM, "params.cu_seqlens_k[2] = 120 is less than params.cu_seqlens_k[1] = 130");
    attn4j_sale_params too_long;
    attn4j_sale_params_init(&too_long);
    too_long.kv_lens = lens;
    refused(too_long, bytes, ATTN4J_STATUS_INVALID_PARAM, "params.kv_lens[0] = 201 exceeds 200");
    EXPECT_EQ(attn4j_sale_mask_bytes(&q.t, &k.t, &falling, &bytes), ATTN4J_STATUS_INVALID_PARAM);
    float tau = 0.0f;
    EXPECT_EQ(attn4j_sale_calibrate(&q.t, &k.t, &v.t, 0.01f, &p, &tau, 2), ATTN4J_STATUS_UNSUPPORTED);
    EXPECT_NE(std::string(attn4j_last_error()).find("calibration takes one sequence per batch entry"), std::string::npos)
        << attn4j_last_error();
}

}  // namespace
}  // namespace attn4j::test
