// attn4j_bench: the roofline ceilings first, then every kernel, in one binary and one run.
//   build/benchmarks/native/attn4j_bench --benchmark_filter='roofline|flash/avx2/f32/d:128/N:4096'
#include <benchmark/benchmark.h>

#include "roofline.h"

namespace attn4j::bench {
void register_flash_benchmarks();
void register_flash_sequences_benchmarks();
void register_sale_sequences_benchmarks();
void register_lightning_benchmarks();
void register_sale_benchmarks();
void register_cuda_call_benchmarks();
}

int main(int argc, char **argv) {
    attn4j::bench::register_roofline_benchmarks();
    attn4j::bench::register_flash_benchmarks();
    attn4j::bench::register_flash_sequences_benchmarks();
    attn4j::bench::register_sale_sequences_benchmarks();
    attn4j::bench::register_lightning_benchmarks();
    attn4j::bench::register_sale_benchmarks();
    attn4j::bench::register_cuda_call_benchmarks();
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
