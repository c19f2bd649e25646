// Lightning Attention-2 on CUDA devices, what the shared case table (lightning_cases.cpp, run on every
// backend by lightning_forward_test.cpp) does not cover: the decode kernel (calls of at most 16 tokens
// per sequence) against the fp64 reference and the chunked passes, prefill then decode equals one
// longer prefill, and the errors only CUDA gives. Skips (visibly) without a device.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "attn4j.h"
#include "cpu/reference/lightning_reference.h"
#include "cuda_test_support.h"
#include "fill_problem.h"
#include "lightning_cases.h"
#include "test_support.h"

namespace attn4j::test {
namespace {

// An f32 state [S, H, d, dv] on the device with rows ld >= dv floats apart, starting `offset` floats
// into its allocation (offset 1 or an odd ld: no float4 access), its values moved through contiguous
// host tensors.
struct DeviceState {
    attn4j_tensor t{};
    void *ptr = nullptr;
    int64_t floats = 0;

    DeviceState(int64_t s, int64_t h, int64_t d, int64_t dv, int64_t ld, int64_t offset) {
        floats = s * h * d * ld + offset;
        EXPECT_EQ(attn4j_cuda_malloc(0, floats * 4, &ptr), ATTN4J_STATUS_OK) << attn4j_last_error();
        t.data = static_cast<float *>(ptr) + offset;
        t.dtype = ATTN4J_DTYPE_F32;
        t.device = 0;
        const int64_t shape[4] = {s, h, d, dv}, strides[4] = {h * d * ld, d * ld, ld, 1};
        for (int i = 0; i < 4; ++i) {
            t.shape[i] = shape[i];
            t.strides[i] = strides[i];
        }
    }
    ~DeviceState() { attn4j_cuda_free(0, ptr); }

    // The whole allocation: NaN between and around the rows, then `values` in them.
    void upload(const HostTensor &values) {
        std::vector<float> raw(static_cast<size_t>(floats), std::nanf(""));
        for_each([&](int64_t at, int64_t b, int64_t h, int64_t i, int64_t c) { raw[at] = values.get(b, h, i, c); });
        ASSERT_EQ(attn4j_cuda_memcpy(ptr, raw.data(), floats * 4, ATTN4J_COPY_HOST_TO_DEVICE), ATTN4J_STATUS_OK);
    }
    HostTensor download() const {
        std::vector<float> raw(static_cast<size_t>(floats));
        EXPECT_EQ(attn4j_cuda_memcpy(raw.data(), ptr, floats * 4, ATTN4J_COPY_DEVICE_TO_HOST), ATTN4J_STATUS_OK);
        HostTensor out(ATTN4J_DTYPE_F32, t.shape[0], t.shape[1], t.shape[2], t.shape[3]);
        for_each([&](int64_t at, int64_t b, int64_t h, int64_t i, int64_t c) { out.set(b, h, i, c, raw[at]); });
        return out;
    }
    void for_each(const std::function<void(int64_t, int64_t, int64_t, int64_t, int64_t)> &f) const {
        const int64_t base = static_cast<float *>(t.data) - static_cast<float *>(ptr);
        for (int64_t b = 0; b < t.shape[0]; ++b)
            for (int64_t h = 0; h < t.shape[1]; ++h)
                for (int64_t i = 0; i < t.shape[2]; ++i)
                    for (int64_t c = 0; c < t.shape[3]; ++c)
                        f(base + b * t.strides[0] + h * t.strides[1] + i * t.strides[2] + c, b, h, i, c);
    }
};

std::vector<double> as_doubles(const HostTensor &t) {
    std::vector<double> out;
    for (float x : dense(t)) out.push_back(x);
    return out;
}

// Keeps calls of at most 16 tokens on the chunked passes while alive.
struct ChunkedPasses {
    ChunkedPasses() { setenv("ATTN4J_LIGHTNING_DECODE", "0", 1); }
    ~ChunkedPasses() { unsetenv("ATTN4J_LIGHTNING_DECODE"); }
};

struct DecodeShape {
    std::string name;
    int64_t batch, heads_q, heads_kv, len;
    bool out_f32, bnhd;
    int slopes;                  // lightning_slopes' kind
    int64_t state_pad, offset;   // DeviceState's ld - dv and offset
};

// Decode (state in place) on the decode kernel against the fp64 reference (the state and f32 outputs
// within 1e-5: both are fp32 over exactly the stored inputs) and against the chunked passes on the same
// call. Batches chosen so that each tile width (16, 32 and 64 columns) runs on a 132-SM device.
TEST(CudaLightningDecode, MatchesReferenceAndChunkedPasses) {
    if (attn4j_cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device";
    const std::vector<DecodeShape> shapes = {
        {"b3_gqa4_n16", 3, 8, 2, 16, false, false, 1, 0, 0},
        {"b12_n1_bnhd_heavy_decay", 12, 8, 8, 1, true, true, 4, 0, 0},
        {"b20_gqa2_n5_padded_rows", 20, 8, 4, 5, true, false, 1, 4, 0},
        {"b40_gqa4_n1_unaligned_state_no_decay", 40, 8, 2, 1, false, false, 0, 1, 1},
        {"b1_h2_n7_unaligned_rows", 1, 2, 1, 7, true, true, 1, 3, 0},
    };
    for (int64_t d : {64, 128})
        for (int32_t dtype : {ATTN4J_DTYPE_BF16, ATTN4J_DTYPE_F16})
            for (const DecodeShape &c : shapes) {
                const std::string name = c.name + "_d" + std::to_string(d) + (dtype == ATTN4J_DTYPE_BF16 ? "_bf16" : "_f16");
                SCOPED_TRACE(name + ", seed " + std::to_string(run_seed()) + " (ATTN4J_SEED to repeat)");
                std::mt19937_64 rng(run_seed() ^ std::hash<std::string>{}(name));
                const float std_qk = 1.0f / std::sqrt(std::sqrt(static_cast<float>(d)));
                DeviceTensor q(dtype, c.batch, c.heads_q, c.len, d, c.bnhd), k(dtype, c.batch, c.heads_kv, c.len, d, c.bnhd);
                DeviceTensor v(dtype, c.batch, c.heads_kv, c.len, d, c.bnhd);
                const int32_t out_dtype = c.out_f32 ? ATTN4J_DTYPE_F32 : dtype;
                DeviceTensor out(out_dtype, c.batch, c.heads_q, c.len, d, c.bnhd), chunked(out_dtype, c.batch, c.heads_q, c.len, d, c.bnhd);
                q.fill_normal(rng, std_qk);
                k.fill_normal(rng, std_qk);
                v.fill_normal(rng, 1.0f);
                HostTensor s0(ATTN4J_DTYPE_F32, c.batch, c.heads_q, d, d);
                s0.fill_normal(rng, 1.0f);
                DeviceState state(c.batch, c.heads_q, d, d, d + c.state_pad, c.offset);
                DeviceState state_chunked(c.batch, c.heads_q, d, d, d + c.state_pad, c.offset);
                state.upload(s0);
                state_chunked.upload(s0);
                out.poison();
                chunked.poison();
                const std::vector<float> slopes = lightning_slopes(c.slopes, c.heads_q);
                attn4j_lightning_params p;
                attn4j_lightning_params_init(&p);
                if (c.slopes != 0) {
                    p.slopes = slopes.data();
                    p.num_slopes = static_cast<int32_t>(c.heads_q);
                }
                ASSERT_EQ(attn4j_lightning_decode(&q.t, &k.t, &v.t, &out.t, &state.t, &p), ATTN4J_STATUS_OK) << attn4j_last_error();
                {
                    const ChunkedPasses old_path;
                    ASSERT_EQ(attn4j_lightning_decode(&q.t, &k.t, &v.t, &chunked.t, &state_chunked.t, &p), ATTN4J_STATUS_OK)
                        << attn4j_last_error();
                }
                ASSERT_EQ(attn4j_cuda_synchronize(0), ATTN4J_STATUS_OK) << attn4j_last_error();
                out.download();
                chunked.download();
                const HostTensor s_got = state.download(), s_chunked = state_chunked.download();

                std::vector<double> ref, ref_state;
                HostTensor shape_only(ATTN4J_DTYPE_F32, c.batch, c.heads_q, d, d);
                cpu::lightning_reference(
                    make_lightning_problem(&q.host.t, &k.host.t, &v.host.t, &out.host.t, &s0.t, &shape_only.t, p), ref, ref_state);
                const double out_tol = out_dtype == ATTN4J_DTYPE_F32 ? 1e-5 : out_dtype == ATTN4J_DTYPE_F16 ? 2e-3 : 1e-2;
                EXPECT_LE(rel_l2(out.host, ref), out_tol) << "out against the fp64 reference";
                EXPECT_LE(rel_l2(s_got, ref_state), 1e-5) << "state against the fp64 reference";
                // The chunked passes round the state to the input type for q S and k lambda^(n-1-t) for the
                // update (exact when n = 1).
                EXPECT_LE(rel_l2(out.host, as_doubles(chunked.host)), 1e-2) << "out against the chunked passes";
                EXPECT_LE(rel_l2(s_got, as_doubles(s_chunked)), c.len == 1 ? 1e-4 : 5e-3) << "state against the chunked passes";
            }
}

// Packed sequences: all short (one decode launch) or one long among them (each sequence in turn, the
// short ones on the decode kernel), separate state_in and state_out; against each sequence alone
// through the fp64 reference (an empty one hands its state through).
TEST(CudaLightningDecode, PackedSequencesMatchReference) {
    if (attn4j_cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device";
    const int64_t H = 4, HKV = 2;
    for (const std::vector<int32_t> &lens : {std::vector<int32_t>{1, 0, 16, 3, 7}, std::vector<int32_t>{2, 40, 0, 1}})
        for (int64_t d : {64, 128}) {
            std::vector<int32_t> cu{0};
            for (int32_t n : lens) cu.push_back(cu.back() + n);
            const int64_t S = static_cast<int64_t>(lens.size()), total = cu.back();
            const bool all_short = *std::max_element(lens.begin(), lens.end()) <= 16;
            const double tol = all_short ? 1e-5 : 1e-2;  // the long one's chunked passes round to bf16
            SCOPED_TRACE("d " + std::to_string(d) + ", " + std::to_string(S) + " sequences of " + std::to_string(total) +
                         " tokens, seed " + std::to_string(run_seed()));
            std::mt19937_64 rng(run_seed() ^ static_cast<uint64_t>(0x5e + total + d));
            const float std_qk = 1.0f / std::sqrt(std::sqrt(static_cast<float>(d)));
            DeviceTensor q(ATTN4J_DTYPE_BF16, 1, H, total, d, false), k(ATTN4J_DTYPE_BF16, 1, HKV, total, d, false);
            DeviceTensor v(ATTN4J_DTYPE_BF16, 1, HKV, total, d, false), out(ATTN4J_DTYPE_F32, 1, H, total, d, false);
            DeviceTensor s_in(ATTN4J_DTYPE_F32, S, H, d, d, false), s_out(ATTN4J_DTYPE_F32, S, H, d, d, false);
            q.fill_normal(rng, std_qk);
            k.fill_normal(rng, std_qk);
            v.fill_normal(rng, 1.0f);
            s_in.fill_normal(rng, 1.0f);
            out.poison();
            s_out.poison();
            std::vector<float> slopes = lightning_slopes(1, H);
            attn4j_lightning_params p;
            attn4j_lightning_params_init(&p);
            p.slopes = slopes.data();
            p.num_slopes = static_cast<int32_t>(H);
            p.cu_seqlens = cu.data();
            p.num_seqs = static_cast<int32_t>(S);
            ASSERT_EQ(attn4j_lightning_forward(&q.t, &k.t, &v.t, &out.t, &s_in.t, &s_out.t, &p), ATTN4J_STATUS_OK)
                << attn4j_last_error();
            ASSERT_EQ(attn4j_cuda_synchronize(0), ATTN4J_STATUS_OK);
            out.download();
            s_out.download();
            // Each sequence alone through the reference, its rows and state put where the packed call has them.
            std::vector<double> ref(static_cast<size_t>(H * total * d)), ref_state(static_cast<size_t>(S * H * d * d));
            attn4j_lightning_params alone = p;
            alone.cu_seqlens = nullptr;
            alone.num_seqs = 0;
            for (int64_t b = 0; b < S; ++b) {
                auto rows = [&](const attn4j_tensor &t) {
                    attn4j_tensor x = t;
                    x.data = static_cast<float *>(t.data) + cu[b] * t.strides[2];
                    x.shape[2] = lens[b];
                    return x;
                };
                attn4j_tensor sb = s_in.host.t;
                sb.data = static_cast<float *>(sb.data) + b * sb.strides[0];
                sb.shape[0] = 1;
                const attn4j_tensor qb = rows(q.host.t), kb = rows(k.host.t), vb = rows(v.host.t), ob = rows(out.host.t);
                std::vector<double> o, st;
                cpu::lightning_reference(make_lightning_problem(&qb, &kb, &vb, &ob, &sb, &sb, alone), o, st);
                for (int64_t h = 0; h < H; ++h)
                    for (int64_t i = 0; i < lens[b]; ++i)
                        for (int64_t e = 0; e < d; ++e) ref[(h * total + cu[b] + i) * d + e] = o[(h * lens[b] + i) * d + e];
                std::copy(st.begin(), st.end(), ref_state.begin() + b * H * d * d);
            }
            EXPECT_LE(rel_l2(out.host, ref), tol) << "out";
            EXPECT_LE(rel_l2(s_out.host, ref_state), tol) << "final states";
        }
}

// Prefill, then decode calls of 1, 5, 16 and 2 tokens (state in place; GQA, f16, f32 out) == one
// prefill of all the tokens, and the fp64 reference.
TEST(CudaLightningDecode, DecodeStepsEqualOneLongerPrefill) {
    if (attn4j_cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device";
    const std::vector<int64_t> steps = {1, 5, 16, 2};
    const int64_t n = 150, total = n + 24, H = 8, HKV = 2;
    for (int64_t d : {64, 128}) {
        SCOPED_TRACE("d " + std::to_string(d) + ", seed " + std::to_string(run_seed()));
        std::mt19937_64 rng(run_seed() ^ static_cast<uint64_t>(d));
        const float std_qk = 1.0f / std::sqrt(std::sqrt(static_cast<float>(d)));
        DeviceTensor q(ATTN4J_DTYPE_F16, 1, H, total, d, false), k(ATTN4J_DTYPE_F16, 1, HKV, total, d, false);
        DeviceTensor v(ATTN4J_DTYPE_F16, 1, HKV, total, d, false), full(ATTN4J_DTYPE_F32, 1, H, total, d, false);
        DeviceTensor part(ATTN4J_DTYPE_F32, 1, H, total, d, false), state(ATTN4J_DTYPE_F32, 1, H, d, d, false);
        q.fill_normal(rng, std_qk);
        k.fill_normal(rng, std_qk);
        v.fill_normal(rng, 1.0f);
        full.poison();
        part.poison();
        std::vector<float> slopes = lightning_slopes(1, H);
        attn4j_lightning_params p;
        attn4j_lightning_params_init(&p);
        p.slopes = slopes.data();
        p.num_slopes = static_cast<int32_t>(H);
        ASSERT_EQ(attn4j_lightning_forward(&q.t, &k.t, &v.t, &full.t, nullptr, nullptr, &p), ATTN4J_STATUS_OK) << attn4j_last_error();
        auto rows = [](const attn4j_tensor &t, int64_t i0, int64_t count) {
            attn4j_tensor s = t;
            s.data = static_cast<char *>(t.data) + i0 * t.strides[2] * (t.dtype == ATTN4J_DTYPE_F32 ? 4 : 2);
            s.shape[2] = count;
            return s;
        };
        attn4j_tensor q0 = rows(q.t, 0, n), k0 = rows(k.t, 0, n), v0 = rows(v.t, 0, n), o0 = rows(part.t, 0, n);
        ASSERT_EQ(attn4j_lightning_forward(&q0, &k0, &v0, &o0, nullptr, &state.t, &p), ATTN4J_STATUS_OK) << attn4j_last_error();
        int64_t at = n;
        for (int64_t m : steps) {
            attn4j_tensor qi = rows(q.t, at, m), ki = rows(k.t, at, m), vi = rows(v.t, at, m), oi = rows(part.t, at, m);
            ASSERT_EQ(attn4j_lightning_decode(&qi, &ki, &vi, &oi, &state.t, &p), ATTN4J_STATUS_OK) << attn4j_last_error();
            at += m;
        }
        ASSERT_EQ(attn4j_cuda_synchronize(0), ATTN4J_STATUS_OK);
        full.download();
        part.download();
        std::vector<double> ref, ref_state;
        HostTensor shape_only(ATTN4J_DTYPE_F32, 1, H, d, d);
        cpu::lightning_reference(make_lightning_problem(&q.host.t, &k.host.t, &v.host.t, &part.host.t, nullptr, &shape_only.t, p),
                                 ref, ref_state);
        EXPECT_LE(rel_l2(part.host, as_doubles(full.host)), 2e-3) << "against one prefill";
        EXPECT_LE(rel_l2(part.host, ref), 1e-2) << "against the fp64 reference";
    }
}

// Prefill of N tokens, then decode of 3 (one call each, state in place) == prefill of N + 3.
TEST(CudaLightningState, PrefillThenDecodeEqualsOneLongerPrefill) {
    if (attn4j_cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device";
    for (int64_t d : {64, 128}) {
        SCOPED_TRACE("d " + std::to_string(d) + ", seed " + std::to_string(run_seed()));
        const int64_t n = 200, extra = 3, H = 2;
        std::mt19937_64 rng(run_seed());
        DeviceTensor q(ATTN4J_DTYPE_BF16, 1, H, n + extra, d, false), k(ATTN4J_DTYPE_BF16, 1, H, n + extra, d, false);
        DeviceTensor v(ATTN4J_DTYPE_BF16, 1, H, n + extra, d, false), full(ATTN4J_DTYPE_F32, 1, H, n + extra, d, false);
        DeviceTensor part(ATTN4J_DTYPE_F32, 1, H, n + extra, d, false), state(ATTN4J_DTYPE_F32, 1, H, d, d, false);
        q.fill_normal(rng, 0.35f);
        k.fill_normal(rng, 0.35f);
        v.fill_normal(rng, 1.0f);
        std::vector<float> slopes = lightning_slopes(1, H);
        attn4j_lightning_params p{sizeof(attn4j_lightning_params), slopes.data(), static_cast<int32_t>(H), 0, 0, nullptr};
        ASSERT_EQ(attn4j_lightning_forward(&q.t, &k.t, &v.t, &full.t, nullptr, nullptr, &p), ATTN4J_STATUS_OK) << attn4j_last_error();
        auto rows = [](const attn4j_tensor &t, int64_t i0, int64_t count) {
            attn4j_tensor s = t;
            s.data = static_cast<char *>(t.data) + i0 * t.strides[2] * (t.dtype == ATTN4J_DTYPE_F32 ? 4 : 2);
            s.shape[2] = count;
            return s;
        };
        attn4j_tensor q0 = rows(q.t, 0, n), k0 = rows(k.t, 0, n), v0 = rows(v.t, 0, n), o0 = rows(part.t, 0, n);
        ASSERT_EQ(attn4j_lightning_forward(&q0, &k0, &v0, &o0, nullptr, &state.t, &p), ATTN4J_STATUS_OK) << attn4j_last_error();
        for (int64_t i = n; i < n + extra; ++i) {
            attn4j_tensor qi = rows(q.t, i, 1), ki = rows(k.t, i, 1), vi = rows(v.t, i, 1), oi = rows(part.t, i, 1);
            ASSERT_EQ(attn4j_lightning_decode(&qi, &ki, &vi, &oi, &state.t, &p), ATTN4J_STATUS_OK) << attn4j_last_error();
        }
        ASSERT_EQ(attn4j_cuda_synchronize(0), ATTN4J_STATUS_OK);
        full.download();
        part.download();
        std::vector<double> ref(full.host.bytes.size() / 4);
        for (size_t i = 0; i < ref.size(); ++i) ref[i] = reinterpret_cast<const float *>(full.host.bytes.data())[i];
        EXPECT_LE(rel_l2(part.host, ref), 2e-3);
    }
}

// Packed sequences (host prefix sums): each sequence's output and final state equal its call alone, bit
// for bit, and a zero-length sequence hands its state through; device prefix sums are refused.
TEST(CudaLightningSequences, PackedEqualsEachSequenceAlone) {
    if (attn4j_cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device";
    const std::vector<int32_t> lens = {300, 0, 1, 129, 64};
    std::vector<int32_t> cu{0};
    for (int32_t n : lens) cu.push_back(cu.back() + n);
    const int64_t S = static_cast<int64_t>(lens.size()), total = cu.back(), H = 4, HKV = 2;
    for (int64_t d : {64, 128}) {
        SCOPED_TRACE("d " + std::to_string(d) + ", seed " + std::to_string(run_seed()));
        std::mt19937_64 rng(run_seed() ^ 0x1a);
        DeviceTensor q(ATTN4J_DTYPE_BF16, 1, H, total, d, false), k(ATTN4J_DTYPE_BF16, 1, HKV, total, d, false);
        DeviceTensor v(ATTN4J_DTYPE_BF16, 1, HKV, total, d, false), out(ATTN4J_DTYPE_F32, 1, H, total, d, false);
        DeviceTensor s_in(ATTN4J_DTYPE_F32, S, H, d, d, false), s_out(ATTN4J_DTYPE_F32, S, H, d, d, false);
        q.fill_normal(rng, 0.35f);
        k.fill_normal(rng, 0.35f);
        v.fill_normal(rng, 1.0f);
        s_in.fill_normal(rng, 0.5f);
        out.poison();
        s_out.poison();
        std::vector<float> slopes = lightning_slopes(1, H);
        attn4j_lightning_params p;
        attn4j_lightning_params_init(&p);
        p.slopes = slopes.data();
        p.num_slopes = static_cast<int32_t>(H);
        p.cu_seqlens = cu.data();
        p.num_seqs = static_cast<int32_t>(S);
        ASSERT_EQ(attn4j_lightning_forward(&q.t, &k.t, &v.t, &out.t, &s_in.t, &s_out.t, &p), ATTN4J_STATUS_OK)
            << attn4j_last_error();
        ASSERT_EQ(attn4j_cuda_synchronize(0), ATTN4J_STATUS_OK);
        out.download();
        s_out.download();
        attn4j_lightning_params alone = p;
        alone.cu_seqlens = nullptr;
        alone.num_seqs = 0;
        for (int64_t b = 0; b < S; ++b) {
            SCOPED_TRACE("sequence " + std::to_string(b));
            auto rows = [&](const attn4j_tensor &t, int64_t i0, int64_t count) {
                attn4j_tensor x = t;
                x.data = static_cast<char *>(t.data) + i0 * t.strides[2] * (t.dtype == ATTN4J_DTYPE_F32 ? 4 : 2);
                x.shape[2] = count;
                return x;
            };
            auto entry = [&](const attn4j_tensor &t) {
                attn4j_tensor x = t;
                x.data = static_cast<float *>(t.data) + b * t.strides[0];
                x.shape[0] = 1;
                return x;
            };
            DeviceTensor ob(ATTN4J_DTYPE_F32, 1, H, lens[b], d, false), sob(ATTN4J_DTYPE_F32, 1, H, d, d, false);
            ob.poison();
            sob.poison();
            const attn4j_tensor qb = rows(q.t, cu[b], lens[b]), kb = rows(k.t, cu[b], lens[b]), vb = rows(v.t, cu[b], lens[b]);
            const attn4j_tensor sb = entry(s_in.t);
            ASSERT_EQ(attn4j_lightning_forward(&qb, &kb, &vb, &ob.t, &sb, &sob.t, &alone), ATTN4J_STATUS_OK)
                << attn4j_last_error();
            ASSERT_EQ(attn4j_cuda_synchronize(0), ATTN4J_STATUS_OK);
            ob.download();
            sob.download();
            for (int64_t h = 0; h < H; ++h) {
                for (int64_t i = 0; i < lens[b]; ++i)
                    for (int64_t e = 0; e < d; ++e)
                        ASSERT_EQ(ob.host.get(0, h, i, e), out.host.get(0, h, cu[b] + i, e)) << "out, head " << h << " row " << i;
                for (int64_t i = 0; i < d; ++i)
                    for (int64_t e = 0; e < d; ++e)
                        ASSERT_EQ(sob.host.get(0, h, i, e), s_out.host.get(b, h, i, e)) << "state, head " << h;
            }
            if (lens[b] == 0)
                for (int64_t e = 0; e < d; ++e) ASSERT_EQ(s_out.host.get(b, 0, 0, e), s_in.host.get(b, 0, 0, e)) << "passed through";
        }
        void *dcu = nullptr;
        ASSERT_EQ(attn4j_cuda_malloc(0, static_cast<int64_t>(cu.size() * 4), &dcu), ATTN4J_STATUS_OK);
        ASSERT_EQ(attn4j_cuda_memcpy(dcu, cu.data(), static_cast<int64_t>(cu.size() * 4), ATTN4J_COPY_HOST_TO_DEVICE),
                  ATTN4J_STATUS_OK);
        attn4j_lightning_params on_device = p;
        on_device.cu_seqlens = static_cast<const int32_t *>(dcu);
        EXPECT_EQ(attn4j_lightning_forward(&q.t, &k.t, &v.t, &out.t, nullptr, nullptr, &on_device), ATTN4J_STATUS_UNSUPPORTED);
        EXPECT_NE(std::string(attn4j_last_error()).find("params.cu_seqlens is device memory"), std::string::npos)
            << attn4j_last_error();
        attn4j_cuda_free(0, dcu);
    }
}

TEST(CudaLightningErrors, UnsupportedShapesAreNamed) {
    if (attn4j_cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device";
    DeviceTensor q(ATTN4J_DTYPE_BF16, 1, 2, 8, 96, false), k(ATTN4J_DTYPE_BF16, 1, 2, 8, 96, false);
    DeviceTensor v(ATTN4J_DTYPE_BF16, 1, 2, 8, 96, false), out(ATTN4J_DTYPE_BF16, 1, 2, 8, 96, false);
    EXPECT_EQ(attn4j_lightning_forward(&q.t, &k.t, &v.t, &out.t, nullptr, nullptr, nullptr), ATTN4J_STATUS_UNSUPPORTED);
    EXPECT_NE(std::string(attn4j_last_error()).find("head dims 64 and 128"), std::string::npos) << attn4j_last_error();
    DeviceTensor q2(ATTN4J_DTYPE_BF16, 1, 2, 8, 64, false), o2(ATTN4J_DTYPE_BF16, 1, 2, 8, 64, false);
    HostTensor host_state(ATTN4J_DTYPE_F32, 1, 2, 64, 64);
    EXPECT_EQ(attn4j_lightning_forward(&q2.t, &q2.t, &q2.t, &o2.t, &host_state.t, nullptr, nullptr), ATTN4J_STATUS_INVALID_DEVICE);
    EXPECT_NE(std::string(attn4j_last_error()).find("state_in.device"), std::string::npos) << attn4j_last_error();
}

}  // namespace
}  // namespace attn4j::test
