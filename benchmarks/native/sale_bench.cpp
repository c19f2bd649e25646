// SALE on structured inputs (ATTN4J_PATTERN_MIXED), causal, d = 128: estimation time, sparse time,
// density, rel. L2 error against dense FlashAttention and the speedup over it, all in the same run
// (dense is timed once per length, first). One benchmark per (length, threshold): the rows of the
// accuracy-vs-speedup curve.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "attn4j.h"
#include "bench_tensors.h"
#include "common/thread_pool.h"
#include "cpu/sale/sale.h"
#include "fill_problem.h"
#include "roofline.h"

namespace attn4j::bench {

namespace {

constexpr int64_t kHeads = 1, kDim = 128;

struct Inputs {
    std::vector<float> q, k, v, dense_out;
    double dense_seconds = 0.0;
};

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

attn4j_tensor t(std::vector<float> &buf, int64_t n) { return host_tensor(buf.data(), ATTN4J_DTYPE_F32, 1, kHeads, n, kDim); }

// Inputs and the dense baseline for one length, made once and shared by that length's thresholds.
Inputs &inputs(int64_t n, int threads) {
    static std::map<int64_t, Inputs> cache;
    auto it = cache.find(n);
    if (it != cache.end()) return it->second;
    Inputs &in = cache[n];
    in.q.resize(kHeads * n * kDim);
    in.k.resize(in.q.size());
    in.v.resize(in.q.size());
    in.dense_out.resize(in.q.size());
    attn4j_tensor tq = t(in.q, n), tk = t(in.k, n), tv = t(in.v, n), to = t(in.dense_out, n);
    attn4j_structured_qkv(ATTN4J_PATTERN_MIXED, 7, &tq, &tk, &tv);
    const attn4j_flash_params fp{sizeof(attn4j_flash_params), 0.0f, 0.0f, 1, -1, -1, threads, nullptr};
    std::vector<double> runs;
    for (int r = 0; r < 2; ++r) {
        const auto t0 = std::chrono::steady_clock::now();
        attn4j_flash_forward(&tq, &tk, &tv, &to, nullptr, &fp);
        runs.push_back(seconds_since(t0));
    }
    in.dense_seconds = *std::min_element(runs.begin(), runs.end());
    return in;
}

double rel_l2(const std::vector<float> &x, const std::vector<float> &ref) {
    double num = 0.0, den = 0.0;
    for (size_t i = 0; i < x.size(); ++i) {
        num += (static_cast<double>(x[i]) - ref[i]) * (static_cast<double>(x[i]) - ref[i]);
        den += static_cast<double>(ref[i]) * ref[i];
    }
    return std::sqrt(num / den);
}

void sale(benchmark::State &state, int64_t n, float tau, int threads) {
    Inputs &in = inputs(n, threads);
    std::vector<float> out(in.q.size());
    attn4j_tensor tq = t(in.q, n), tk = t(in.k, n), tv = t(in.v, n), to = t(out, n);
    attn4j_sale_params sp{sizeof(attn4j_sale_params)};
    sp.causal = 1;
    sp.thresholds = &tau;
    sp.num_thresholds = 1;
    sp.num_threads = threads;
    int64_t bytes = 0;
    attn4j_sale_mask_bytes(&tq, &tk, &sp, &bytes);
    std::vector<uint8_t> mask(static_cast<size_t>(bytes));
    // The estimation pass alone, through the same internals the C ABI uses.
    const cpu::FlashProblem p = make_flash_problem(&tq, &tk, &tv, &to, nullptr, {sizeof(attn4j_flash_params), 0.0f, 0.0f, 1, -1, -1, threads, nullptr});
    const cpu::SaleConfig cfg{&tau, 64, 64, 1, 2};
    const cpu::BlockMask m = cpu::sale_mask_layout(p, 64, 64, mask.data());
    double est = 0.0, sparse = 0.0, density = 0.0;
    for (auto _ : state) {
        const auto t0 = std::chrono::steady_clock::now();
        cpu::sale_estimate(p, cfg, m);
        const double e = seconds_since(t0);
        const auto t1 = std::chrono::steady_clock::now();
        if (attn4j_block_sparse_forward(&tq, &tk, &tv, &to, nullptr, &sp, mask.data(), bytes, &density) != ATTN4J_STATUS_OK) {
            state.SkipWithError(attn4j_last_error());
            return;
        }
        const double s = seconds_since(t1);
        state.SetIterationTime(e + s);
        est += e;
        sparse += s;
    }
    const double it = static_cast<double>(state.iterations());
    est /= it;
    sparse /= it;
    state.counters["dense_ms"] = in.dense_seconds * 1e3;
    state.counters["estimate_ms"] = est * 1e3;
    state.counters["sparse_ms"] = sparse * 1e3;
    state.counters["density"] = density;
    state.counters["rel_l2"] = rel_l2(out, in.dense_out);
    state.counters["speedup"] = in.dense_seconds / (est + sparse);
    state.counters["estimate_of_dense"] = est / in.dense_seconds;
    // The estimation's integer work: every visible (query, key) pair's d-long dot product, 2 ops a term.
    const double ops = 2.0 * kHeads * kDim * (static_cast<double>(n) * (n + 1) / 2);
    const bool vnni = attn4j_cpu_isa() == ATTN4J_ISA_AVX512 && ceiling_supported(Ceiling::Int8Vnni);
    state.counters["estimate_GOP/s"] = ops / est / 1e9;
    state.counters["estimate_of_int8_peak"] = ops / est / 1e9 / ceiling(vnni ? Ceiling::Int8Vnni : Ceiling::Int8Avx2, threads);
}

}  // namespace

void register_sale_benchmarks() {
    const int all = attn4j::default_threads();
    for (int64_t n : {8192, 16384, 32768, 65536})
        for (float tau : {0.05f, 0.02f, 0.01f, 0.004f, 0.001f, 0.0002f}) {
            const std::string name = "sale/f32/causal/mixed/H:1/d:128/N:" + std::to_string(n) + "/tau:" +
                                     std::to_string(tau).substr(0, 6) + "/threads:" + std::to_string(all);
            benchmark::RegisterBenchmark(name.c_str(), [=](benchmark::State &s) { sale(s, n, tau, all); })
                ->UseManualTime()->Unit(benchmark::kMillisecond)->MinTime(0.2);
        }
}

}  // namespace attn4j::bench
