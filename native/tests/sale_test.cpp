// SALE and block-sparse attention: the case table (sale_cases.cpp) on every backend, block-sparse
// against the fp64 reference under random masks, and threshold 0 == dense; thresholds nest (smaller tau keeps a superset of blocks)
// and the error against dense shrinks with them on every structured pattern; the 4-bit estimates
// against fp64 products of the same integers; the mask rules; calibration; bad arguments.
#include <gtest/gtest.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iomanip>
#include <limits>

#include <sys/stat.h>

#include "attn4j.h"
#include "cpu/isa.h"
#include "cpu/reference/flash_reference.h"
#include "cpu/sale/sale.h"
#include "backends.h"
#include "cuda_test_support.h"
#include "fill_problem.h"
#include "npy.h"
#include "sale_cases.h"
#include "test_support.h"

namespace attn4j::test {
namespace {

struct SaleRun {
    HostTensor q, k, v, out, lse;
    attn4j_sale_params params{sizeof(attn4j_sale_params)};
};

SaleRun make_run(const SaleCase &c, int32_t pattern, uint64_t seed) {
    SaleRun r;
    r.q = HostTensor(c.dtype, c.batch, c.heads_q, c.len_q, c.dim);
    r.k = HostTensor(c.dtype, c.batch, c.heads_kv, c.len_k, c.dim);
    r.v = HostTensor(c.dtype, c.batch, c.heads_kv, c.len_k, c.dim_v);
    r.out = HostTensor(c.out_dtype, c.batch, c.heads_q, c.len_q, c.dim_v);
    r.lse = HostTensor(ATTN4J_DTYPE_F32, c.batch, c.heads_q, c.len_q, 1);
    EXPECT_EQ(attn4j_structured_qkv(pattern, seed, &r.q.t, &r.k.t, &r.v.t), ATTN4J_STATUS_OK) << attn4j_last_error();
    r.out.poison();
    r.lse.poison();
    r.params.causal = c.causal ? 1 : 0;
    r.params.block_q = c.block_q;
    r.params.block_k = c.block_k;
    return r;
}

std::vector<uint8_t> mask_for(const SaleRun &r) {
    int64_t bytes = 0;
    EXPECT_EQ(attn4j_sale_mask_bytes(&r.q.t, &r.k.t, &r.params, &bytes), ATTN4J_STATUS_OK) << attn4j_last_error();
    return std::vector<uint8_t>(static_cast<size_t>(bytes), 0xA5);  // poisoned
}

cpu::BlockMask layout(const SaleRun &r, const uint8_t *bits) {
    const cpu::FlashProblem p = make_flash_problem(&r.q.t, &r.k.t, &r.v.t, &r.out.t, nullptr,
                                                   {sizeof(attn4j_flash_params), 0.0f, 0.0f, r.params.causal, -1, -1, 0, nullptr});
    return cpu::sale_mask_layout(p, r.params.block_q ? r.params.block_q : 64, r.params.block_k ? r.params.block_k : 64, bits);
}

std::vector<double> reference(const SaleRun &r, const uint8_t *bits, std::vector<double> *lse = nullptr) {
    cpu::FlashProblem p = make_flash_problem(&r.q.t, &r.k.t, &r.v.t, &r.out.t, nullptr,
                                             {sizeof(attn4j_flash_params), 0.0f, 0.0f, r.params.causal, -1, -1, 0, nullptr});
    const cpu::BlockMask m = cpu::sale_mask_layout(p, r.params.block_q ? r.params.block_q : 64,
                                                   r.params.block_k ? r.params.block_k : 64, bits);
    if (bits != nullptr) p.mask = &m;
    std::vector<double> out, l;
    cpu::flash_reference(p, out, l);
    if (lse != nullptr) *lse = l;
    return out;
}

// One CPU backend's ISA, on the AVX-512 one with and without AMX tiles where the CPU has them.
template <class F>
void on_every_isa_variant(const Backend &b, F &&body) {
    const UseIsa isa(b);
    const bool amx = cpu::amx();
    for (int tiles = 0; tiles <= (b.isa == ATTN4J_ISA_AVX512 && cpu::amx_supported() ? 1 : 0); ++tiles) {
        SCOPED_TRACE(tiles ? "with AMX" : "without AMX");
        cpu::set_amx(tiles == 1);
        body();
    }
    cpu::set_amx(amx);
}

// Every ISA, and on CPUs with AMX the AVX-512 path both with and without its tiles.
template <class F>
void on_every_isa(F &&body) {
    const int32_t saved = attn4j_cpu_isa();
    const bool amx = cpu::amx();
    for (int32_t isa = ATTN4J_ISA_SCALAR; isa <= attn4j_cpu_isa_best(); ++isa)
        for (int tiles = 0; tiles <= (isa == ATTN4J_ISA_AVX512 && cpu::amx_supported() ? 1 : 0); ++tiles) {
            SCOPED_TRACE(std::string("isa ") + attn4j_isa_name(isa) + (tiles ? " with AMX" : ""));
            ASSERT_EQ(attn4j_set_cpu_isa(isa), ATTN4J_STATUS_OK);
            cpu::set_amx(tiles == 1);
            body();
        }
    cpu::set_amx(amx);
    attn4j_set_cpu_isa(saved);
}

// Rows whose selected blocks hold no visible key, counted from the reference's LSE: with holes, query
// block 1 of the first head is one of them.
void expect_holes(const SaleCase &c, const std::vector<double> &ref_lse) {
    if (!c.holes) return;
    const int64_t empty = std::count_if(ref_lse.begin(), ref_lse.end(), [](double x) { return std::isinf(x); });
    EXPECT_GE(empty, std::min<int64_t>(c.bq(), c.len_q - c.bq())) << "query block 1 of the first head keeps no key block";
}

void block_sparse_on_cpu(const SaleCase &c, const Backend &b, uint64_t seed) {
    SaleRun r = make_run(c, ATTN4J_PATTERN_RANDOM, seed);
    std::mt19937_64 rng(seed);
    std::vector<uint8_t> bits = random_mask(c, static_cast<int64_t>(mask_for(r).size()), rng);
    std::vector<double> ref_lse;
    const std::vector<double> ref = reference(r, bits.data(), &ref_lse);
    expect_holes(c, ref_lse);
    // The density the call must report: kept visible blocks over visible blocks, counted here.
    const cpu::BlockMask m = layout(r, bits.data());
    const cpu::FlashProblem fp = make_flash_problem(&r.q.t, &r.k.t, &r.v.t, &r.out.t, nullptr,
                                                    {sizeof(attn4j_flash_params), 0.0f, 0.0f, r.params.causal, -1, -1, 0, nullptr});
    double kept = 0.0, visible = 0.0;
    for (int64_t row = 0; row < c.batch * c.heads_q * m.q_blocks; ++row)
        for (int64_t kb = 0; kb < cpu::sale_visible_blocks(fp, m, row % m.q_blocks); ++kb) {
            visible += 1.0;
            kept += cpu::BlockMask::test(m.bits + row * m.row_bytes, kb) ? 1.0 : 0.0;
        }
    on_every_isa_variant(b, [&] {
        r.out.poison();
        r.lse.poison();
        double density = -1.0;
        ASSERT_EQ(attn4j_block_sparse_forward(&r.q.t, &r.k.t, &r.v.t, &r.out.t, &r.lse.t, &r.params, bits.data(),
                                              static_cast<int64_t>(bits.size()), &density),
                  ATTN4J_STATUS_OK)
            << attn4j_last_error();
        EXPECT_LE(rel_l2(r.out, ref), c.tolerance());
        // Rows whose selected blocks hold no visible key: out = 0 and lse = -inf, as dense does.
        const std::vector<float> lse = dense(r.lse);
        for (size_t i = 0; i < lse.size(); ++i) {
            if (std::isinf(ref_lse[i])) ASSERT_TRUE(std::isinf(lse[i]) && lse[i] < 0) << "row " << i;
            else ASSERT_NEAR(lse[i], ref_lse[i], 1e-5 * std::max(1.0, std::fabs(ref_lse[i]))) << "row " << i;
        }
        EXPECT_DOUBLE_EQ(density, kept / visible);
    });
}

// The CUDA tensors of a SALE-family call: q, k, v with N(0, 1) values, out and lse poisoned.
AttentionTensors device_tensors(const SaleCase &c, std::mt19937_64 &rng) {
    return AttentionTensors(c.dtype, c.batch, c.heads_q, c.heads_kv, c.len_q, c.len_k, c.dim, false,
                            c.out_dtype == ATTN4J_DTYPE_F32, rng);
}

// Through both kernels where both exist (on Hopper, d = 128: the wgmma kernel by default and the
// mma.sync one), against the fp64 reference under the same mask: out within 1e-2, LSE within 2e-2.
void block_sparse_on_cuda(const SaleCase &c, uint64_t seed) {
    for_each_cuda_kernel([&](const std::string &kernel) {
        SCOPED_TRACE(kernel);
        std::mt19937_64 rng(seed);
        AttentionTensors at = device_tensors(c, rng);
        DeviceTensor &q = at.q, &k = at.k, &v = at.v, &out = at.out, &lse = at.lse;
        attn4j_sale_params p;
        attn4j_sale_params_init(&p);
        p.causal = c.causal ? 1 : 0;
        int64_t bytes = 0;
        ASSERT_EQ(attn4j_sale_mask_bytes(&q.t, &k.t, &p, &bytes), ATTN4J_STATUS_OK);
        const std::vector<uint8_t> bits = random_mask(c, bytes, rng);
        void *dmask = nullptr;
        ASSERT_EQ(attn4j_cuda_malloc(0, bytes, &dmask), ATTN4J_STATUS_OK);
        ASSERT_EQ(attn4j_cuda_memcpy(dmask, bits.data(), bytes, ATTN4J_COPY_HOST_TO_DEVICE), ATTN4J_STATUS_OK);
        double density = 0.0;
        ASSERT_EQ(attn4j_block_sparse_forward(&q.t, &k.t, &v.t, &out.t, &lse.t, &p, static_cast<uint8_t *>(dmask), bytes,
                                              &density),
                  ATTN4J_STATUS_OK)
            << attn4j_last_error();
        ASSERT_EQ(attn4j_cuda_synchronize(0), ATTN4J_STATUS_OK) << attn4j_last_error();
        EXPECT_TRUE(std::isnan(density)) << "a device mask's density is not read back";
        out.download();
        lse.download();
        attn4j_cuda_free(0, dmask);

        cpu::FlashProblem fp = make_flash_problem(&q.host.t, &k.host.t, &v.host.t, &out.host.t, &lse.host.t,
                                                  {sizeof(attn4j_flash_params), 0.0f, 0.0f, p.causal, -1, -1, 0, nullptr});
        const cpu::BlockMask m = cpu::sale_mask_layout(fp, 64, 64, bits.data());
        fp.mask = &m;
        std::vector<double> ref, ref_lse;
        cpu::flash_reference(fp, ref, ref_lse);
        EXPECT_LE(rel_l2(out.host, ref), 1e-2) << "relative L2 error of out";
        ASSERT_TRUE(lse_matches(lse.host, ref_lse, 2e-2));
        // Rows that see no key are 0.
        for (int64_t b = 0; b < c.batch; ++b)
            for (int64_t h = 0; h < c.heads_q; ++h)
                for (int64_t i = 0; i < c.len_q; ++i)
                    if (std::isinf(ref_lse[(b * c.heads_q + h) * c.len_q + i]))
                        for (int64_t j = 0; j < c.dim_v; ++j) ASSERT_EQ(out.host.get(b, h, i, j), 0.0f) << "row " << i << " sees no key";
        expect_holes(c, ref_lse);
    });
}

void threshold_zero_on_cpu(const SaleCase &c, const Backend &b, uint64_t seed) {
    SaleRun r = make_run(c, ATTN4J_PATTERN_MIXED, seed);
    const float zero = 0.0f;
    r.params.thresholds = &zero;
    r.params.num_thresholds = 1;
    HostTensor dense_out(c.out_dtype, c.batch, c.heads_q, c.len_q, c.dim_v);
    on_every_isa_variant(b, [&] {
        std::vector<uint8_t> bits = mask_for(r);
        double density = -1.0;
        r.out.poison();
        dense_out.poison();
        ASSERT_EQ(attn4j_sale_forward(&r.q.t, &r.k.t, &r.v.t, &r.out.t, nullptr, &r.params, bits.data(),
                                      static_cast<int64_t>(bits.size()), &density),
                  ATTN4J_STATUS_OK)
            << attn4j_last_error();
        EXPECT_EQ(density, 1.0);
        attn4j_flash_params fp{sizeof(attn4j_flash_params), 0.0f, 0.0f, r.params.causal, -1, -1, 0, nullptr};
        ASSERT_EQ(attn4j_flash_forward(&r.q.t, &r.k.t, &r.v.t, &dense_out.t, nullptr, &fp), ATTN4J_STATUS_OK);
        const std::vector<float> a = dense(r.out), d = dense(dense_out);
        // Same blocks and kernels; only the last key tile of a causal row can end at a different column
        // (query tiles are block_q rows here, 96 in the dense call), which reorders a few fp32 sums.
        // A bf16 output may then also round one step apart (at most 2^-7 of the value).
        const bool bf16_out = c.out_dtype == ATTN4J_DTYPE_BF16;
        for (size_t i = 0; i < a.size(); ++i)
            ASSERT_LE(std::fabs(a[i] - d[i]), 1e-5 + (bf16_out ? std::ldexp(std::fabs(d[i]), -7) : 0.0)) << "element " << i;
        const cpu::BlockMask m = layout(r, bits.data());
        const cpu::FlashProblem p = make_flash_problem(&r.q.t, &r.k.t, &r.v.t, &r.out.t, nullptr, fp);
        for (int64_t row = 0; row < c.batch * c.heads_q * m.q_blocks; ++row)
            for (int64_t kb = 0; kb < cpu::sale_visible_blocks(p, m, row % m.q_blocks); ++kb)
                ASSERT_TRUE(cpu::BlockMask::test(m.bits + row * m.row_bytes, kb)) << "row " << row << " block " << kb;
        EXPECT_LE(rel_l2(r.out, reference(r, nullptr)), c.tolerance());
    });
}

// SALE's estimation on the device at tau = 0: every visible block kept, and the output is dense
// attention (out within 1e-2 of the fp64 reference), through both kernels where both exist.
void threshold_zero_on_cuda(const SaleCase &c, uint64_t seed) {
    for_each_cuda_kernel([&](const std::string &kernel) {
        SCOPED_TRACE(kernel);
        std::mt19937_64 rng(seed);
        AttentionTensors at = device_tensors(c, rng);
        DeviceTensor &q = at.q, &k = at.k, &v = at.v, &out = at.out;
        const float zero = 0.0f;
        attn4j_sale_params p;
        attn4j_sale_params_init(&p);
        p.causal = c.causal ? 1 : 0;
        p.thresholds = &zero;
        p.num_thresholds = 1;
        int64_t bytes = 0;
        ASSERT_EQ(attn4j_sale_mask_bytes(&q.t, &k.t, &p, &bytes), ATTN4J_STATUS_OK);
        void *dmask = nullptr;
        ASSERT_EQ(attn4j_cuda_malloc(0, bytes, &dmask), ATTN4J_STATUS_OK);
        double density = 0.0;
        ASSERT_EQ(attn4j_sale_forward(&q.t, &k.t, &v.t, &out.t, nullptr, &p, static_cast<uint8_t *>(dmask), bytes, &density),
                  ATTN4J_STATUS_OK)
            << attn4j_last_error();
        ASSERT_EQ(attn4j_cuda_synchronize(0), ATTN4J_STATUS_OK) << attn4j_last_error();
        EXPECT_TRUE(std::isnan(density)) << "a device mask's density is not read back";
        std::vector<uint8_t> bits(static_cast<size_t>(bytes));
        ASSERT_EQ(attn4j_cuda_memcpy(bits.data(), dmask, bytes, ATTN4J_COPY_DEVICE_TO_HOST), ATTN4J_STATUS_OK);
        attn4j_cuda_free(0, dmask);
        out.download();
        cpu::FlashProblem fp = make_flash_problem(&q.host.t, &k.host.t, &v.host.t, &out.host.t, nullptr,
                                                  {sizeof(attn4j_flash_params), 0.0f, 0.0f, p.causal, -1, -1, 0, nullptr});
        const cpu::BlockMask m = cpu::sale_mask_layout(fp, 64, 64, bits.data());
        for (int64_t row = 0; row < c.batch * c.heads_q * m.q_blocks; ++row)
            for (int64_t kb = 0; kb < cpu::sale_visible_blocks(fp, m, row % m.q_blocks); ++kb)
                ASSERT_TRUE(cpu::BlockMask::test(m.bits + row * m.row_bytes, kb)) << "row " << row << " block " << kb;
        std::vector<double> ref, ref_lse;
        cpu::flash_reference(fp, ref, ref_lse);
        EXPECT_LE(rel_l2(out.host, ref), 1e-2) << "relative L2 error of out";
    });
}

class Sale : public ::testing::TestWithParam<OnBackend<SaleCase>> {};

TEST_P(Sale, BlockSparseMatchesMaskedReference) {
    const SaleCase &c = GetParam().c;
    const Backend &b = GetParam().backend;
    ATTN4J_SKIP_UNLESS_RUNS("block-sparse", b, sale_unsupported(c, b, false));
    const uint64_t seed = run_seed() ^ std::hash<std::string>{}(c.name);
    SCOPED_TRACE("ATTN4J_SEED=" + std::to_string(run_seed()) + ", case " + c.name + " on " + b.name);
    if (b.cuda()) block_sparse_on_cuda(c, seed);
    else block_sparse_on_cpu(c, b, seed);
}

TEST_P(Sale, ThresholdZeroIsDenseAttention) {
    const SaleCase &c = GetParam().c;
    const Backend &b = GetParam().backend;
    ATTN4J_SKIP_UNLESS_RUNS("sale", b, sale_unsupported(c, b, true));
    const uint64_t seed = run_seed() ^ std::hash<std::string>{}(c.name);
    SCOPED_TRACE("ATTN4J_SEED=" + std::to_string(run_seed()) + ", case " + c.name + " on " + b.name);
    if (b.cuda()) threshold_zero_on_cuda(c, seed);
    else threshold_zero_on_cpu(c, b, seed);
}

INSTANTIATE_TEST_SUITE_P(Cases, Sale, ::testing::ValuesIn(on_every_backend(sale_cases())), pair_name<SaleCase>);

// Blocks kept as tau shrinks: each set contains the previous one; the error against dense attention
// falls with them and reaches 0 at tau = 0.
TEST(SaleThresholds, SmallerThresholdKeepsMoreBlocksAndErrsLessOnEveryPattern) {
    const uint64_t seed = run_seed();
    SCOPED_TRACE("ATTN4J_SEED=" + std::to_string(seed));
    const SaleCase c{"pattern", 1, 4, 2, 1024, 1024, 64, 64, true, 32, 32};
    const float taus[] = {0.5f, 0.1f, 0.02f, 0.004f, 0.0008f, 0.0f};
    for (int32_t pattern = ATTN4J_PATTERN_RANDOM; pattern <= ATTN4J_PATTERN_MIXED; ++pattern) {
        SCOPED_TRACE("pattern " + std::to_string(pattern));
        SaleRun r = make_run(c, pattern, seed);
        const std::vector<double> ref = reference(r, nullptr);
        std::vector<uint8_t> prev;
        double prev_err = std::numeric_limits<double>::infinity(), prev_density = 0.0;
        for (float tau : taus) {
            SCOPED_TRACE("tau " + std::to_string(tau));
            r.params.thresholds = &tau;
            r.params.num_thresholds = 1;
            std::vector<uint8_t> bits = mask_for(r);
            double density = -1.0;
            r.out.poison();
            ASSERT_EQ(attn4j_sale_forward(&r.q.t, &r.k.t, &r.v.t, &r.out.t, nullptr, &r.params, bits.data(),
                                          static_cast<int64_t>(bits.size()), &density),
                      ATTN4J_STATUS_OK);
            const double err = rel_l2(r.out, ref);
            for (size_t i = 0; i < prev.size(); ++i) ASSERT_EQ(prev[i] & ~bits[i], 0) << "byte " << i;
            EXPECT_GE(density, prev_density);
            // Adding blocks can in rare cases move one row away from dense, so a 2% slack per step;
            // the exact property (nesting) is checked above.
            EXPECT_LE(err, prev_err * 1.02 + 1e-7);
            if (tau == 0.0f) EXPECT_LE(err, 1e-5);
            prev = bits;
            prev_err = err;
            prev_density = density;
        }
    }
}

// Structured heads are sparse: at tau = 0.004 SALE skips most blocks and stays close to dense.
TEST(SaleThresholds, StructuredInputsAreSparseAndAccurate) {
    const uint64_t seed = run_seed();
    SCOPED_TRACE("ATTN4J_SEED=" + std::to_string(seed));
    const SaleCase c{"mixed", 1, 4, 2, 4096, 4096, 128, 128, true};
    SaleRun r = make_run(c, ATTN4J_PATTERN_MIXED, seed);
    double density = -1.0;
    ASSERT_EQ(attn4j_sale_forward(&r.q.t, &r.k.t, &r.v.t, &r.out.t, nullptr, &r.params, nullptr, 0, &density),
              ATTN4J_STATUS_OK);
    EXPECT_LT(density, 0.5);
    EXPECT_LE(rel_l2(r.out, reference(r, nullptr)), 0.05);
}

// The kernels' block estimates equal scale * sq_i * sk_B * max_j (Qq_i . Kq_j) computed in fp64 from
// the same integers, on every ISA, for edge blocks (causal diagonal, partial last block) too.
TEST(SaleEstimate, BlockScoresMatchFp64ProductsOfTheQuantizedValues) {
    const uint64_t seed = run_seed();
    SCOPED_TRACE("ATTN4J_SEED=" + std::to_string(seed));
    for (int64_t d : {64, 128, 20}) {
        const SaleCase c{"est", 1, 1, 1, 200, 200, d, d, true, 32, 48};
        SaleRun r = make_run(c, ATTN4J_PATTERN_MIXED, seed + static_cast<uint64_t>(d));
        const cpu::FlashProblem p = make_flash_problem(&r.q.t, &r.k.t, &r.v.t, &r.out.t, nullptr,
                                                       {sizeof(attn4j_flash_params), 0.0f, 0.0f, 1, -1, -1, 0, nullptr});
        cpu::QuantizedQueries qq;
        cpu::QuantizedKeys qk;
        cpu::quantize_queries(p, 0, 0, qq);
        cpu::quantize_keys(p, 0, 0, 48, qk);
        on_every_isa([&] {
            for (int64_t qb = 0; qb < 7; ++qb)
                for (int64_t kb = 0; kb < qk.blocks; ++kb) {
                    std::vector<float> got(32);
                    cpu::sale_block_scores(p, qq, qk, qb, 32, kb, got.data());
                    for (int64_t r0 = 0; r0 < std::min<int64_t>(32, p.len_q - qb * 32); ++r0) {
                        const int64_t i = qb * 32 + r0;
                        double best = -std::numeric_limits<double>::infinity();
                        for (int64_t j = kb * 48; j < std::min<int64_t>((kb + 1) * 48, p.key_hi(i)); ++j) {
                            double dot = 0.0;
                            for (int64_t e = 0; e < d; ++e) dot += static_cast<double>(qq.q_int(i, e)) * qk.k_int(j, e);
                            best = std::max(best, dot * qq.scale[i] * qk.scale[kb] * p.scale);
                        }
                        if (std::isinf(best)) ASSERT_TRUE(std::isinf(got[r0]) && got[r0] < 0) << "row " << i << " block " << kb;
                        else ASSERT_NEAR(got[r0], best, 1e-5 * std::max(1.0, std::fabs(best))) << "row " << i << " block " << kb;
                    }
                }
        });
        // The 4-bit values use the whole range and reconstruct the (smoothed) inputs to a step.
        int extreme = 0;
        for (int64_t e = 0; e < d; ++e) extreme = std::max(extreme, std::abs(qq.q_int(5, e)));
        EXPECT_EQ(extreme, 7);
    }
}

// Every row keeps its sink and local blocks; no bit is set for a block no row can see; the bitmap
// has no stale bits from before the call.
TEST(SaleMask, SinksAndLocalBlocksAlwaysKeptAndCausalRespected) {
    const uint64_t seed = run_seed();
    SCOPED_TRACE("ATTN4J_SEED=" + std::to_string(seed));
    const SaleCase c{"mask", 2, 2, 1, 500, 700, 64, 64, true, 32, 64};
    SaleRun r = make_run(c, ATTN4J_PATTERN_RANDOM, seed);
    const float tau = 1e9f;  // nothing but the always-kept blocks
    r.params.thresholds = &tau;
    r.params.num_thresholds = 1;
    r.params.sink_blocks = 2;
    r.params.local_blocks = 3;
    std::vector<uint8_t> bits = mask_for(r);
    double density = -1.0;
    ASSERT_EQ(attn4j_sale_forward(&r.q.t, &r.k.t, &r.v.t, &r.out.t, nullptr, &r.params, bits.data(),
                                  static_cast<int64_t>(bits.size()), &density),
              ATTN4J_STATUS_OK);
    const cpu::BlockMask m = layout(r, bits.data());
    const int64_t off = c.len_k - c.len_q;
    int64_t kept = 0, visible = 0;
    for (int64_t b = 0; b < c.batch; ++b)
        for (int64_t h = 0; h < c.heads_q; ++h)
            for (int64_t qb = 0; qb < m.q_blocks; ++qb) {
                const uint8_t *row = m.row(b, h, qb);
                const int64_t last = std::min((qb + 1) * 32, c.len_q) - 1 + off;
                const int64_t diag = last / 64;
                for (int64_t kb = 0; kb < m.row_bytes * 8; ++kb) {
                    const bool set = cpu::BlockMask::test(row, kb);
                    const bool expected = kb <= diag && (kb < 2 || kb > diag - 3);
                    kept += expected;
                    visible += kb <= diag;
                    ASSERT_EQ(set, expected) << "b " << b << " h " << h << " qb " << qb << " kb " << kb;
                }
            }
    EXPECT_DOUBLE_EQ(density, static_cast<double>(kept) / static_cast<double>(visible));
    EXPECT_LE(rel_l2(r.out, reference(r, bits.data())), 1e-5);  // and the output is that mask's attention
}

TEST(SaleCalibrate, ThresholdsMeetTheTargetError) {
    const uint64_t seed = run_seed();
    SCOPED_TRACE("ATTN4J_SEED=" + std::to_string(seed));
    const SaleCase c{"calib", 1, 4, 4, 1024, 1024, 64, 64, true, 32, 32};
    SaleRun r = make_run(c, ATTN4J_PATTERN_MIXED, seed);
    std::vector<float> tau(4, -1.0f);
    ASSERT_EQ(attn4j_sale_calibrate(&r.q.t, &r.k.t, &r.v.t, 0.02f, &r.params, tau.data(), 4), ATTN4J_STATUS_OK)
        << attn4j_last_error();
    r.params.thresholds = tau.data();
    r.params.num_thresholds = 4;
    ASSERT_EQ(attn4j_sale_forward(&r.q.t, &r.k.t, &r.v.t, &r.out.t, nullptr, &r.params, nullptr, 0, nullptr),
              ATTN4J_STATUS_OK);
    const std::vector<double> ref = reference(r, nullptr);
    const size_t per_head = static_cast<size_t>(c.len_q * c.dim_v);
    const std::vector<float> got = dense(r.out);
    for (int h = 0; h < 4; ++h) {
        EXPECT_GE(tau[h], 0.0f);
        EXPECT_LE(tau[h], 0.1f);
        double num = 0.0, den = 0.0;
        for (size_t x = h * per_head; x < (h + 1) * per_head; ++x) {
            num += (got[x] - ref[x]) * (got[x] - ref[x]);
            den += ref[x] * ref[x];
        }
        EXPECT_LE(std::sqrt(num / den), 0.02 * 1.001) << "head " << h << " tau " << tau[h];
    }
}

TEST(SaleErrors, BadArgumentsNameTheArgument) {
    SaleRun r = make_run({"err", 1, 2, 2, 64, 64, 32, 32, true}, ATTN4J_PATTERN_RANDOM, 1);
    auto expect_error = [](int32_t st, int32_t code, const char *needle) {
        EXPECT_EQ(st, code) << attn4j_last_error();
        EXPECT_NE(std::string(attn4j_last_error()).find(needle), std::string::npos) << attn4j_last_error();
    };
    uint8_t bits[64] = {};
    attn4j_sale_params p = r.params;
    p.block_q = 24;
    expect_error(attn4j_sale_forward(&r.q.t, &r.k.t, &r.v.t, &r.out.t, nullptr, &p, nullptr, 0, nullptr),
                 ATTN4J_STATUS_INVALID_PARAM, "params.block_q");
    p = r.params;
    p.block_k = 8;
    expect_error(attn4j_sale_forward(&r.q.t, &r.k.t, &r.v.t, &r.out.t, nullptr, &p, nullptr, 0, nullptr),
                 ATTN4J_STATUS_INVALID_PARAM, "params.block_k");
    p = r.params;
    const float taus[3] = {0.1f, -1.0f, 0.1f};
    p.thresholds = taus;
    p.num_thresholds = 2;
    expect_error(attn4j_sale_forward(&r.q.t, &r.k.t, &r.v.t, &r.out.t, nullptr, &p, nullptr, 0, nullptr),
                 ATTN4J_STATUS_INVALID_PARAM, "params.thresholds[1]");
    p.num_thresholds = 3;
    expect_error(attn4j_sale_forward(&r.q.t, &r.k.t, &r.v.t, &r.out.t, nullptr, &p, nullptr, 0, nullptr),
                 ATTN4J_STATUS_INVALID_PARAM, "params.num_thresholds");
    p = r.params;
    p.local_blocks = -1;
    expect_error(attn4j_sale_forward(&r.q.t, &r.k.t, &r.v.t, &r.out.t, nullptr, &p, nullptr, 0, nullptr),
                 ATTN4J_STATUS_INVALID_PARAM, "params.local_blocks");
    expect_error(attn4j_sale_forward(&r.q.t, &r.k.t, &r.v.t, &r.out.t, nullptr, &r.params, bits, 1, nullptr),
                 ATTN4J_STATUS_INVALID_SHAPE, "mask_bytes");
    expect_error(attn4j_block_sparse_forward(&r.q.t, &r.k.t, &r.v.t, &r.out.t, nullptr, &r.params, nullptr, 64, nullptr),
                 ATTN4J_STATUS_NULL_ARGUMENT, "mask");
    expect_error(attn4j_sale_forward(&r.q.t, &r.k.t, &r.v.t, &r.q.t, nullptr, &r.params, nullptr, 0, nullptr),
                 ATTN4J_STATUS_ALIASING, "out");
    expect_error(attn4j_sale_forward(&r.q.t, &r.k.t, &r.v.t, nullptr, &r.lse.t, &r.params, nullptr, 0, nullptr),
                 ATTN4J_STATUS_NULL_ARGUMENT, "out");
    expect_error(attn4j_block_sparse_forward(&r.q.t, &r.k.t, &r.v.t, nullptr, nullptr, &r.params, bits, 64, nullptr),
                 ATTN4J_STATUS_NULL_ARGUMENT, "out");
    // The mask in the memory of an output (both forms) or, where SALE writes it, of an input.
    uint8_t *in_out = static_cast<uint8_t *>(r.out.t.data), *in_q = static_cast<uint8_t *>(r.q.t.data);
    expect_error(attn4j_sale_forward(&r.q.t, &r.k.t, &r.v.t, &r.out.t, nullptr, &r.params, in_out + 8, 64, nullptr),
                 ATTN4J_STATUS_ALIASING, "mask overlaps out");
    expect_error(attn4j_block_sparse_forward(&r.q.t, &r.k.t, &r.v.t, &r.out.t, nullptr, &r.params, in_out, 64, nullptr),
                 ATTN4J_STATUS_ALIASING, "mask overlaps out");
    expect_error(attn4j_sale_forward(&r.q.t, &r.k.t, &r.v.t, &r.out.t, &r.lse.t, &r.params,
                                     static_cast<uint8_t *>(r.lse.t.data), 64, nullptr),
                 ATTN4J_STATUS_ALIASING, "mask overlaps lse");
    expect_error(attn4j_sale_forward(&r.q.t, &r.k.t, &r.v.t, &r.out.t, nullptr, &r.params, in_q, 64, nullptr),
                 ATTN4J_STATUS_ALIASING, "mask overlaps q");
    ASSERT_EQ(attn4j_block_sparse_forward(&r.q.t, &r.k.t, &r.v.t, &r.out.t, nullptr, &r.params, in_q, 64, nullptr),
              ATTN4J_STATUS_OK)
        << "a mask the pass only reads may share an input's memory: " << attn4j_last_error();
    float out_tau[2];
    expect_error(attn4j_sale_calibrate(&r.q.t, &r.k.t, &r.v.t, 0.0f, &r.params, out_tau, 2), ATTN4J_STATUS_INVALID_PARAM,
                 "target_error");
    expect_error(attn4j_sale_calibrate(&r.q.t, &r.k.t, &r.v.t, 0.01f, &r.params, out_tau, 3), ATTN4J_STATUS_INVALID_PARAM,
                 "num_thresholds_out");
    expect_error(attn4j_structured_qkv(9, 1, &r.q.t, &r.k.t, &r.v.t), ATTN4J_STATUS_INVALID_PARAM, "pattern");
    expect_error(attn4j_structured_qkv(0, 1, &r.q.t, &r.q.t, &r.v.t), ATTN4J_STATUS_ALIASING, "k");
    int64_t bytes = 0;
    expect_error(attn4j_sale_mask_bytes(&r.q.t, &r.k.t, &r.params, nullptr), ATTN4J_STATUS_NULL_ARGUMENT, "bytes");
    ASSERT_EQ(attn4j_sale_mask_bytes(&r.q.t, &r.k.t, &r.params, &bytes), ATTN4J_STATUS_OK);
    EXPECT_EQ(bytes, 2 * 1 * 1);  // 2 heads x 1 query block x 1 byte
}

// Same seed, same bytes; different seeds differ; every pattern but random puts most attention
// where it says (sinks: on the first four keys).
TEST(StructuredInputs, DeterministicAndShaped) {
    const SaleCase c{"gen", 1, 2, 2, 512, 512, 64, 64, true};
    SaleRun a = make_run(c, ATTN4J_PATTERN_SINKS, 42), b = make_run(c, ATTN4J_PATTERN_SINKS, 42);
    SaleRun other = make_run(c, ATTN4J_PATTERN_SINKS, 43);
    EXPECT_EQ(a.q.bytes, b.q.bytes);
    EXPECT_EQ(a.k.bytes, b.k.bytes);
    EXPECT_EQ(a.v.bytes, b.v.bytes);
    EXPECT_NE(a.q.bytes, other.q.bytes);
    // Softmax mass of query 300 on keys 0..3.
    double mx = -1e30, total = 0.0, sink = 0.0;
    std::vector<double> s(301);
    for (int j = 0; j <= 300; ++j) {
        double dot = 0.0;
        for (int e = 0; e < 64; ++e) dot += a.q.get(0, 0, 300, e) * a.k.get(0, 0, j, e);
        s[j] = dot / 8.0;
        mx = std::max(mx, s[j]);
    }
    for (int j = 0; j <= 300; ++j) {
        total += std::exp(s[j] - mx);
        if (j < 4) sink += std::exp(s[j] - mx);
    }
    EXPECT_GT(sink / total, 0.5);
}

// Cross-language parity vectors: structured inputs, the C++ output and mask, and the fp64 attention
// over that mask; SaleParityTest (Java) must reproduce output and mask bit for bit on the same ISA.
TEST(SaleParityVectors, WritesInputsMaskReferenceAndCppOutput) {
    const std::string root = parity_dir();
    struct Vector {
        SaleCase c;
        int32_t pattern;
        float tau;
    };
    const Vector vectors[] = {
        {{"causal_mixed", 1, 2, 1, 700, 700, 64, 64, true, 32, 32}, ATTN4J_PATTERN_MIXED, 0.01f},
        {{"noncausal_local", 1, 2, 2, 300, 420, 32, 48, false, 16, 64}, ATTN4J_PATTERN_LOCAL, 0.05f},
        {{"bf16_slashes", 1, 2, 2, 500, 500, 64, 64, true}, ATTN4J_PATTERN_SLASHES, 0.02f},
    };
    for (const Vector &x : vectors) {
        SCOPED_TRACE(x.c.name);
        SaleRun r = make_run({x.c.name, x.c.batch, x.c.heads_q, x.c.heads_kv, x.c.len_q, x.c.len_k, x.c.dim, x.c.dim_v,
                              x.c.causal, x.c.block_q, x.c.block_k,
                              x.c.name.rfind("bf16", 0) == 0 ? ATTN4J_DTYPE_BF16 : ATTN4J_DTYPE_F32},
                             x.pattern, 1234);
        r.params.thresholds = &x.tau;
        r.params.num_thresholds = 1;
        std::vector<uint8_t> bits = mask_for(r);
        double density = -1.0;
        ASSERT_EQ(attn4j_sale_forward(&r.q.t, &r.k.t, &r.v.t, &r.out.t, nullptr, &r.params, bits.data(),
                                      static_cast<int64_t>(bits.size()), &density),
                  ATTN4J_STATUS_OK);
        const std::vector<double> ref = reference(r, bits.data());
        ASSERT_LE(rel_l2(r.out, ref), r.q.t.dtype == ATTN4J_DTYPE_BF16 ? 1e-2 : 1e-5);
        const std::string dir = root + "/sale_" + x.c.name;
        ::mkdir(dir.c_str(), 0755);
        ASSERT_TRUE(write_npy(dir + "/q.npy", dense(r.q), shape_of(r.q)));
        ASSERT_TRUE(write_npy(dir + "/k.npy", dense(r.k), shape_of(r.k)));
        ASSERT_TRUE(write_npy(dir + "/v.npy", dense(r.v), shape_of(r.v)));
        ASSERT_TRUE(write_npy(dir + "/out_cpp.npy", dense(r.out), shape_of(r.out)));
        ASSERT_TRUE(write_npy(dir + "/out_ref.npy", ref, shape_of(r.out)));
        ASSERT_TRUE(write_npy(dir + "/mask_cpp.npy", std::vector<float>(bits.begin(), bits.end()),
                              {static_cast<int64_t>(bits.size())}));
        std::ofstream props(dir + "/case.properties");
        props << "dtype=" << (r.q.t.dtype == ATTN4J_DTYPE_BF16 ? "bf16" : "f32") << '\n'
              << "pattern=" << x.pattern << '\n' << "seed=1234" << '\n'
              << "causal=" << (x.c.causal ? "true" : "false") << '\n'
              << "tau=" << x.tau << '\n' << "block_q=" << x.c.block_q << '\n' << "block_k=" << x.c.block_k << '\n'
              << "density=" << std::setprecision(17) << density << '\n'
              << "isa=" << attn4j_isa_name(attn4j_cpu_isa()) << '\n';
        ASSERT_TRUE(props.good());
    }
}

}  // namespace
}  // namespace attn4j::test
