// A batch of sequences of different lengths in one packed FlashAttention call against the same
// sequences called one by one (the baseline, same run), on the best ISA with every thread: lengths
// drawn (seeded) from 128..4096 up to 8192 tokens, causal, GQA 32/8, d = 128, bf16. GFLOP/s counts
// 4 * Hq * d * sum(len^2) / 2.
#include <benchmark/benchmark.h>

#include <chrono>
#include <random>
#include <vector>

#include "attn4j.h"
#include "sequences_bench.h"
#include "common/bf16.h"

namespace attn4j::bench {

namespace {

constexpr int64_t kHq = 32, kHkv = 8, kDim = 128, kTotal = 8192;

std::vector<int32_t> mixed_lengths() {
    std::mt19937 rng(21);
    std::uniform_int_distribution<int32_t> len(128, 4096);
    std::vector<int32_t> out;
    int64_t sum = 0;
    while (sum < kTotal) {
        int32_t n = len(rng);
        if (kTotal - sum - n < 128) n = static_cast<int32_t>(kTotal - sum);
        out.push_back(n);
        sum += n;
    }
    return out;
}

struct Packed {
    std::vector<uint16_t> q, k, v;
    std::vector<float> out;
    std::vector<int32_t> lens, cu;
    Packed() : lens(mixed_lengths()) {
        std::mt19937 rng(5);
        std::normal_distribution<float> x(0.0f, 1.0f);
        q.resize(kHq * kTotal * kDim);
        k.resize(kHkv * kTotal * kDim);
        v.resize(kHkv * kTotal * kDim);
        for (auto *t : {&q, &k, &v})
            for (auto &e : *t) e = f32_to_bf16(x(rng));
        out.resize(kHq * kTotal * kDim);
        cu.push_back(0);
        for (int32_t n : lens) cu.push_back(cu.back() + n);
    }
    double flops() const {
        double f = 0;
        for (int32_t n : lens) f += 4.0 * kHq * kDim * n * n / 2;
        return f;
    }
};

Packed &inputs() {
    static Packed p;
    return p;
}

double &per_sequence_gflops() {
    static double g = 0;
    return g;
}

attn4j_tensor rows(void *base, int32_t dtype, int64_t heads, int64_t r0, int64_t n) {
    return packed_rows(base, dtype, heads, kTotal, kDim, r0, n);
}

void run(benchmark::State &state, bool packed) {
    Packed &in = inputs();
    attn4j_flash_params p;
    attn4j_flash_params_init(&p);
    p.causal = 1;
    if (packed) {
        p.cu_seqlens_q = p.cu_seqlens_k = in.cu.data();
        p.num_seqs = static_cast<int32_t>(in.lens.size());
    }
    double seconds = 0;
    for (auto _ : state) {
        const auto t0 = std::chrono::steady_clock::now();
        int32_t st = ATTN4J_STATUS_OK;
        if (packed) {
            const attn4j_tensor q = rows(in.q.data(), ATTN4J_DTYPE_BF16, kHq, 0, kTotal);
            const attn4j_tensor k = rows(in.k.data(), ATTN4J_DTYPE_BF16, kHkv, 0, kTotal);
            const attn4j_tensor v = rows(in.v.data(), ATTN4J_DTYPE_BF16, kHkv, 0, kTotal);
            const attn4j_tensor o = rows(in.out.data(), ATTN4J_DTYPE_F32, kHq, 0, kTotal);
            st = attn4j_flash_forward(&q, &k, &v, &o, nullptr, &p);
        } else {
            for (size_t b = 0; b < in.lens.size() && st == ATTN4J_STATUS_OK; ++b) {
                const int64_t r0 = in.cu[b], n = in.lens[b];
                const attn4j_tensor q = rows(in.q.data(), ATTN4J_DTYPE_BF16, kHq, r0, n);
                const attn4j_tensor k = rows(in.k.data(), ATTN4J_DTYPE_BF16, kHkv, r0, n);
                const attn4j_tensor v = rows(in.v.data(), ATTN4J_DTYPE_BF16, kHkv, r0, n);
                const attn4j_tensor o = rows(in.out.data(), ATTN4J_DTYPE_F32, kHq, r0, n);
                st = attn4j_flash_forward(&q, &k, &v, &o, nullptr, &p);
            }
        }
        seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        if (st != ATTN4J_STATUS_OK) {
            state.SkipWithError(attn4j_last_error());
            return;
        }
    }
    report_sequences(state, seconds, in.flops(), static_cast<double>(in.lens.size()), packed, per_sequence_gflops());
}

}  // namespace

void register_flash_sequences_benchmarks() {
    for (bool packed : {false, true})
        benchmark::RegisterBenchmark(packed ? "flash_sequences/packed/bf16/gqa32_8/d:128/total:8192/causal"
                                            : "flash_sequences/per_sequence/bf16/gqa32_8/d:128/total:8192/causal",
                                     [=](benchmark::State &st) { run(st, packed); })
            ->Unit(benchmark::kMillisecond)
            ->MinTime(1.0);
}

}  // namespace attn4j::bench
