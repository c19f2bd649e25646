#include "inputs/structured_inputs.h"

#include "common/thread_pool.h"
#include "cpu/element.h"

namespace attn4j::inputs {

namespace {

uint64_t mix(uint64_t x) {
    uint64_t z = x + 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

template <class... C>
uint64_t key(uint64_t seed, C... coords) {
    uint64_t h = mix(seed);
    ((h = mix(h ^ static_cast<uint64_t>(coords))), ...);
    return h;
}

float unif(uint64_t h) { return static_cast<float>(h >> 40) * (1.0f / 16777216.0f); }

float gauss(uint64_t h) {
    const float s = (unif(mix(h ^ 1)) + unif(mix(h ^ 2))) + unif(mix(h ^ 3));
    return (s - 1.5f) * 2.0f;
}

// Row r of the n x n Walsh-Hadamard matrix (n a power of two), column c: rows are orthogonal, so two
// positions in different segments contribute nothing to each other's scores unless their rows collide.
float walsh(uint64_t r, int64_t c) { return (__builtin_popcountll(r & static_cast<uint64_t>(c)) & 1) != 0 ? -1.0f : 1.0f; }

// Largest power of two <= n (n >= 1).
int64_t pow2_floor(int64_t n) {
    int64_t p = 1;
    while (p * 2 <= n) p *= 2;
    return p;
}

bool has(Pattern p, Pattern f) { return p == f || p == Pattern::Mixed; }

// The feature added to element e of a q row (query = true) or k row at absolute position pos.
float feature(Pattern pat, uint64_t seed, bool query, int64_t b, int64_t g, int64_t pos, int64_t e, int64_t d) {
    const int64_t w = d / 8 > 1 ? d / 8 : 1;
    const int64_t slot = e / w;
    const uint64_t n2 = static_cast<uint64_t>(pow2_floor(2 * w)), n1 = static_cast<uint64_t>(pow2_floor(w));
    if (slot == 0 && has(pat, Pattern::Sinks)) return query || pos < 4 ? 3.0f : 0.0f;
    if ((slot == 1 || slot == 2) && has(pat, Pattern::Local))
        return 2.0f * walsh(key(seed, 11, b, g, pos / 64) % n2, e - w);
    if ((slot == 3 || slot == 4) && has(pat, Pattern::Local))
        return 2.0f * walsh(key(seed, 12, b, g, (pos + 32) / 64) % n2, e - 3 * w);
    if (slot == 5 && has(pat, Pattern::Stripes)) return query || key(seed, 13, b, g, pos) % 512 == 0 ? 2.5f : 0.0f;
    if (slot == 6 && has(pat, Pattern::Slashes)) {
        const int64_t o = 128 * (1 + g % 3);
        return 2.5f * walsh(key(seed, 14, b, g, (query ? pos : pos + o) / 16) % n1, e - 6 * w);
    }
    return 0.0f;
}

void fill(Pattern pat, uint64_t seed, const Target &t, int tensor, int64_t group, int64_t offset, int threads) {
    const int64_t B = t.shape[0], H = t.shape[1], N = t.shape[2], d = t.shape[3];
    if (B == 0 || H == 0 || N == 0 || d == 0) return;  // an empty tensor's other dims are unbounded
    const float a0 = pat == Pattern::Random || tensor == 3 ? 1.0f : 0.5f;
    parallel_for(B * H, threads, [&](int64_t bh) {
        const int64_t b = bh / H, h = bh % H, g = h / group;
        for (int64_t n = 0; n < N; ++n)
            for (int64_t e = 0; e < d; ++e) {
                float x = a0 * gauss(key(seed, tensor, b, h, n, e));
                if (tensor != 3) x = x + feature(pat, seed, tensor == 1, b, g, n + offset, e, d);
                cpu::store_element(t.data, t.dtype, b * t.strides[0] + h * t.strides[1] + n * t.strides[2] + e * t.strides[3], x);
            }
    });
}

}  // namespace

void structured_qkv(Pattern pattern, uint64_t seed, const Target &q, const Target &k, const Target &v, int threads) {
    const int64_t group = k.shape[1] > 0 ? q.shape[1] / k.shape[1] : 1;
    fill(pattern, seed, q, 1, group, k.shape[2] - q.shape[2], threads);
    fill(pattern, seed, k, 2, 1, 0, threads);
    fill(pattern, seed, v, 3, 1, 0, threads);
}

}  // namespace attn4j::inputs
