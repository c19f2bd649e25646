// What the packed-sequence benchmarks share (flash_sequences_bench.cpp, sale_sequences_bench.cpp): a
// sequence's rows as a view of the packed tensors, and the counters of a packed call against the same
// sequences called one by one (the baseline, measured in the same run).
#pragma once
#include <benchmark/benchmark.h>

#include <cstdint>

#include "attn4j.h"
#include "bench_tensors.h"

namespace attn4j::bench {

// Rows [r0, r0 + n) of a packed [1, heads, total, dim] tensor as a tensor of their own (same strides).
inline attn4j_tensor packed_rows(void *base, int32_t dtype, int64_t heads, int64_t total, int64_t dim, int64_t r0,
                                 int64_t n) {
    attn4j_tensor t = host_tensor(base, dtype, 1, heads, total, dim);
    t.data = static_cast<char *>(base) + r0 * dim * (dtype == ATTN4J_DTYPE_F32 ? 4 : 2);
    t.shape[2] = n;
    return t;
}

// GFLOP/s of `flops` per iteration over `seconds`, the sequence count, and for the packed call its ratio
// to the per-sequence calls of the same benchmark family (`baseline`, set by those calls).
inline void report_sequences(benchmark::State &state, double seconds, double flops, double sequences, bool packed,
                             double &baseline) {
    const double gflops = flops / (seconds / static_cast<double>(state.iterations())) / 1e9;
    state.counters["GFLOP/s"] = gflops;
    state.counters["sequences"] = sequences;
    if (!packed) baseline = gflops;
    else if (baseline > 0) state.counters["x_per_sequence"] = gflops / baseline;
}

}  // namespace attn4j::bench
