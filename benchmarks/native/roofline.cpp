#include "roofline.h"

#include <benchmark/benchmark.h>
#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "common/thread_pool.h"

namespace attn4j::bench {

namespace {

// Independent FMA chains: enough to cover latency x ports on current cores. Returns a value that
// depends on every chain, so nothing is optimized away.
__attribute__((target("avx2,fma"))) float fma_avx2(int64_t iters) {
    __m256 a[12];
    for (int i = 0; i < 12; ++i) a[i] = _mm256_set1_ps(1.0f + i * 1e-3f);
    const __m256 m = _mm256_set1_ps(0.9999f), c = _mm256_set1_ps(1e-4f);
    for (int64_t it = 0; it < iters; ++it) {
#pragma GCC unroll 12
        for (int i = 0; i < 12; ++i) a[i] = _mm256_fmadd_ps(a[i], m, c);
    }
    __m256 s = a[0];
    for (int i = 1; i < 12; ++i) s = _mm256_add_ps(s, a[i]);
    return _mm256_cvtss_f32(s);
}

__attribute__((target("avx512f"))) float fma_avx512(int64_t iters) {
    __m512 a[24];
    for (int i = 0; i < 24; ++i) a[i] = _mm512_set1_ps(1.0f + i * 1e-3f);
    const __m512 m = _mm512_set1_ps(0.9999f), c = _mm512_set1_ps(1e-4f);
    for (int64_t it = 0; it < iters; ++it) {
#pragma GCC unroll 24
        for (int i = 0; i < 24; ++i) a[i] = _mm512_fmadd_ps(a[i], m, c);
    }
    __m512 s = a[0];
    for (int i = 1; i < 24; ++i) s = _mm512_add_ps(s, a[i]);
    return _mm512_reduce_add_ps(s);
}

__attribute__((target("avx512f,avx512bf16"))) float dot_bf16(int64_t iters) {
    __m512 a[24];
    for (int i = 0; i < 24; ++i) a[i] = _mm512_setzero_ps();
    const __m512bh x = (__m512bh)_mm512_set1_epi16(0x3f80), y = (__m512bh)_mm512_set1_epi16(0x3c00);
    for (int64_t it = 0; it < iters; ++it) {
#pragma GCC unroll 24
        for (int i = 0; i < 24; ++i) a[i] = _mm512_dpbf16_ps(a[i], x, y);
    }
    __m512 s = a[0];
    for (int i = 1; i < 24; ++i) s = _mm512_add_ps(s, a[i]);
    return _mm512_reduce_add_ps(s);
}

// Unsigned x signed byte products summed in pairs into int16 (vpmaddubsw), accumulated with vpaddw:
// what the AVX2 SALE estimation kernel issues.
__attribute__((target("avx2"))) float int8_avx2(int64_t iters) {
    __m256i a[12];
    for (int i = 0; i < 12; ++i) a[i] = _mm256_set1_epi16(static_cast<short>(i));
    const __m256i x = _mm256_set1_epi8(3), y = _mm256_set1_epi8(-2);
    for (int64_t it = 0; it < iters; ++it) {
#pragma GCC unroll 12
        for (int i = 0; i < 12; ++i) a[i] = _mm256_add_epi16(a[i], _mm256_maddubs_epi16(x, y));
    }
    __m256i s = a[0];
    for (int i = 1; i < 12; ++i) s = _mm256_add_epi16(s, a[i]);
    return static_cast<float>(_mm256_extract_epi16(s, 0));
}

__attribute__((target("avx512f,avx512vnni"))) float int8_vnni(int64_t iters) {
    __m512i a[24];
    for (int i = 0; i < 24; ++i) a[i] = _mm512_set1_epi32(i);
    const __m512i x = _mm512_set1_epi8(3), y = _mm512_set1_epi8(-2);
    for (int64_t it = 0; it < iters; ++it) {
#pragma GCC unroll 24
        for (int i = 0; i < 24; ++i) a[i] = _mm512_dpbusd_epi32(a[i], x, y);
    }
    __m512i s = a[0];
    for (int i = 1; i < 24; ++i) s = _mm512_add_epi32(s, a[i]);
    return static_cast<float>(_mm512_reduce_add_epi32(s));
}

double flops_per_iter(Ceiling c) {
    switch (c) {
        case Ceiling::FmaAvx2: return 12 * 8 * 2;
        case Ceiling::FmaAvx512: return 24 * 16 * 2;
        case Ceiling::DotBf16: return 24 * 32 * 2;
        case Ceiling::Int8Avx2: return 12 * 32 * 2;
        case Ceiling::Int8Vnni: return 24 * 64 * 2;
        default: return 0;
    }
}

float run_compute(Ceiling c, int64_t iters) {
    switch (c) {
        case Ceiling::FmaAvx2: return fma_avx2(iters);
        case Ceiling::FmaAvx512: return fma_avx512(iters);
        case Ceiling::Int8Avx2: return int8_avx2(iters);
        case Ceiling::Int8Vnni: return int8_vnni(iters);
        default: return dot_bf16(iters);
    }
}

// Runs body(thread) on `threads` threads at once; returns the wall time.
template <typename F>
double timed_parallel(int threads, F body) {
    std::vector<std::thread> pool;
    const auto t0 = std::chrono::steady_clock::now();
    for (int t = 1; t < threads; ++t) pool.emplace_back(body, t);
    body(0);
    for (auto &th : pool) th.join();
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

const char *ceiling_name(Ceiling c) {
    switch (c) {
        case Ceiling::FmaAvx2: return "fp32_fma_avx2";
        case Ceiling::FmaAvx512: return "fp32_fma_avx512";
        case Ceiling::DotBf16: return "bf16_dot_avx512";
        case Ceiling::Int8Avx2: return "int8_dot_avx2";
        case Ceiling::Int8Vnni: return "int8_dot_avx512_vnni";
        default: return "triad_bandwidth";
    }
}

bool ceiling_supported(Ceiling c) {
    __builtin_cpu_init();
    switch (c) {
        case Ceiling::FmaAvx2: return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
        case Ceiling::FmaAvx512: return __builtin_cpu_supports("avx512f");
        case Ceiling::DotBf16: return __builtin_cpu_supports("avx512bf16");
        case Ceiling::Int8Avx2: return __builtin_cpu_supports("avx2");
        case Ceiling::Int8Vnni: return __builtin_cpu_supports("avx512vnni");
        default: return true;
    }
}

double measure_ceiling(Ceiling c, int threads, double seconds) {
    if (c == Ceiling::Triad) {
        // a = b + s * c over arrays far larger than the last-level cache; 3 arrays' bytes per pass.
        const size_t n = size_t(1) << 25;  // 32 Mi floats = 128 MiB per array
        std::vector<float> a(n, 0.0f), b(n, 1.0f), cc(n, 2.0f);
        const float s = 0.5f;
        auto pass = [&](int t) {
            const size_t lo = n * t / threads, hi = n * (t + 1) / threads;
            for (size_t i = lo; i < hi; ++i) a[i] = b[i] + s * cc[i];
        };
        timed_parallel(threads, pass);  // touch pages
        double best = 0;
        const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
        do {
            best = std::max(best, 3.0 * n * sizeof(float) / timed_parallel(threads, pass) / 1e9);
        } while (std::chrono::steady_clock::now() < end);
        benchmark::DoNotOptimize(a.data());
        return best;
    }
    const int64_t iters = 20'000'000;
    volatile float sink = 0;
    run_compute(c, 1000);
    double best = 0;
    const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    do {
        const double t = timed_parallel(threads, [&](int) { sink = run_compute(c, iters); });
        best = std::max(best, flops_per_iter(c) * iters * threads / t / 1e9);
    } while (std::chrono::steady_clock::now() < end);
    (void)sink;
    return best;
}

namespace {
std::mutex g_mu;
std::map<std::pair<int, int>, double> g_best;  // best reading so far per (ceiling, threads)

void record(Ceiling c, int threads, double v) {
    std::lock_guard<std::mutex> lock(g_mu);
    double &best = g_best[std::make_pair(static_cast<int>(c), threads)];
    best = std::max(best, v);
}
}  // namespace

double ceiling(Ceiling c, int threads) {
    {
        std::lock_guard<std::mutex> lock(g_mu);
        auto it = g_best.find(std::make_pair(static_cast<int>(c), threads));
        if (it != g_best.end()) return it->second;
    }
    if (!ceiling_supported(c)) return 0.0;
    // Not measured yet in this run (filtered out): take the best of a few short readings.
    for (int i = 0; i < 4; ++i) record(c, threads, measure_ceiling(c, threads, 0.3));
    return ceiling(c, threads);
}

void register_roofline_benchmarks() {
    const int all = attn4j::default_threads();
    for (Ceiling c : {Ceiling::FmaAvx2, Ceiling::FmaAvx512, Ceiling::DotBf16, Ceiling::Int8Avx2, Ceiling::Int8Vnni,
                      Ceiling::Triad}) {
        for (int threads : {1, all}) {
            std::string name = std::string("roofline/") + ceiling_name(c) + "/threads:" + std::to_string(threads);
            benchmark::RegisterBenchmark(name.c_str(), [c, threads](benchmark::State &state) {
                if (!ceiling_supported(c)) {
                    state.SkipWithError("not supported by this CPU");
                    for (auto _ : state) {}
                    return;
                }
                double v = 0;
                for (auto _ : state) v = std::max(v, measure_ceiling(c, threads, 0.5));
                record(c, threads, v);
                state.counters[c == Ceiling::Triad ? "GB/s" : c == Ceiling::Int8Avx2 || c == Ceiling::Int8Vnni ? "GOP/s" : "GFLOP/s"] = v;
            })->Iterations(3)->Unit(benchmark::kMillisecond);
            if (all == 1) break;
        }
    }
}

}  // namespace attn4j::bench
