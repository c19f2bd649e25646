// One key tile's step of the online softmax, for the two rows a thread holds in the wgmma accumulator
// layout (rows g and g + 8 of its warp's 16; register i is row (i / 2) % 2, column (i / 4) * 8 + 2 t4 +
// i % 2 of a tile of 2 N keys):
//   S *= scale log2(e) (or the soft-cap), S = -inf where a row cannot see a key (edge tiles only),
//   m' = max(m, rowmax S), S = exp2(S - m'), l = 2^(m - m') l + rowsum S, O *= 2^(m - m')
// and then P (= S) packed as the register A operand of P V, 16 keys per step. Both Hopper FlashAttention
// kernels (dense and block-sparse) run it between their two products, and finish_rows at the end.
#pragma once
#include <cstdint>

#include "cuda/flash_params.cuh"
#include "cuda/mma.cuh"

namespace attn4j::cuda::flash {

// SkipUnitRescale: leave O alone when no row of the warp moved its maximum (O *= 1 changes nothing).
// The block-sparse kernel (64-key tiles) measured faster with it; the dense kernel was not measured.
template <typename T, bool Softcap, int N, bool SkipUnitRescale = false>
__device__ __forceinline__ void online_softmax(float (&s)[N], float (&o)[64], float (&m)[2], float (&l)[2],
                                               uint32_t (&pa)[N / 8][4], const Params &p, const int64_t (&rows)[2],
                                               int64_t j0, bool edge, int t4) {
    constexpr int kKeys = 2 * N;
    // Each loop is short and branch-free: the kernels' code stays small.
    if constexpr (Softcap) {
#pragma unroll
        for (int i = 0; i < N; ++i) s[i] = p.softcap * tanhf(s[i] * p.scale / p.softcap) * 1.4426950408889634f;
    } else {
#pragma unroll
        for (int i = 0; i < N; ++i) s[i] *= p.scale_log2;
    }
    if (edge) {
        int vis_lo[2], vis_hi[2];  // this row's visible columns of the tile, [vis_lo, vis_hi)
#pragma unroll
        for (int half = 0; half < 2; ++half) {
            const int64_t a = key_lo(p, rows[half]) - j0, z = key_hi(p, rows[half]) - j0;
            vis_lo[half] = static_cast<int>(a < 0 ? 0 : (a > kKeys ? kKeys : a));
            vis_hi[half] = static_cast<int>(z < 0 ? 0 : (z > kKeys ? kKeys : z));
        }
#pragma unroll
        for (int i = 0; i < N; ++i) {
            const int half = (i / 2) % 2, col = (i / 4) * 8 + t4 * 2 + (i % 2);
            if (col < vis_lo[half] || col >= vis_hi[half]) s[i] = -INFINITY;
        }
    }
    float mx[2] = {-INFINITY, -INFINITY};
#pragma unroll
    for (int i = 0; i < N; ++i) mx[(i / 2) % 2] = fmaxf(mx[(i / 2) % 2], s[i]);
    float alpha[2];
#pragma unroll
    for (int half = 0; half < 2; ++half) {
        mx[half] = fmaxf(mx[half], __shfl_xor_sync(0xffffffffu, mx[half], 1));
        mx[half] = fmaxf(mx[half], __shfl_xor_sync(0xffffffffu, mx[half], 2));
        const float m_new = fmaxf(m[half], mx[half]);
        const float m_use = m_new == -INFINITY ? 0.0f : m_new;  // a row that sees nothing yet
        alpha[half] = exp2f(m[half] - m_use);
        m[half] = m_new;
        mx[half] = m_use;
    }
    float rowsum[2] = {0.0f, 0.0f};
#pragma unroll
    for (int i = 0; i < N; ++i) {
        const int half = (i / 2) % 2;
        s[i] = exp2f(s[i] - mx[half]);
        rowsum[half] += s[i];
    }
    if (!SkipUnitRescale || __any_sync(0xffffffffu, alpha[0] != 1.0f || alpha[1] != 1.0f)) {
#pragma unroll
        for (int i = 0; i < 64; ++i) o[i] *= alpha[(i / 2) % 2];
    }
#pragma unroll
    for (int half = 0; half < 2; ++half) l[half] = l[half] * alpha[half] + rowsum[half];
    // The accumulator layout of S is the register A layout of 16-key steps.
#pragma unroll
    for (int kc = 0; kc < N / 8; ++kc)
#pragma unroll
        for (int r = 0; r < 4; ++r) pa[kc][r] = pack2<T>(s[8 * kc + 2 * r], s[8 * kc + 2 * r + 1]);
}

// The end of a row block: the row sums finished across the 4 threads of a row, then each of this
// thread's two rows normalized and written (rows past the end are not). Every lane must call it.
template <typename T>
__device__ __forceinline__ void finish_rows(const Params &p, int64_t b, int64_t h, const int64_t (&rows)[2],
                                            const float (&o)[64], const float (&m)[2], const float (&l)[2], int t4) {
#pragma unroll
    for (int half = 0; half < 2; ++half) {
        const float sum = quad_sum(l[half]);
        if (rows[half] >= p.len_q) continue;
        write_row<T, 128>(p, b, h, rows[half], sum, m[half], t4,
                          [&](int n) { return make_float2(o[4 * n + 2 * half], o[4 * n + 2 * half + 1]); }, p.len_k);
    }
}

}  // namespace attn4j::cuda::flash
