// Q/K/V whose attention maps have the shapes real LLM heads show (sinks, local windows, vertical
// stripes, slashes), from a counter-based hash so any element can be computed on its own and the
// Java generator (org.attn4j.StructuredInputs) reproduces the same bytes. The recipe, exactly:
//
//   mix(x)   = SplitMix64's finalizer of x + 0x9E3779B97F4A7C15
//   key(...) = mix chained over seed then each coordinate: h = mix(seed); h = mix(h ^ c) per c
//   unif(h)  = (h >> 40) * 2^-24                                     (float in [0, 1), exact)
//   gauss(h) = ((unif(mix(h ^ 1)) + unif(mix(h ^ 2)) + unif(mix(h ^ 3))) - 1.5) * 2   (var 1)
//   walsh(r, c) = (-1)^popcount(r & c): row r of a Walsh-Hadamard matrix (orthogonal rows)
//   n2, n1   = the largest powers of two <= 2w and <= w
// Element e of row n of tensor t (1 = q, 2 = k, 3 = v) in head hh (q: its q head) of batch b:
//   x = a0 * gauss(key(seed, t, b, hh, n, e)) + feature,   a0 = 1 (random, and every v) else 0.5
// Features use disjoint slots of the head dim (w = max(1, d / 8)); p is the row's absolute position
// (q rows: n + Nk - Nq), g the kv head, all in fp32, one add per element:
//   sinks   [0, w):    +3.0 on keys p < 4 and on every query
//   local   [w, 3w):   +2.0 * walsh(key(seed, 11, b, g, p / 64) % n2, e - w)          (both q and k)
//           [3w, 5w):  +2.0 * walsh(key(seed, 12, b, g, (p + 32) / 64) % n2, e - 3w)
//   stripes [5w, 6w):  +2.5 on keys with key(seed, 13, b, g, p) % 512 == 0 and on every query
//   slashes [6w, 7w):  q: +2.5 * walsh(key(seed, 14, b, g, p / 16) % n1, e - 6w),
//                      k: +2.5 * walsh(key(seed, 14, b, g, (p + o) / 16) % n1, e - 6w),  o = 128 * (1 + g % 3)
// At d = 128 (scale 1/sqrt(d)) a query scores about +12.7 on the sinks, +11.3 per shared local
// segment (+22.6 within both), +8.8 on stripes and on its slash, around 0 (sd about 1) elsewhere.
// (Positions in one 64-token segment share a Walsh row, so nearby keys score high and far ones add
// nothing unless their rows collide, as a retrieval spike would.)
#pragma once
#include <cstdint>

#include "core/dtype.h"

namespace attn4j::inputs {

enum class Pattern : int32_t { Random = 0, Sinks = 1, Local = 2, Stripes = 3, Slashes = 4, Mixed = 5 };

struct Target {
    void *data;
    core::DType dtype;
    int64_t shape[4];
    int64_t strides[4];
};

// Fills q, k, v (host, f32 or bf16); heads of k and v are the kv heads.
void structured_qkv(Pattern pattern, uint64_t seed, const Target &q, const Target &k, const Target &v, int threads);

}  // namespace attn4j::inputs
