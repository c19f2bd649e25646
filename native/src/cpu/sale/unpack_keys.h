// The 4-bit key block of QuantizedKeys (sale.h) back to signed bytes: byte t of the packed form holds
// layout element t in its low nibble and element t + half in its high one, each stored + 8. One
// definition for every ISA's row-max kernel: 32 bytes at a time where the including file is compiled
// with AVX2 (the AVX2, AVX-512 and AMX kernels), byte by byte otherwise. Internal linkage, so no wide
// code leaks into baseline code.
#pragma once
#include <cstdint>
#if defined(__AVX2__)
#include <immintrin.h>
#endif

namespace attn4j::cpu {
namespace {

inline void unpack_keys(const uint8_t *packed, int64_t half, int8_t *kt) {
    int64_t t = 0;
#if defined(__AVX2__)
    const __m256i low = _mm256_set1_epi8(15), eight = _mm256_set1_epi8(8);
    for (; t + 32 <= half; t += 32) {
        const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i *>(packed + t));
        _mm256_storeu_si256(reinterpret_cast<__m256i *>(kt + t), _mm256_sub_epi8(_mm256_and_si256(x, low), eight));
        _mm256_storeu_si256(reinterpret_cast<__m256i *>(kt + half + t),
                            _mm256_sub_epi8(_mm256_and_si256(_mm256_srli_epi16(x, 4), low), eight));
    }
#endif
    for (; t < half; ++t) {
        kt[t] = static_cast<int8_t>((packed[t] & 15) - 8);
        kt[t + half] = static_cast<int8_t>((packed[t] >> 4) - 8);
    }
}

}  // namespace
}  // namespace attn4j::cpu
