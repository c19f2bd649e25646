// Lightning Attention-2 through the C ABI: tokens/s over sequence lengths (constant cost per token is
// the point), GFLOP/s of the block work against the fp32 FMA ceiling, decode tokens/s, and causal
// FlashAttention on the same shape in the same run for comparison.
#include <benchmark/benchmark.h>

#include <chrono>
#include <random>
#include <string>
#include <vector>

#include "attn4j.h"
#include "bench_tensors.h"
#include "common/thread_pool.h"
#include "cpu/lightning.h"
#include "roofline.h"

namespace attn4j::bench {

namespace {

constexpr int64_t kHeads = 8, kDim = 128;
// Longest sequence held in memory at once; longer ones run as chunks that hand the state on.
constexpr int64_t kChunk = 65536;

attn4j_tensor host_f32(std::vector<float> &buf, int64_t b, int64_t h, int64_t n, int64_t d) {
    return host_tensor(buf.data(), ATTN4J_DTYPE_F32, b, h, n, d);
}

void fill(std::vector<float> &v, float std, uint32_t seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> dist(0.0f, std);
    for (float &x : v) x = dist(rng);
}

// FLOPs per token of the block algorithm at block size n: Q K^T and (S.D) V over the n x n block,
// plus the inter-block product and the state update (d x dv each).
double flops_per_token(int64_t n, int64_t d, int64_t dv) { return 2.0 * n * (d + dv) + 4.0 * d * dv; }

void lightning_prefill(benchmark::State &state, int64_t len, int threads, int32_t block) {
    const int64_t chunk = len < kChunk ? len : kChunk;
    std::vector<float> q(kHeads * chunk * kDim), k(q.size()), v(q.size()), out(q.size()), st(kHeads * kDim * kDim);
    fill(q, 0.3f, 1);
    fill(k, 0.3f, 2);
    fill(v, 1.0f, 3);
    std::vector<float> slopes(kHeads);
    attn4j_lightning_slopes(kHeads, 0, 1, slopes.data());
    attn4j_lightning_params p{sizeof(attn4j_lightning_params), slopes.data(), static_cast<int32_t>(kHeads), block, threads};
    attn4j_tensor tq = host_f32(q, 1, kHeads, chunk, kDim), tk = host_f32(k, 1, kHeads, chunk, kDim);
    attn4j_tensor tv = host_f32(v, 1, kHeads, chunk, kDim), to = host_f32(out, 1, kHeads, chunk, kDim);
    attn4j_tensor ts = host_f32(st, 1, kHeads, kDim, kDim);
    double seconds = 0;
    for (auto _ : state) {
        const auto t0 = std::chrono::steady_clock::now();
        for (int64_t done = 0; done < len; done += chunk) {
            const int32_t rc = attn4j_lightning_forward(&tq, &tk, &tv, &to, done == 0 ? nullptr : &ts, &ts, &p);
            if (rc != ATTN4J_STATUS_OK) {
                state.SkipWithError(attn4j_last_error());
                return;
            }
        }
        seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    }
    const double tokens_per_s = static_cast<double>(len) * state.iterations() / seconds;
    state.counters["tokens/s"] = tokens_per_s;
    const double gflops = tokens_per_s * kHeads * flops_per_token(block == 0 ? cpu::kLightningDefaultBlock : block, kDim, kDim) / 1e9;
    state.counters["GFLOP/s"] = gflops;
    const Ceiling c = attn4j_cpu_isa() == ATTN4J_ISA_AVX512 ? Ceiling::FmaAvx512 : Ceiling::FmaAvx2;
    state.counters["of_fp32_peak"] = gflops / ceiling(c, threads);
}

void lightning_decode(benchmark::State &state, int threads) {
    std::vector<float> q(kHeads * kDim), k(q.size()), v(q.size()), out(q.size()), st(kHeads * kDim * kDim);
    fill(q, 0.3f, 1);
    fill(k, 0.3f, 2);
    fill(v, 1.0f, 3);
    fill(st, 1.0f, 4);
    std::vector<float> slopes(kHeads);
    attn4j_lightning_slopes(kHeads, 0, 1, slopes.data());
    attn4j_lightning_params p{sizeof(attn4j_lightning_params), slopes.data(), static_cast<int32_t>(kHeads), 0, threads};
    attn4j_tensor tq = host_f32(q, 1, kHeads, 1, kDim), tk = host_f32(k, 1, kHeads, 1, kDim);
    attn4j_tensor tv = host_f32(v, 1, kHeads, 1, kDim), to = host_f32(out, 1, kHeads, 1, kDim);
    attn4j_tensor ts = host_f32(st, 1, kHeads, kDim, kDim);
    for (auto _ : state)
        if (attn4j_lightning_decode(&tq, &tk, &tv, &to, &ts, &p) != ATTN4J_STATUS_OK) {
            state.SkipWithError(attn4j_last_error());
            return;
        }
    state.counters["tokens/s"] = benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

void flash_causal(benchmark::State &state, int64_t len, int threads) {
    std::vector<float> q(kHeads * len * kDim), k(q.size()), v(q.size()), out(q.size());
    fill(q, 1.0f, 1);
    fill(k, 1.0f, 2);
    fill(v, 1.0f, 3);
    attn4j_flash_params p{sizeof(attn4j_flash_params), 0.0f, 0.0f, 1, -1, -1, threads};
    attn4j_tensor tq = host_f32(q, 1, kHeads, len, kDim), tk = host_f32(k, 1, kHeads, len, kDim);
    attn4j_tensor tv = host_f32(v, 1, kHeads, len, kDim), to = host_f32(out, 1, kHeads, len, kDim);
    for (auto _ : state)
        if (attn4j_flash_forward(&tq, &tk, &tv, &to, nullptr, &p) != ATTN4J_STATUS_OK) {
            state.SkipWithError(attn4j_last_error());
            return;
        }
    state.counters["tokens/s"] = benchmark::Counter(static_cast<double>(len * state.iterations()), benchmark::Counter::kIsRate);
}

}  // namespace

void register_lightning_benchmarks() {
    const int all = attn4j::default_threads();
    for (int64_t n : {1024, 4096, 16384, 65536, 262144, 1048576}) {
        const std::string name = "lightning/f32/B:1/H:8/d:128/N:" + std::to_string(n) + "/threads:" + std::to_string(all);
        benchmark::RegisterBenchmark(name.c_str(), [=](benchmark::State &s) { lightning_prefill(s, n, all, 0); })
            ->Unit(benchmark::kMillisecond)->MinTime(0.5);
    }
    for (int32_t block : {16, 32, 48, 64, 128}) {
        const std::string name = "lightning_block/f32/B:1/H:8/d:128/N:16384/block:" + std::to_string(block) +
                                 "/threads:" + std::to_string(all);
        benchmark::RegisterBenchmark(name.c_str(), [=](benchmark::State &s) { lightning_prefill(s, 16384, all, block); })
            ->Unit(benchmark::kMillisecond)->MinTime(0.5);
    }
    for (int threads : {1, all}) {
        const std::string name = "lightning_decode/f32/B:1/H:8/d:128/threads:" + std::to_string(threads);
        benchmark::RegisterBenchmark(name.c_str(), [=](benchmark::State &s) { lightning_decode(s, threads); })
            ->Unit(benchmark::kMicrosecond);
        if (all == 1) break;
    }
    for (int64_t n : {1024, 4096, 16384, 65536}) {
        const std::string name = "flash_causal_same_shape/f32/B:1/H:8/d:128/N:" + std::to_string(n) + "/threads:" +
                                 std::to_string(all);
        benchmark::RegisterBenchmark(name.c_str(), [=](benchmark::State &s) { flash_causal(s, n, all); })
            ->Unit(benchmark::kMillisecond)->MinTime(0.3);
    }
}

}  // namespace attn4j::bench
