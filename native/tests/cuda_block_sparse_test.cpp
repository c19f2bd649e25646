// SALE on CUDA devices, what the shared case table (sale_cases.cpp, run on every backend by
// sale_test.cpp) does not cover: attn4j_sale_forward's GPU mask against the CPU mask on the same
// structured inputs and its output under the GPU's mask, the Hopper estimation kernel's mask against
// the mma.sync one's, aligned against unaligned rows, and the errors only CUDA gives. Skips (visibly)
// without a device.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>
#include <tuple>
#include <vector>
#include <utility>

#include "attn4j.h"
#include "cpu/reference/flash_reference.h"
#include "cpu/sale/sale.h"
#include "common/bf16.h"
#include "cuda_test_support.h"
#include "fill_problem.h"
#include "test_support.h"

namespace attn4j::test {
namespace {

// The GPU's mask agrees with the CPU's on the same inputs (the two quantize with different rounding
// order, so a few borderline blocks may differ), keeps sinks, diagonals and causality, and the output
// is attention over the GPU's own mask.
TEST(CudaSale, MaskMatchesTheCpuAndOutputMatchesTheMaskedReference) {
    if (attn4j_cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device";
    const int64_t B = 1, Hq = 4, Hkv = 2, N = 2048, d = 128;
    HostTensor hq(ATTN4J_DTYPE_BF16, B, Hq, N, d), hk(ATTN4J_DTYPE_BF16, B, Hkv, N, d), hv(ATTN4J_DTYPE_BF16, B, Hkv, N, d);
    ASSERT_EQ(attn4j_structured_qkv(ATTN4J_PATTERN_MIXED, run_seed(), &hq.t, &hk.t, &hv.t), ATTN4J_STATUS_OK);
    DeviceTensor q(ATTN4J_DTYPE_BF16, B, Hq, N, d, false), k(ATTN4J_DTYPE_BF16, B, Hkv, N, d, false);
    DeviceTensor v(ATTN4J_DTYPE_BF16, B, Hkv, N, d, false), out(ATTN4J_DTYPE_F32, B, Hq, N, d, false);
    for (auto [dev, host] : {std::pair<DeviceTensor *, HostTensor *>{&q, &hq}, {&k, &hk}, {&v, &hv}}) {
        ASSERT_EQ(attn4j_cuda_memcpy(dev->ptr, host->bytes.data(), dev->bytes, ATTN4J_COPY_HOST_TO_DEVICE), ATTN4J_STATUS_OK);
        for (int64_t x = 0; x < static_cast<int64_t>(host->bytes.size() / 2); ++x)
            reinterpret_cast<float *>(dev->host.bytes.data())[x] = bf16_to_f32(reinterpret_cast<const uint16_t *>(host->bytes.data())[x]);
    }
    out.poison();
    for (float tau : {0.01f, 0.0f}) {
        SCOPED_TRACE("tau " + std::to_string(tau) + ", ATTN4J_SEED=" + std::to_string(run_seed()));
        attn4j_sale_params p{sizeof(attn4j_sale_params)};
        p.causal = 1;
        p.thresholds = &tau;
        p.num_thresholds = 1;
        int64_t bytes = 0;
        ASSERT_EQ(attn4j_sale_mask_bytes(&q.t, &k.t, &p, &bytes), ATTN4J_STATUS_OK);
        std::vector<uint8_t> cpu_bits(static_cast<size_t>(bytes)), gpu_bits(static_cast<size_t>(bytes));
        HostTensor cpu_out(ATTN4J_DTYPE_F32, B, Hq, N, d);
        ASSERT_EQ(attn4j_sale_forward(&hq.t, &hk.t, &hv.t, &cpu_out.t, nullptr, &p, cpu_bits.data(), bytes, nullptr),
                  ATTN4J_STATUS_OK);
        void *dmask = nullptr;
        ASSERT_EQ(attn4j_cuda_malloc(0, bytes, &dmask), ATTN4J_STATUS_OK);
        ASSERT_EQ(attn4j_sale_forward(&q.t, &k.t, &v.t, &out.t, nullptr, &p, static_cast<uint8_t *>(dmask), bytes, nullptr),
                  ATTN4J_STATUS_OK)
            << attn4j_last_error();
        ASSERT_EQ(attn4j_cuda_synchronize(0), ATTN4J_STATUS_OK);
        ASSERT_EQ(attn4j_cuda_memcpy(gpu_bits.data(), dmask, bytes, ATTN4J_COPY_DEVICE_TO_HOST), ATTN4J_STATUS_OK);
        attn4j_cuda_free(0, dmask);
        out.download();
        cpu::FlashProblem fp = make_flash_problem(&q.host.t, &k.host.t, &v.host.t, &out.host.t, nullptr,
                                                  {sizeof(attn4j_flash_params), 0.0f, 0.0f, 1, -1, -1, 0, nullptr});
        const cpu::BlockMask m = cpu::sale_mask_layout(fp, 64, 64, gpu_bits.data());
        int64_t same = 0, total = 0, kept = 0;
        for (int64_t row = 0; row < B * Hq * m.q_blocks; ++row) {
            const int64_t end = cpu::sale_visible_blocks(fp, m, row % m.q_blocks), qb = row % m.q_blocks;
            for (int64_t kb = 0; kb < m.row_bytes * 8; ++kb) {
                const bool g = cpu::BlockMask::test(gpu_bits.data() + row * m.row_bytes, kb);
                const bool c = cpu::BlockMask::test(cpu_bits.data() + row * m.row_bytes, kb);
                if (kb >= end) {
                    ASSERT_FALSE(g) << "row " << row << " block " << kb << " is past the diagonal";
                    continue;
                }
                if (kb == 0 || kb == qb || (kb == qb - 1 && kb >= 0) || tau == 0.0f) ASSERT_TRUE(g) << "row " << row << " block " << kb;
                same += g == c;
                kept += g;
                ++total;
            }
        }
        EXPECT_GE(static_cast<double>(same) / total, 0.99) << same << " of " << total << " blocks agree";
        if (tau > 0.0f) EXPECT_LT(static_cast<double>(kept) / total, 0.6);
        fp.mask = &m;
        std::vector<double> ref, lse;
        cpu::flash_reference(fp, ref, lse);
        EXPECT_LE(rel_l2(out.host, ref), 1e-2);
    }
}

// The Hopper estimation kernel (four query blocks share each key block, wgmma) against the mma.sync
// one (one query block, its own order of key blocks): both quantize alike, so their masks must be
// equal bit for bit, over causal and non-causal problems, Nq != Nk, partial blocks, GQA, batches,
// several sink and local counts and per-head thresholds. Elsewhere than on Hopper both runs take the
// mma.sync kernel and the test checks only that the mask is reproducible.
struct EstimationCase {
    const char *name;
    int64_t batch, heads_q, heads_kv, len_q, len_k;
    bool causal;
    int32_t sinks, locals, pattern;
    std::vector<float> tau;
};

TEST(CudaSale, HopperMaskEqualsTheMmaSyncMask) {
    if (attn4j_cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device";
    const std::vector<EstimationCase> cases = {
        {"mixed_2048_causal", 1, 4, 2, 2048, 2048, true, 0, 0, ATTN4J_PATTERN_MIXED, {0.01f}},
        {"mixed_1000_sinks2_locals3", 1, 4, 2, 1000, 1000, true, 2, 3, ATTN4J_PATTERN_MIXED, {0.05f}},
        {"mixed_1000_noncausal", 1, 4, 4, 1000, 1000, false, 0, 0, ATTN4J_PATTERN_MIXED, {0.01f}},
        {"stripes_q300_k1000_causal", 2, 2, 1, 300, 1000, true, 1, 1, ATTN4J_PATTERN_STRIPES, {0.02f}},
        {"slashes_q1000_k333_noncausal", 1, 2, 2, 1000, 333, false, 3, 1, ATTN4J_PATTERN_SLASHES, {0.02f}},
        {"random_700_per_head_tau", 1, 4, 1, 700, 700, true, 0, 0, ATTN4J_PATTERN_RANDOM, {0.0f, 0.05f, 1e-4f, 0.5f}},
        {"local_q64_k4096_causal", 1, 2, 2, 64, 4096, true, 0, 0, ATTN4J_PATTERN_LOCAL, {0.01f}},
    };
    const int64_t d = 128;
    int64_t all_kept = 0, all_visible = 0;
    for (const EstimationCase &c : cases) {
        const uint64_t seed = run_seed() ^ std::hash<std::string>{}(c.name);
        SCOPED_TRACE(std::string(c.name) + ", ATTN4J_SEED=" + std::to_string(run_seed()));
        HostTensor hq(ATTN4J_DTYPE_BF16, c.batch, c.heads_q, c.len_q, d), hk(ATTN4J_DTYPE_BF16, c.batch, c.heads_kv, c.len_k, d);
        HostTensor hv(ATTN4J_DTYPE_BF16, c.batch, c.heads_kv, c.len_k, d);
        ASSERT_EQ(attn4j_structured_qkv(c.pattern, seed, &hq.t, &hk.t, &hv.t), ATTN4J_STATUS_OK) << attn4j_last_error();
        DeviceTensor q(ATTN4J_DTYPE_BF16, c.batch, c.heads_q, c.len_q, d, false), k(ATTN4J_DTYPE_BF16, c.batch, c.heads_kv, c.len_k, d, false);
        DeviceTensor v(ATTN4J_DTYPE_BF16, c.batch, c.heads_kv, c.len_k, d, false), out(ATTN4J_DTYPE_BF16, c.batch, c.heads_q, c.len_q, d, false);
        for (auto [dev, host] : {std::pair<DeviceTensor *, HostTensor *>{&q, &hq}, {&k, &hk}, {&v, &hv}})
            ASSERT_EQ(attn4j_cuda_memcpy(dev->ptr, host->bytes.data(), dev->bytes, ATTN4J_COPY_HOST_TO_DEVICE), ATTN4J_STATUS_OK);
        attn4j_sale_params p{sizeof(attn4j_sale_params)};
        p.causal = c.causal ? 1 : 0;
        p.thresholds = c.tau.data();
        p.num_thresholds = static_cast<int32_t>(c.tau.size());
        p.sink_blocks = c.sinks;
        p.local_blocks = c.locals;
        int64_t bytes = 0;
        ASSERT_EQ(attn4j_sale_mask_bytes(&q.t, &k.t, &p, &bytes), ATTN4J_STATUS_OK);
        std::vector<std::vector<uint8_t>> masks;
        for (const char *wgmma : {"1", "0"}) {
            setenv("ATTN4J_CUDA_WGMMA", wgmma, 1);
            void *dmask = nullptr;
            ASSERT_EQ(attn4j_cuda_malloc(0, bytes, &dmask), ATTN4J_STATUS_OK);
            std::vector<uint8_t> poison(static_cast<size_t>(bytes), 0xA5);
            ASSERT_EQ(attn4j_cuda_memcpy(dmask, poison.data(), bytes, ATTN4J_COPY_HOST_TO_DEVICE), ATTN4J_STATUS_OK);
            ASSERT_EQ(attn4j_sale_forward(&q.t, &k.t, &v.t, &out.t, nullptr, &p, static_cast<uint8_t *>(dmask), bytes, nullptr),
                      ATTN4J_STATUS_OK)
                << attn4j_last_error();
            ASSERT_EQ(attn4j_cuda_synchronize(0), ATTN4J_STATUS_OK);
            masks.emplace_back(static_cast<size_t>(bytes));
            ASSERT_EQ(attn4j_cuda_memcpy(masks.back().data(), dmask, bytes, ATTN4J_COPY_DEVICE_TO_HOST), ATTN4J_STATUS_OK);
            attn4j_cuda_free(0, dmask);
        }
        unsetenv("ATTN4J_CUDA_WGMMA");
        cpu::FlashProblem fp = make_flash_problem(&q.host.t, &k.host.t, &v.host.t, &out.host.t, nullptr,
                                                  {sizeof(attn4j_flash_params), 0.0f, 0.0f, p.causal, -1, -1, 0, nullptr});
        const cpu::BlockMask m = cpu::sale_mask_layout(fp, 64, 64, masks[0].data());
        int64_t differ = 0, kept = 0, visible = 0;
        for (int64_t row = 0; row < c.batch * c.heads_q * m.q_blocks; ++row) {
            const int64_t end = cpu::sale_visible_blocks(fp, m, row % m.q_blocks);
            for (int64_t kb = 0; kb < m.row_bytes * 8; ++kb) {
                const bool a = cpu::BlockMask::test(masks[0].data() + row * m.row_bytes, kb);
                const bool b = cpu::BlockMask::test(masks[1].data() + row * m.row_bytes, kb);
                if (a != b && differ++ < 5) ADD_FAILURE() << "row " << row << " block " << kb << ": Hopper " << a << ", mma.sync " << b;
                if (kb >= end) ASSERT_FALSE(a) << "row " << row << " block " << kb << " is not visible";
                visible += kb < end;
                kept += a && kb < end;
            }
        }
        EXPECT_EQ(differ, 0) << "blocks that differ";
        all_kept += kept;
        all_visible += visible;
    }
    // The cases test blocks both ways (some dropped, not only the always-kept ones kept); one case
    // alone may keep everything on some inputs.
    EXPECT_LT(all_kept, all_visible) << "every visible block of every case kept";
    EXPECT_GT(all_kept, 0);
}

// Rows that start 16-byte aligned take the vectorized quantization kernels, others the element-wise
// ones; both must give the same int8 values, scales and key means, hence the same mask bit for bit
// (both estimation kernels, head dims 64 and 128).
TEST(CudaSale, UnalignedRowsGiveTheSameMask) {
    if (attn4j_cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device";
    for (const int64_t d : {int64_t{64}, int64_t{128}}) {
        for (const bool causal : {true, false}) {
            const int64_t B = 1, Hq = 4, Hkv = 2, N = causal ? 1000 : 333;
            SCOPED_TRACE("d " + std::to_string(d) + (causal ? " causal" : " non-causal") + ", ATTN4J_SEED=" + std::to_string(run_seed()));
            HostTensor hq(ATTN4J_DTYPE_BF16, B, Hq, N, d), hk(ATTN4J_DTYPE_BF16, B, Hkv, N, d), hv(ATTN4J_DTYPE_BF16, B, Hkv, N, d);
            ASSERT_EQ(attn4j_structured_qkv(ATTN4J_PATTERN_MIXED, run_seed() + static_cast<uint64_t>(d), &hq.t, &hk.t, &hv.t),
                      ATTN4J_STATUS_OK);
            // Aligned copies, and copies one element past a 16-byte boundary (same strides).
            DeviceTensor q(ATTN4J_DTYPE_BF16, B, Hq, N, d, false), k(ATTN4J_DTYPE_BF16, B, Hkv, N, d, false);
            DeviceTensor v(ATTN4J_DTYPE_BF16, B, Hkv, N, d, false), out(ATTN4J_DTYPE_BF16, B, Hq, N, d, false);
            void *shifted[2] = {nullptr, nullptr};
            attn4j_tensor sq = q.t, sk = k.t;
            int i = 0;
            for (auto [dev, host, view] : {std::tuple<DeviceTensor *, HostTensor *, attn4j_tensor *>{&q, &hq, &sq}, {&k, &hk, &sk}}) {
                ASSERT_EQ(attn4j_cuda_memcpy(dev->ptr, host->bytes.data(), dev->bytes, ATTN4J_COPY_HOST_TO_DEVICE), ATTN4J_STATUS_OK);
                ASSERT_EQ(attn4j_cuda_malloc(0, dev->bytes + 16, &shifted[i]), ATTN4J_STATUS_OK);
                view->data = static_cast<char *>(shifted[i]) + 2;
                ASSERT_EQ(attn4j_cuda_memcpy(view->data, host->bytes.data(), dev->bytes, ATTN4J_COPY_HOST_TO_DEVICE), ATTN4J_STATUS_OK);
                ++i;
            }
            ASSERT_EQ(attn4j_cuda_memcpy(v.ptr, hv.bytes.data(), v.bytes, ATTN4J_COPY_HOST_TO_DEVICE), ATTN4J_STATUS_OK);
            float tau = 0.01f;
            attn4j_sale_params p{sizeof(attn4j_sale_params)};
            p.causal = causal ? 1 : 0;
            p.thresholds = &tau;
            p.num_thresholds = 1;
            int64_t bytes = 0;
            ASSERT_EQ(attn4j_sale_mask_bytes(&q.t, &k.t, &p, &bytes), ATTN4J_STATUS_OK);
            for (const char *wgmma : {"1", "0"}) {
                setenv("ATTN4J_CUDA_WGMMA", wgmma, 1);
                std::vector<uint8_t> masks[2];
                for (int shift = 0; shift < 2; ++shift) {
                    void *dmask = nullptr;
                    ASSERT_EQ(attn4j_cuda_malloc(0, bytes, &dmask), ATTN4J_STATUS_OK);
                    // Different poison per run: a byte that neither writes differs too.
                    std::vector<uint8_t> poison(static_cast<size_t>(bytes), shift ? 0x5A : 0xA5);
                    ASSERT_EQ(attn4j_cuda_memcpy(dmask, poison.data(), bytes, ATTN4J_COPY_HOST_TO_DEVICE), ATTN4J_STATUS_OK);
                    ASSERT_EQ(attn4j_sale_forward(shift ? &sq : &q.t, shift ? &sk : &k.t, &v.t, &out.t, nullptr, &p,
                                                  static_cast<uint8_t *>(dmask), bytes, nullptr),
                              ATTN4J_STATUS_OK)
                        << attn4j_last_error();
                    ASSERT_EQ(attn4j_cuda_synchronize(0), ATTN4J_STATUS_OK);
                    masks[shift].resize(static_cast<size_t>(bytes));
                    ASSERT_EQ(attn4j_cuda_memcpy(masks[shift].data(), dmask, bytes, ATTN4J_COPY_DEVICE_TO_HOST), ATTN4J_STATUS_OK);
                    attn4j_cuda_free(0, dmask);
                }
                int64_t differ = 0, kept = 0;
                for (int64_t x = 0; x < bytes; ++x) {
                    differ += masks[0][x] != masks[1][x];
                    kept += __builtin_popcount(masks[0][x]);
                }
                EXPECT_EQ(differ, 0) << "mask bytes that differ, ATTN4J_CUDA_WGMMA=" << wgmma;
                EXPECT_GT(kept, 0);
            }
            unsetenv("ATTN4J_CUDA_WGMMA");
            for (void *ptr : shifted) attn4j_cuda_free(0, ptr);
        }
    }
}

TEST(CudaBlockSparseErrors, EstimationAndOtherBlockSizesAreNamed) {
    if (attn4j_cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device";
    DeviceTensor q(ATTN4J_DTYPE_BF16, 1, 1, 64, 64, false), out(ATTN4J_DTYPE_BF16, 1, 1, 64, 64, false);
    uint8_t *mask = nullptr;
    ASSERT_EQ(attn4j_cuda_malloc(0, 16, reinterpret_cast<void **>(&mask)), ATTN4J_STATUS_OK);
    attn4j_sale_params p{sizeof(attn4j_sale_params)};
    p.block_q = 32;
    EXPECT_EQ(attn4j_sale_forward(&q.t, &q.t, &q.t, &out.t, nullptr, &p, nullptr, 0, nullptr), ATTN4J_STATUS_UNSUPPORTED);
    EXPECT_NE(std::string(attn4j_last_error()).find("64 x 64 blocks"), std::string::npos) << attn4j_last_error();
    float tau_out[1];
    EXPECT_EQ(attn4j_sale_calibrate(&q.t, &q.t, &q.t, 0.02f, nullptr, tau_out, 1), ATTN4J_STATUS_UNSUPPORTED);
    EXPECT_EQ(attn4j_block_sparse_forward(&q.t, &q.t, &q.t, &out.t, nullptr, &p, mask, 16, nullptr), ATTN4J_STATUS_UNSUPPORTED);
    EXPECT_NE(std::string(attn4j_last_error()).find("64 x 64 blocks"), std::string::npos) << attn4j_last_error();
    attn4j_cuda_free(0, mask);
}

// With sequence lengths the call runs sequence by sequence: what CUDA cannot run is still refused before
// anything is written (here a first sequence of padded rows only), and so are device length arrays
// and a host mask.
TEST(CudaBlockSparseErrors, SequenceCallsAreRefusedBeforeAnyWrite) {
    if (attn4j_cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device";
    DeviceTensor q(ATTN4J_DTYPE_BF16, 2, 1, 64, 64, false), out(ATTN4J_DTYPE_F32, 2, 1, 64, 64, false);
    std::mt19937_64 rng(run_seed());
    q.fill_normal(rng, 1.0f);
    out.poison();
    const int32_t q_lens[2] = {0, 30};
    attn4j_sale_params p;
    attn4j_sale_params_init(&p);
    p.q_lens = q_lens;
    p.block_k = 32;
    EXPECT_EQ(attn4j_sale_forward(&q.t, &q.t, &q.t, &out.t, nullptr, &p, nullptr, 0, nullptr), ATTN4J_STATUS_UNSUPPORTED);
    EXPECT_NE(std::string(attn4j_last_error()).find("64 x 64 blocks"), std::string::npos) << attn4j_last_error();
    ASSERT_EQ(attn4j_cuda_synchronize(0), ATTN4J_STATUS_OK);
    out.download();
    EXPECT_TRUE(std::isnan(out.host.get(0, 0, 0, 0))) << "a refused call wrote the padded rows";
    void *d_lens = nullptr;
    ASSERT_EQ(attn4j_cuda_malloc(0, 8, &d_lens), ATTN4J_STATUS_OK);
    ASSERT_EQ(attn4j_cuda_memcpy(d_lens, q_lens, 8, ATTN4J_COPY_HOST_TO_DEVICE), ATTN4J_STATUS_OK);
    attn4j_sale_params on_device;
    attn4j_sale_params_init(&on_device);
    on_device.q_lens = static_cast<const int32_t *>(d_lens);
    EXPECT_EQ(attn4j_sale_forward(&q.t, &q.t, &q.t, &out.t, nullptr, &on_device, nullptr, 0, nullptr), ATTN4J_STATUS_UNSUPPORTED);
    EXPECT_NE(std::string(attn4j_last_error()).find("params.q_lens is device memory"), std::string::npos) << attn4j_last_error();
    std::vector<uint8_t> host_mask(64, 0xFF);
    EXPECT_EQ(attn4j_block_sparse_forward(&q.t, &q.t, &q.t, &out.t, nullptr, nullptr, host_mask.data(), 64, nullptr),
              ATTN4J_STATUS_INVALID_DEVICE);
    EXPECT_NE(std::string(attn4j_last_error()).find("mask is not memory of CUDA device 0"), std::string::npos)
        << attn4j_last_error();
    attn4j_cuda_free(0, d_lens);
}

}  // namespace
}  // namespace attn4j::test
