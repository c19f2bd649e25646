// The *_data entry points (data pointers as arguments, for pinned Java heap arrays) give the same bytes
// as the ordinary entry points, and the same errors when a pointer is missing.
#include <gtest/gtest.h>

#include <cstring>

#include "attn4j.h"
#include "test_support.h"

namespace attn4j::test {
namespace {

struct Qkv {
    HostTensor q, k, v, out, lse;
    Qkv(uint64_t seed, int64_t n) {
        std::mt19937_64 rng(seed);
        q = HostTensor(ATTN4J_DTYPE_F32, 1, 4, n, 32);
        k = HostTensor(ATTN4J_DTYPE_F32, 1, 2, n, 32);
        v = HostTensor(ATTN4J_DTYPE_F32, 1, 2, n, 24);
        out = HostTensor(ATTN4J_DTYPE_F32, 1, 4, n, 24);
        lse = HostTensor(ATTN4J_DTYPE_F32, 1, 4, n, 1);
        q.fill_normal(rng, 1.0f);
        k.fill_normal(rng, 1.0f);
        v.fill_normal(rng, 1.0f);
        out.poison();
        lse.poison();
    }
    // Descriptors without their data (what a Java heap caller passes).
    static attn4j_tensor bare(const HostTensor &t) {
        attn4j_tensor d = t.t;
        d.data = nullptr;
        return d;
    }
};

TEST(DataEntryPoints, SameBytesAsTheDescriptorEntryPoints) {
    const uint64_t seed = run_seed();
    SCOPED_TRACE("ATTN4J_SEED=" + std::to_string(seed));
    Qkv a(seed, 130), b(seed, 130);
    const attn4j_tensor q = Qkv::bare(b.q), k = Qkv::bare(b.k), v = Qkv::bare(b.v), o = Qkv::bare(b.out), l = Qkv::bare(b.lse);

    attn4j_flash_params fp{0.0f, 0.0f, 1, -1, -1, 0, nullptr};
    ASSERT_EQ(attn4j_flash_forward(&a.q.t, &a.k.t, &a.v.t, &a.out.t, &a.lse.t, &fp), ATTN4J_STATUS_OK);
    ASSERT_EQ(attn4j_flash_forward_data(b.q.t.data, b.k.t.data, b.v.t.data, b.out.t.data, b.lse.t.data, &q, &k, &v, &o,
                                        &l, &fp),
              ATTN4J_STATUS_OK)
        << attn4j_last_error();
    EXPECT_EQ(a.out.bytes, b.out.bytes);
    EXPECT_EQ(a.lse.bytes, b.lse.bytes);

    attn4j_lightning_params lp{};
    ASSERT_EQ(attn4j_lightning_forward(&a.q.t, &a.k.t, &a.v.t, &a.out.t, nullptr, nullptr, &lp), ATTN4J_STATUS_OK);
    ASSERT_EQ(attn4j_lightning_forward_data(b.q.t.data, b.k.t.data, b.v.t.data, b.out.t.data, &q, &k, &v, &o, nullptr,
                                            nullptr, &lp),
              ATTN4J_STATUS_OK)
        << attn4j_last_error();
    EXPECT_EQ(a.out.bytes, b.out.bytes);

    attn4j_sale_params sp{};
    sp.causal = 1;
    sp.block_q = sp.block_k = 16;
    std::vector<uint8_t> ma(72, 0), mb(72, 0xFF);  // 4 heads x 9 query blocks x 2 bytes
    double da = -1, db = -2;
    ASSERT_EQ(attn4j_sale_forward(&a.q.t, &a.k.t, &a.v.t, &a.out.t, &a.lse.t, &sp, ma.data(), 72, &da), ATTN4J_STATUS_OK);
    ASSERT_EQ(attn4j_sale_forward_data(b.q.t.data, b.k.t.data, b.v.t.data, b.out.t.data, b.lse.t.data, &q, &k, &v, &o, &l,
                                       &sp, mb.data(), 72, &db),
              ATTN4J_STATUS_OK)
        << attn4j_last_error();
    EXPECT_EQ(a.out.bytes, b.out.bytes);
    EXPECT_EQ(ma, mb);
    EXPECT_EQ(da, db);

    ASSERT_EQ(attn4j_block_sparse_forward(&a.q.t, &a.k.t, &a.v.t, &a.out.t, nullptr, &sp, ma.data(), 72, &da), ATTN4J_STATUS_OK);
    ASSERT_EQ(attn4j_block_sparse_forward_data(b.q.t.data, b.k.t.data, b.v.t.data, b.out.t.data, nullptr, &q, &k, &v, &o,
                                               nullptr, &sp, mb.data(), 72, &db),
              ATTN4J_STATUS_OK);
    EXPECT_EQ(a.out.bytes, b.out.bytes);
}

TEST(DataEntryPoints, MissingPointersAreNamed) {
    Qkv b(1, 16);
    const attn4j_tensor q = Qkv::bare(b.q), k = Qkv::bare(b.k), v = Qkv::bare(b.v), o = Qkv::bare(b.out);
    EXPECT_EQ(attn4j_flash_forward_data(b.q.t.data, nullptr, b.v.t.data, b.out.t.data, nullptr, &q, &k, &v, &o, nullptr,
                                        nullptr),
              ATTN4J_STATUS_NULL_ARGUMENT);
    EXPECT_NE(std::string(attn4j_last_error()).find("k.data"), std::string::npos) << attn4j_last_error();
    EXPECT_EQ(attn4j_lightning_forward_data(b.q.t.data, b.k.t.data, b.v.t.data, b.out.t.data, nullptr, &k, &v, &o, nullptr,
                                            nullptr, nullptr),
              ATTN4J_STATUS_NULL_ARGUMENT);
    EXPECT_NE(std::string(attn4j_last_error()).find("q"), std::string::npos) << attn4j_last_error();
}

}  // namespace
}  // namespace attn4j::test
