// The params structs' growth rule: a caller built against the first layout (a frozen copy below) gets
// the same results as one built against this header; a size the library cannot know is rejected with
// a message naming params.size; the *_params_init functions write the defaults.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "attn4j.h"
#include "test_support.h"

namespace attn4j::test {
namespace {

// attn4j 0.2.0's layouts, frozen: these must keep working whatever attn4j.h appends later.
struct FlashParamsV1 {
    int32_t size;
    float scale, softcap;
    int32_t causal, window_left, window_right, num_threads;
    void *cuda_stream;
};
struct LightningParamsV1 {
    int32_t size;
    const float *slopes;
    int32_t num_slopes, block_size, num_threads;
    void *cuda_stream;
};
struct SaleParamsV1 {
    int32_t size;
    float scale;
    int32_t causal;
    const float *thresholds;
    int32_t num_thresholds, block_q, block_k, sink_blocks, local_blocks, num_threads;
    void *cuda_stream;
};
static_assert(sizeof(FlashParamsV1) == ATTN4J_FLASH_PARAMS_SIZE_V1);
static_assert(sizeof(LightningParamsV1) == ATTN4J_LIGHTNING_PARAMS_SIZE_V1);
static_assert(sizeof(SaleParamsV1) == ATTN4J_SALE_PARAMS_SIZE_V1);

// The library reads a params pointer as its own struct type; a v1 caller passes its own struct.
template <typename P, typename V1>
const P *as_params(const V1 &v1) {
    return reinterpret_cast<const P *>(&v1);
}

struct Tensors {
    HostTensor q, k, v, out;
    Tensors(uint64_t seed, int64_t n) {
        std::mt19937_64 rng(seed);
        q = HostTensor(ATTN4J_DTYPE_F32, 1, 2, n, 32);
        k = HostTensor(ATTN4J_DTYPE_F32, 1, 2, n, 32);
        v = HostTensor(ATTN4J_DTYPE_F32, 1, 2, n, 32);
        out = HostTensor(ATTN4J_DTYPE_F32, 1, 2, n, 32);
        q.fill_normal(rng, 0.5f);
        k.fill_normal(rng, 0.5f);
        v.fill_normal(rng, 1.0f);
        out.poison();
    }
};

TEST(ParamsAbi, InitWritesTheDefaults) {
    attn4j_flash_params f;
    std::memset(&f, 0x5A, sizeof f);
    ASSERT_EQ(attn4j_flash_params_init(&f), ATTN4J_STATUS_OK);
    EXPECT_EQ(f.size, static_cast<int32_t>(sizeof f));
    EXPECT_EQ(f.scale, 0.0f);
    EXPECT_EQ(f.softcap, 0.0f);
    EXPECT_EQ(f.causal, 0);
    EXPECT_EQ(f.window_left, -1);
    EXPECT_EQ(f.window_right, -1);
    EXPECT_EQ(f.num_threads, 0);
    EXPECT_EQ(f.cuda_stream, nullptr);

    attn4j_lightning_params l;
    std::memset(&l, 0x5A, sizeof l);
    ASSERT_EQ(attn4j_lightning_params_init(&l), ATTN4J_STATUS_OK);
    EXPECT_EQ(l.size, static_cast<int32_t>(sizeof l));
    EXPECT_EQ(l.slopes, nullptr);
    EXPECT_EQ(l.num_slopes, 0);
    EXPECT_EQ(l.block_size, 0);
    EXPECT_EQ(l.num_threads, 0);
    EXPECT_EQ(l.cuda_stream, nullptr);

    attn4j_sale_params s;
    std::memset(&s, 0x5A, sizeof s);
    ASSERT_EQ(attn4j_sale_params_init(&s), ATTN4J_STATUS_OK);
    EXPECT_EQ(s.size, static_cast<int32_t>(sizeof s));
    EXPECT_EQ(s.scale, 0.0f);
    EXPECT_EQ(s.causal, 0);
    EXPECT_EQ(s.thresholds, nullptr);
    EXPECT_EQ(s.num_thresholds, 0);
    EXPECT_EQ(s.block_q, 0);
    EXPECT_EQ(s.block_k, 0);
    EXPECT_EQ(s.sink_blocks, 0);
    EXPECT_EQ(s.local_blocks, 0);
    EXPECT_EQ(s.num_threads, 0);
    EXPECT_EQ(s.cuda_stream, nullptr);

    EXPECT_EQ(f.block_table, nullptr);
    EXPECT_EQ(f.max_pages, 0);
    attn4j_kv_append_params a;
    std::memset(&a, 0x5A, sizeof a);
    ASSERT_EQ(attn4j_kv_append_params_init(&a), ATTN4J_STATUS_OK);
    EXPECT_EQ(a.size, static_cast<int32_t>(sizeof a));
    EXPECT_EQ(a.block_table, nullptr);
    EXPECT_EQ(a.max_pages, 0);
    EXPECT_EQ(a.cache_lens, nullptr);
    EXPECT_EQ(a.new_lens, nullptr);
    EXPECT_EQ(a.num_threads, 0);
    EXPECT_EQ(a.cuda_stream, nullptr);
    EXPECT_EQ(attn4j_kv_append_params_init(nullptr), ATTN4J_STATUS_NULL_ARGUMENT);

    EXPECT_EQ(attn4j_flash_params_init(nullptr), ATTN4J_STATUS_NULL_ARGUMENT);
    EXPECT_EQ(attn4j_lightning_params_init(nullptr), ATTN4J_STATUS_NULL_ARGUMENT);
    EXPECT_EQ(attn4j_sale_params_init(nullptr), ATTN4J_STATUS_NULL_ARGUMENT);
    EXPECT_NE(std::string(attn4j_last_error()).find("NULL"), std::string::npos) << attn4j_last_error();
}

TEST(ParamsAbi, TheFirstLayoutGivesTheSameResults) {
    const uint64_t seed = run_seed();
    SCOPED_TRACE("ATTN4J_SEED=" + std::to_string(seed));
    Tensors a(seed, 70), b(seed, 70);

    attn4j_flash_params f;
    attn4j_flash_params_init(&f);
    f.causal = 1;
    f.window_left = 9;
    f.softcap = 5.0f;
    FlashParamsV1 f1{ATTN4J_FLASH_PARAMS_SIZE_V1, 0.0f, 5.0f, 1, 9, -1, 0, nullptr};
    ASSERT_EQ(attn4j_flash_forward(&a.q.t, &a.k.t, &a.v.t, &a.out.t, nullptr, &f), ATTN4J_STATUS_OK) << attn4j_last_error();
    ASSERT_EQ(attn4j_flash_forward(&b.q.t, &b.k.t, &b.v.t, &b.out.t, nullptr, as_params<attn4j_flash_params>(f1)),
              ATTN4J_STATUS_OK)
        << attn4j_last_error();
    EXPECT_EQ(a.out.bytes, b.out.bytes);

    const float slopes[2] = {0.1f, 0.7f};
    attn4j_lightning_params l;
    attn4j_lightning_params_init(&l);
    l.slopes = slopes;
    l.num_slopes = 2;
    l.block_size = 16;
    LightningParamsV1 l1{ATTN4J_LIGHTNING_PARAMS_SIZE_V1, slopes, 2, 16, 0, nullptr};
    ASSERT_EQ(attn4j_lightning_forward(&a.q.t, &a.k.t, &a.v.t, &a.out.t, nullptr, nullptr, &l), ATTN4J_STATUS_OK);
    ASSERT_EQ(attn4j_lightning_forward(&b.q.t, &b.k.t, &b.v.t, &b.out.t, nullptr, nullptr,
                                       as_params<attn4j_lightning_params>(l1)),
              ATTN4J_STATUS_OK)
        << attn4j_last_error();
    EXPECT_EQ(a.out.bytes, b.out.bytes);

    const float tau = 0.05f;
    attn4j_sale_params s;
    attn4j_sale_params_init(&s);
    s.causal = 1;
    s.thresholds = &tau;
    s.num_thresholds = 1;
    s.block_q = s.block_k = 16;
    SaleParamsV1 s1{ATTN4J_SALE_PARAMS_SIZE_V1, 0.0f, 1, &tau, 1, 16, 16, 0, 0, 0, nullptr};
    const attn4j_sale_params *s1p = as_params<attn4j_sale_params>(s1);
    int64_t bytes_a = 0, bytes_b = 0;
    ASSERT_EQ(attn4j_sale_mask_bytes(&a.q.t, &a.k.t, &s, &bytes_a), ATTN4J_STATUS_OK);
    ASSERT_EQ(attn4j_sale_mask_bytes(&b.q.t, &b.k.t, s1p, &bytes_b), ATTN4J_STATUS_OK) << attn4j_last_error();
    ASSERT_EQ(bytes_a, bytes_b);
    std::vector<uint8_t> ma(static_cast<size_t>(bytes_a)), mb(static_cast<size_t>(bytes_b));
    ASSERT_EQ(attn4j_sale_forward(&a.q.t, &a.k.t, &a.v.t, &a.out.t, nullptr, &s, ma.data(), bytes_a, nullptr),
              ATTN4J_STATUS_OK);
    ASSERT_EQ(attn4j_sale_forward(&b.q.t, &b.k.t, &b.v.t, &b.out.t, nullptr, s1p, mb.data(), bytes_b, nullptr),
              ATTN4J_STATUS_OK)
        << attn4j_last_error();
    EXPECT_EQ(a.out.bytes, b.out.bytes);
    EXPECT_EQ(ma, mb);
    ASSERT_EQ(attn4j_block_sparse_forward(&b.q.t, &b.k.t, &b.v.t, &b.out.t, nullptr, s1p, mb.data(), bytes_b, nullptr),
              ATTN4J_STATUS_OK)
        << attn4j_last_error();
    EXPECT_EQ(a.out.bytes, b.out.bytes);
    float ta[2], tb[2];
    ASSERT_EQ(attn4j_sale_calibrate(&a.q.t, &a.k.t, &a.v.t, 0.02f, &s, ta, 2), ATTN4J_STATUS_OK);
    ASSERT_EQ(attn4j_sale_calibrate(&b.q.t, &b.k.t, &b.v.t, 0.02f, s1p, tb, 2), ATTN4J_STATUS_OK) << attn4j_last_error();
    EXPECT_EQ(std::memcmp(ta, tb, sizeof ta), 0);
}

// Every entry point that takes a params struct, called with a given size field.
std::vector<std::pair<std::string, int32_t>> calls_with_size(int32_t flash_size, int32_t lightning_size,
                                                             int32_t sale_size) {
    Tensors t(1, 32);
    attn4j_flash_params f;
    attn4j_flash_params_init(&f);
    f.size = flash_size;
    attn4j_lightning_params l;
    attn4j_lightning_params_init(&l);
    l.size = lightning_size;
    attn4j_sale_params s;
    attn4j_sale_params_init(&s);
    s.size = sale_size;
    int64_t bytes = 0;
    std::vector<uint8_t> mask(64, 0xFF);
    float tau[2];
    std::vector<std::pair<std::string, int32_t>> r;
    auto record = [&](const char *name, int32_t st) { r.emplace_back(std::string(name) + ": " + attn4j_last_error(), st); };
    record("flash_forward", attn4j_flash_forward(&t.q.t, &t.k.t, &t.v.t, &t.out.t, nullptr, &f));
    record("lightning_forward", attn4j_lightning_forward(&t.q.t, &t.k.t, &t.v.t, &t.out.t, nullptr, nullptr, &l));
    record("sale_mask_bytes", attn4j_sale_mask_bytes(&t.q.t, &t.k.t, &s, &bytes));
    record("sale_forward", attn4j_sale_forward(&t.q.t, &t.k.t, &t.v.t, &t.out.t, nullptr, &s, nullptr, 0, nullptr));
    record("block_sparse_forward",
           attn4j_block_sparse_forward(&t.q.t, &t.k.t, &t.v.t, &t.out.t, nullptr, &s, mask.data(), 64, nullptr));
    record("sale_calibrate", attn4j_sale_calibrate(&t.q.t, &t.k.t, &t.v.t, 0.02f, &s, tau, 2));
    return r;
}

TEST(ParamsAbi, SizesTheLibraryCannotKnowAreRejected) {
    struct Bad {
        int32_t flash, lightning, sale;
        const char *says;  // in every message
    };
    const int32_t fs = sizeof(attn4j_flash_params), ls = sizeof(attn4j_lightning_params), ss = sizeof(attn4j_sale_params);
    const Bad bad[] = {
        {fs + 8, ls + 8, ss + 8, "built against a newer attn4j.h"},                     // a newer caller
        {ATTN4J_FLASH_PARAMS_SIZE_V1 - 4, ATTN4J_LIGHTNING_PARAMS_SIZE_V1 - 4, ATTN4J_SALE_PARAMS_SIZE_V1 - 4,
         "smaller than the first"},                                                      // too small
        {0, 0, 0, "params.size = 0 "},                                                   // never set
        {-7, -7, -7, "params.size = -7 "},                                               // garbage
        {0x5A5A5A5A, 0x5A5A5A5A, 0x5A5A5A5A, "is larger than this library's"},            // garbage
    };
    for (const Bad &b : bad) {
        for (const auto &[what, st] : calls_with_size(b.flash, b.lightning, b.sale)) {
            SCOPED_TRACE(what);
            EXPECT_EQ(st, ATTN4J_STATUS_INVALID_PARAM);
            EXPECT_NE(what.find("params.size"), std::string::npos);
            EXPECT_NE(what.find(b.says), std::string::npos);
        }
    }
    const std::string msg = calls_with_size(fs + 8, ls, ss)[0].first;
    EXPECT_NE(msg.find("params.size = " + std::to_string(fs + 8) + " is larger than this library's attn4j_flash_params (" +
                       std::to_string(fs) + " bytes)"),
              std::string::npos)
        << msg;
}

TEST(ParamsAbi, EverySizeFromTheFirstLayoutToOursIsAccepted) {
    for (const auto &[what, st] : calls_with_size(sizeof(attn4j_flash_params), sizeof(attn4j_lightning_params),
                                                  sizeof(attn4j_sale_params)))
        EXPECT_EQ(st, ATTN4J_STATUS_OK) << what;
    for (const auto &[what, st] :
         calls_with_size(ATTN4J_FLASH_PARAMS_SIZE_V1, ATTN4J_LIGHTNING_PARAMS_SIZE_V1, ATTN4J_SALE_PARAMS_SIZE_V1))
        EXPECT_EQ(st, ATTN4J_STATUS_OK) << what;
}

}  // namespace
}  // namespace attn4j::test
