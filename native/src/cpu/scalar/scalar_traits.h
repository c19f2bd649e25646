// Vector traits of plain C++ (one lane): lets the portable kernels share the blocked algorithms of
// the SIMD ones; the compiler vectorizes what it can for the baseline ISA.
#pragma once

#include <algorithm>
#include <cstdint>

#include "common/bf16.h"

namespace attn4j::cpu {
namespace {

struct Scalar {
    using V = float;
    static constexpr int W = 1;
    static constexpr int MR = 4;
    static constexpr int NV = 4;
    static constexpr int64_t BK = 64;
    static constexpr bool kBf16Dot = false;

    static V zero() { return 0.0f; }
    static V load(const float *p) { return *p; }
    static void store(float *p, V v) { *p = v; }
    static V set1(float x) { return x; }
    static V fmadd(V a, V b, V c) { return a * b + c; }
    static V add(V a, V b) { return a + b; }
    static V mul(V a, V b) { return a * b; }
    static V max(V a, V b) { return std::max(a, b); }
    static V load_bf16(const uint16_t *p) { return bf16_to_f32(*p); }
};

}  // namespace
}  // namespace attn4j::cpu
