// This machine's ceilings, measured in the same binary the kernels are timed in: fp32 FMA peak
// (AVX2 and AVX-512), bf16 dot-product peak (vdpbf16ps) and memory bandwidth (triad).
#pragma once

namespace attn4j::bench {

enum class Ceiling { FmaAvx2, FmaAvx512, DotBf16, Triad };

const char *ceiling_name(Ceiling c);
bool ceiling_supported(Ceiling c);
// One measurement: GFLOP/s (or GB/s for Triad) with `threads` threads, over about `seconds`.
double measure_ceiling(Ceiling c, int threads, double seconds);
// The best of a few measurements, cached per (ceiling, threads): what kernels are compared with.
double ceiling(Ceiling c, int threads);

void register_roofline_benchmarks();

}  // namespace attn4j::bench
