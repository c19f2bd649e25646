// SALE over a batch of long sequences of different lengths in one packed call against the same
// sequences called one by one (the baseline, same run), on the best ISA with every thread: lengths
// drawn (seeded) from 1024..8192 up to 16384 tokens, structured inputs (ATTN4J_PATTERN_MIXED), causal,
// GQA 8/2, d = 128, bf16, the default threshold. GFLOP/s counts the dense causal work,
// 4 * Hq * d * sum(len^2) / 2, so that it compares with dense attention.
#include <benchmark/benchmark.h>

#include <chrono>
#include <random>
#include <vector>

#include "attn4j.h"
#include "sequences_bench.h"

namespace attn4j::bench {

namespace {

constexpr int64_t kHq = 8, kHkv = 2, kDim = 128, kTotal = 16384;

struct Batch {
    std::vector<uint16_t> q, k, v;
    std::vector<float> out;
    std::vector<int32_t> lens, cu{0};
    Batch() {
        std::mt19937 rng(17);
        std::uniform_int_distribution<int32_t> len(1024, 8192);
        for (int64_t sum = 0; sum < kTotal;) {
            int32_t n = len(rng);
            if (kTotal - sum - n < 1024) n = static_cast<int32_t>(kTotal - sum);
            lens.push_back(n);
            sum += n;
        }
        for (int32_t n : lens) cu.push_back(cu.back() + n);
        q.resize(kHq * kTotal * kDim);
        k.resize(kHkv * kTotal * kDim);
        v.resize(kHkv * kTotal * kDim);
        out.resize(kHq * kTotal * kDim);
        attn4j_tensor tq = host_tensor(q.data(), ATTN4J_DTYPE_BF16, 1, kHq, kTotal, kDim);
        attn4j_tensor tk = host_tensor(k.data(), ATTN4J_DTYPE_BF16, 1, kHkv, kTotal, kDim);
        attn4j_tensor tv = host_tensor(v.data(), ATTN4J_DTYPE_BF16, 1, kHkv, kTotal, kDim);
        attn4j_structured_qkv(ATTN4J_PATTERN_MIXED, 3, &tq, &tk, &tv);
    }
    double flops() const {
        double f = 0;
        for (int32_t n : lens) f += 4.0 * kHq * kDim * n * n / 2;
        return f;
    }
};

Batch &inputs() {
    static Batch b;
    return b;
}

double &per_sequence_gflops() {
    static double g = 0;
    return g;
}

attn4j_tensor rows(void *base, int32_t dtype, int64_t heads, int64_t r0, int64_t n) {
    return packed_rows(base, dtype, heads, kTotal, kDim, r0, n);
}

void run(benchmark::State &state, bool packed) {
    Batch &in = inputs();
    attn4j_sale_params p;
    attn4j_sale_params_init(&p);
    p.causal = 1;
    if (packed) {
        p.cu_seqlens_q = p.cu_seqlens_k = in.cu.data();
        p.num_seqs = static_cast<int32_t>(in.lens.size());
    }
    double seconds = 0, density = 0;
    for (auto _ : state) {
        const auto t0 = std::chrono::steady_clock::now();
        int32_t st = ATTN4J_STATUS_OK;
        const size_t calls = packed ? 1 : in.lens.size();
        for (size_t b = 0; b < calls && st == ATTN4J_STATUS_OK; ++b) {
            const int64_t r0 = packed ? 0 : in.cu[b], n = packed ? kTotal : in.lens[b];
            const attn4j_tensor q = rows(in.q.data(), ATTN4J_DTYPE_BF16, kHq, r0, n);
            const attn4j_tensor k = rows(in.k.data(), ATTN4J_DTYPE_BF16, kHkv, r0, n);
            const attn4j_tensor v = rows(in.v.data(), ATTN4J_DTYPE_BF16, kHkv, r0, n);
            const attn4j_tensor o = rows(in.out.data(), ATTN4J_DTYPE_F32, kHq, r0, n);
            st = attn4j_sale_forward(&q, &k, &v, &o, nullptr, &p, nullptr, 0, &density);
        }
        seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        if (st != ATTN4J_STATUS_OK) {
            state.SkipWithError(attn4j_last_error());
            return;
        }
    }
    report_sequences(state, seconds, in.flops(), static_cast<double>(in.lens.size()), packed, per_sequence_gflops());
    if (packed) state.counters["density"] = density;
}

}  // namespace

void register_sale_sequences_benchmarks() {
    for (bool packed : {false, true})
        benchmark::RegisterBenchmark(packed ? "sale_sequences/packed/bf16/gqa8_2/d:128/total:16384/causal"
                                            : "sale_sequences/per_sequence/bf16/gqa8_2/d:128/total:16384/causal",
                                     [=](benchmark::State &st) { run(st, packed); })
            ->Unit(benchmark::kMillisecond)
            ->MinTime(1.0);
}

}  // namespace attn4j::bench
