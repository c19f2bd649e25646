// This machine's ceilings, measured in the same binary the kernels are timed in: fp32 FMA peak
// (AVX2 and AVX-512), bf16 dot-product peak (vdpbf16ps), int8 dot-product peak (vpmaddubsw, vpdpbusd) and
// memory bandwidth (triad).
#pragma once

namespace attn4j::bench {

// Int8* count 2 ops per byte product (multiply + add), like FLOPs, for SALE's 4-bit estimation.
enum class Ceiling { FmaAvx2, FmaAvx512, DotBf16, Triad, Int8Avx2, Int8Vnni };

const char *ceiling_name(Ceiling c);
bool ceiling_supported(Ceiling c);
// One measurement: GFLOP/s (or GB/s for Triad) with `threads` threads, over about `seconds`.
double measure_ceiling(Ceiling c, int threads, double seconds);
// The best of a few measurements, cached per (ceiling, threads): what kernels are compared with.
double ceiling(Ceiling c, int threads);

void register_roofline_benchmarks();

}  // namespace attn4j::bench
