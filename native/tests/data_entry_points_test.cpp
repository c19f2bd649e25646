// The *_data entry points (data pointers as arguments, for pinned Java heap arrays) give the same bytes
// as the ordinary entry points, and the same errors when a pointer is missing.
#include <gtest/gtest.h>

#include <cstring>

#include "attn4j.h"
#include "test_support.h"

namespace attn4j::test {
namespace {

struct Qkv {
    HostTensor q, k, v, out, lse, state_in, state_out;
    Qkv(uint64_t seed, int64_t n) {
        std::mt19937_64 rng(seed);
        q = HostTensor(ATTN4J_DTYPE_F32, 1, 4, n, 32);
        k = HostTensor(ATTN4J_DTYPE_F32, 1, 2, n, 32);
        v = HostTensor(ATTN4J_DTYPE_F32, 1, 2, n, 24);
        out = HostTensor(ATTN4J_DTYPE_F32, 1, 4, n, 24);
        lse = HostTensor(ATTN4J_DTYPE_F32, 1, 4, n, 1);
        state_in = HostTensor(ATTN4J_DTYPE_F32, 1, 4, 32, 24);
        state_out = HostTensor(ATTN4J_DTYPE_F32, 1, 4, 32, 24);
        q.fill_normal(rng, 1.0f);
        k.fill_normal(rng, 1.0f);
        v.fill_normal(rng, 1.0f);
        state_in.fill_normal(rng, 1.0f);
        out.poison();
        lse.poison();
        state_out.poison();
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

    attn4j_flash_params fp{sizeof(attn4j_flash_params), 0.0f, 0.0f, 1, -1, -1, 0, nullptr};
    ASSERT_EQ(attn4j_flash_forward(&a.q.t, &a.k.t, &a.v.t, &a.out.t, &a.lse.t, &fp), ATTN4J_STATUS_OK);
    ASSERT_EQ(attn4j_flash_forward_data(b.q.t.data, b.k.t.data, b.v.t.data, b.out.t.data, b.lse.t.data, &q, &k, &v, &o,
                                        &l, &fp),
              ATTN4J_STATUS_OK)
        << attn4j_last_error();
    EXPECT_EQ(a.out.bytes, b.out.bytes);
    EXPECT_EQ(a.lse.bytes, b.lse.bytes);

    attn4j_lightning_params lp{sizeof(attn4j_lightning_params)};
    ASSERT_EQ(attn4j_lightning_forward(&a.q.t, &a.k.t, &a.v.t, &a.out.t, nullptr, nullptr, &lp), ATTN4J_STATUS_OK);
    ASSERT_EQ(attn4j_lightning_forward_data(b.q.t.data, b.k.t.data, b.v.t.data, b.out.t.data, nullptr, nullptr, &q, &k, &v,
                                            &o, nullptr, nullptr, &lp),
              ATTN4J_STATUS_OK)
        << attn4j_last_error();
    EXPECT_EQ(a.out.bytes, b.out.bytes);

    // With both states: the state data pointers are arguments too.
    const attn4j_tensor si = Qkv::bare(b.state_in), so = Qkv::bare(b.state_out);
    ASSERT_EQ(attn4j_lightning_forward(&a.q.t, &a.k.t, &a.v.t, &a.out.t, &a.state_in.t, &a.state_out.t, &lp),
              ATTN4J_STATUS_OK);
    ASSERT_EQ(attn4j_lightning_forward_data(b.q.t.data, b.k.t.data, b.v.t.data, b.out.t.data, b.state_in.t.data,
                                            b.state_out.t.data, &q, &k, &v, &o, &si, &so, &lp),
              ATTN4J_STATUS_OK)
        << attn4j_last_error();
    EXPECT_EQ(a.out.bytes, b.out.bytes);
    EXPECT_EQ(a.state_out.bytes, b.state_out.bytes);
    // In place (decode form): the same data pointer for both states.
    ASSERT_EQ(attn4j_lightning_decode(&a.q.t, &a.k.t, &a.v.t, &a.out.t, &a.state_in.t, &lp), ATTN4J_STATUS_OK);
    ASSERT_EQ(attn4j_lightning_forward_data(b.q.t.data, b.k.t.data, b.v.t.data, b.out.t.data, b.state_in.t.data,
                                            b.state_in.t.data, &q, &k, &v, &o, &si, &si, &lp),
              ATTN4J_STATUS_OK)
        << attn4j_last_error();
    EXPECT_EQ(a.out.bytes, b.out.bytes);
    EXPECT_EQ(a.state_in.bytes, b.state_in.bytes);

    attn4j_sale_params sp{sizeof(attn4j_sale_params)};
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

    float ta[4] = {}, tb[4] = {-1, -1, -1, -1};
    ASSERT_EQ(attn4j_sale_calibrate(&a.q.t, &a.k.t, &a.v.t, 0.02f, &sp, ta, 4), ATTN4J_STATUS_OK);
    ASSERT_EQ(attn4j_sale_calibrate_data(b.q.t.data, b.k.t.data, b.v.t.data, &q, &k, &v, 0.02f, &sp, tb, 4),
              ATTN4J_STATUS_OK)
        << attn4j_last_error();
    EXPECT_EQ(std::memcmp(ta, tb, sizeof ta), 0);
}

TEST(DataEntryPoints, MissingPointersAreNamed) {
    Qkv b(1, 16);
    const attn4j_tensor q = Qkv::bare(b.q), k = Qkv::bare(b.k), v = Qkv::bare(b.v), o = Qkv::bare(b.out);
    EXPECT_EQ(attn4j_flash_forward_data(b.q.t.data, nullptr, b.v.t.data, b.out.t.data, nullptr, &q, &k, &v, &o, nullptr,
                                        nullptr),
              ATTN4J_STATUS_NULL_ARGUMENT);
    EXPECT_NE(std::string(attn4j_last_error()).find("k.data"), std::string::npos) << attn4j_last_error();
    EXPECT_EQ(attn4j_lightning_forward_data(b.q.t.data, b.k.t.data, b.v.t.data, b.out.t.data, nullptr, nullptr, nullptr,
                                            &k, &v, &o, nullptr, nullptr, nullptr),
              ATTN4J_STATUS_NULL_ARGUMENT);
    EXPECT_NE(std::string(attn4j_last_error()).find("q"), std::string::npos) << attn4j_last_error();
    const attn4j_tensor si = Qkv::bare(b.state_in), so = Qkv::bare(b.state_out);
    EXPECT_EQ(attn4j_lightning_forward_data(b.q.t.data, b.k.t.data, b.v.t.data, b.out.t.data, b.state_in.t.data, nullptr,
                                            &q, &k, &v, &o, &si, &so, nullptr),
              ATTN4J_STATUS_NULL_ARGUMENT);
    EXPECT_NE(std::string(attn4j_last_error()).find("state_out.data"), std::string::npos) << attn4j_last_error();
    EXPECT_EQ(attn4j_lightning_forward_data(b.q.t.data, b.k.t.data, b.v.t.data, b.out.t.data, nullptr, nullptr, &q, &k,
                                            &v, &o, &si, nullptr, nullptr),
              ATTN4J_STATUS_NULL_ARGUMENT);
    EXPECT_NE(std::string(attn4j_last_error()).find("state_in.data"), std::string::npos) << attn4j_last_error();
    float tau[4];
    EXPECT_EQ(attn4j_sale_calibrate_data(b.q.t.data, b.k.t.data, nullptr, &q, &k, &v, 0.02f, nullptr, tau, 4),
              ATTN4J_STATUS_NULL_ARGUMENT);
    EXPECT_NE(std::string(attn4j_last_error()).find("v.data"), std::string::npos) << attn4j_last_error();
}

}  // namespace
}  // namespace attn4j::test
