// FlashAttention through the C ABI, per ISA (the portable kernel is the baseline), with GFLOP/s
// (4 * B * Hq * Nq * Nk * d, halved when causal) and the fraction of the matching measured ceiling.
#include <benchmark/benchmark.h>

#include <chrono>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "attn4j.h"
#include "bench_tensors.h"
#include "common/bf16.h"
#include "common/thread_pool.h"
#include "cpu/isa.h"
#include "roofline.h"

namespace attn4j::bench {

namespace {

struct Shape {
    int64_t batch, heads_q, heads_kv, len_q, len_k, dim;
    bool causal;
    int32_t dtype;
};

struct Buffers {
    std::vector<unsigned char> q, k, v, out;
    attn4j_tensor tq{}, tk{}, tv{}, tout{};
};

attn4j_tensor describe(std::vector<unsigned char> &bytes, int32_t dtype, int64_t b, int64_t h, int64_t n, int64_t d,
                       std::mt19937 &rng) {
    const int64_t count = b * h * n * d, es = dtype == ATTN4J_DTYPE_F32 ? 4 : 2;
    bytes.resize(static_cast<size_t>(count * es));
    std::normal_distribution<float> dist(0.0f, 1.0f);
    for (int64_t i = 0; i < count; ++i) {
        const float x = dist(rng);
        if (dtype == ATTN4J_DTYPE_F32) reinterpret_cast<float *>(bytes.data())[i] = x;
        else reinterpret_cast<uint16_t *>(bytes.data())[i] = f32_to_bf16(x);
    }
    return host_tensor(bytes.data(), dtype, b, h, n, d);
}

Buffers make(const Shape &s) {
    std::mt19937 rng(7);
    Buffers b;
    b.tq = describe(b.q, s.dtype, s.batch, s.heads_q, s.len_q, s.dim, rng);
    b.tk = describe(b.k, s.dtype, s.batch, s.heads_kv, s.len_k, s.dim, rng);
    b.tv = describe(b.v, s.dtype, s.batch, s.heads_kv, s.len_k, s.dim, rng);
    b.tout = describe(b.out, ATTN4J_DTYPE_F32, s.batch, s.heads_q, s.len_q, s.dim, rng);
    return b;
}

// GFLOP/s of the portable kernel by configuration (without the ISA), for the ratio column.
std::map<std::string, double> &portable_results() {
    static std::map<std::string, double> m;
    return m;
}

// Times `calls` of the kernel; returns seconds per call (median-free: Google Benchmark repeats).
void run(benchmark::State &state, const Shape &s, int32_t isa, int threads, const std::string &key, bool decode,
         bool bf16_dot = false) {
    cpu::set_bf16_dot(bf16_dot);
    if (attn4j_set_cpu_isa(isa) != ATTN4J_STATUS_OK) {
        state.SkipWithError(attn4j_last_error());
        for (auto _ : state) {}
        return;
    }
    Buffers b = make(s);
    attn4j_flash_params p{sizeof(attn4j_flash_params), 0.0f, 0.0f, s.causal ? 1 : 0, -1, -1, threads};
    double seconds = 0;
    for (auto _ : state) {
        const auto t0 = std::chrono::steady_clock::now();
        const int32_t st = attn4j_flash_forward(&b.tq, &b.tk, &b.tv, &b.tout, nullptr, &p);
        seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        if (st != ATTN4J_STATUS_OK) {
            state.SkipWithError(attn4j_last_error());
            break;
        }
    }
    attn4j_set_cpu_isa(attn4j_cpu_isa_best());
    cpu::set_bf16_dot(cpu::bf16_dot_default());
    const double per_call = seconds / static_cast<double>(state.iterations());
    if (decode) {
        const double bytes = 2.0 * s.batch * s.heads_kv * s.len_k * s.dim * (s.dtype == ATTN4J_DTYPE_F32 ? 4 : 2);
        const double gbs = bytes / per_call / 1e9;
        state.counters["tokens/s"] = s.batch / per_call;
        state.counters["GB/s"] = gbs;
        state.counters["of_triad"] = gbs / ceiling(Ceiling::Triad, threads);
        return;
    }
    double flops = 4.0 * s.batch * s.heads_q * s.len_q * s.len_k * s.dim;
    if (s.causal) flops /= 2;
    const double gflops = flops / per_call / 1e9;
    state.counters["GFLOP/s"] = gflops;
    const Ceiling c = isa == ATTN4J_ISA_AVX512 ? Ceiling::FmaAvx512 : Ceiling::FmaAvx2;
    state.counters["of_fp32_peak"] = gflops / ceiling(c, threads);
    if (bf16_dot) state.counters["of_bf16_peak"] = gflops / ceiling(Ceiling::DotBf16, threads);
    if (isa == ATTN4J_ISA_SCALAR) {
        portable_results()[key] = gflops;
    } else {
        auto it = portable_results().find(key);
        if (it != portable_results().end()) state.counters["x_portable"] = gflops / it->second;
    }
}

}  // namespace

void register_flash_benchmarks() {
    const int all = attn4j::default_threads();
    const int32_t best = attn4j_cpu_isa_best();
    std::vector<int> thread_counts = {1};
    if (all > 1) thread_counts.push_back(all);
    // Prefill table. The portable baseline runs up to N = 8192 (at 32768 it would take minutes per row).
    for (int32_t isa : {static_cast<int32_t>(ATTN4J_ISA_SCALAR), best})
        for (int32_t dtype : {ATTN4J_DTYPE_F32, ATTN4J_DTYPE_BF16})
            for (int64_t d : {64, 128})
                for (int64_t n : {16, 512, 2048, 4096, 8192, 32768})
                    for (bool causal : {false, true})
                        for (int threads : thread_counts) {
                            if (isa == ATTN4J_ISA_SCALAR && n > 8192) continue;
                            const Shape s{1, 2, 2, n, n, d, causal, dtype};
                            const std::string key = std::string(dtype == ATTN4J_DTYPE_F32 ? "f32" : "bf16") + "/d:" +
                                                    std::to_string(d) + "/N:" + std::to_string(n) + "/" +
                                                    (causal ? "causal" : "full") + "/threads:" + std::to_string(threads);
                            const std::string name = std::string("flash/") + attn4j_isa_name(isa) + "/" + key;
                            benchmark::RegisterBenchmark(name.c_str(), [=](benchmark::State &st) {
                                run(st, s, isa, threads, key, false);
                            })->Unit(benchmark::kMillisecond)->MinTime(0.3);
                        }
    // bf16 storage through vdpbf16ps (opt-in; see cpu/isa.h), where the CPU has it.
    if (best == ATTN4J_ISA_AVX512 && cpu::bf16_dot_supported())
        for (int64_t d : {64, 128})
            for (int64_t n : {2048, 4096, 8192})
                for (int threads : thread_counts) {
                    const Shape s{1, 2, 2, n, n, d, false, ATTN4J_DTYPE_BF16};
                    const std::string name = "flash/avx512_bf16dot/bf16/d:" + std::to_string(d) + "/N:" + std::to_string(n) +
                                             "/full/threads:" + std::to_string(threads);
                    benchmark::RegisterBenchmark(name.c_str(), [=](benchmark::State &st) {
                        run(st, s, ATTN4J_ISA_AVX512, threads, "", false, true);
                    })->Unit(benchmark::kMillisecond)->MinTime(0.3);
                }
    // Decode: one new token per sequence against a 32K-token KV cache, all 8 heads.
    for (int32_t isa : {static_cast<int32_t>(ATTN4J_ISA_SCALAR), best})
        for (int32_t dtype : {ATTN4J_DTYPE_F32, ATTN4J_DTYPE_BF16})
            for (int threads : thread_counts) {
                const Shape s{1, 8, 8, 1, 32768, 128, true, dtype};
                const std::string name = std::string("flash_decode/") + attn4j_isa_name(isa) + "/" +
                                         (dtype == ATTN4J_DTYPE_F32 ? "f32" : "bf16") + "/Nk:32768/d:128/threads:" +
                                         std::to_string(threads);
                benchmark::RegisterBenchmark(name.c_str(), [=](benchmark::State &st) {
                    run(st, s, isa, threads, "", true);
                })->Unit(benchmark::kMillisecond)->MinTime(0.3);
            }
}

}  // namespace attn4j::bench
