// FlashAttention forward on Hopper (sm_90a) with warpgroup MMA: the math of flash_forward_cuda.cu
// (online softmax in log2 units, fp32 accumulators), on 128 x 128 tiles:
//   S = Q K^T                         wgmma m64n128k16, Q and K read from shared memory
//   m' = max(m, rowmax S), P = exp2(S - m'), l = 2^(m - m') l + rowsum P
//   O = 2^(m - m') O + P V            wgmma m64n128k16, P from registers, V read transposed
// A block of 2 warpgroups owns 128 query rows of one (batch, head), 64 per warpgroup. K and V tiles of
// 128 keys stream in with cp.async (the next tile loads while this one computes), all tiles stored in
// the 128-byte-swizzled layout of wgmma.cuh. The second warpgroup runs half a step behind: it issues
// P V of the previous tile together with S of this one, so that one warpgroup's softmax overlaps the
// other's matrix products on the tensor cores (V keeps three buffers for it, K two).
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <type_traits>

#include "attn4j.h"
#include "cuda/flash_params.cuh"
#include "cuda/launch.h"
#include "cuda/mma.cuh"
#include "cuda/wgmma.cuh"

namespace attn4j::cuda::flash {

namespace {

constexpr int kDim = 128, kRows = 128, kThreads = 256;
[[maybe_unused]] constexpr int kKeys = 128;  // keys per tile (used by sm_90a code only)
constexpr int kBlockBytes = 128 * 128;      // one [128 rows][64] column block of 16-bit elements
constexpr int kTileBytes = 2 * kBlockBytes;  // a [128][128] tile: two column blocks
constexpr size_t kSmemBytes = 6 * kTileBytes + 1024;  // Q, two K and three V tiles, 1024-byte alignment

// Rows [r0, r0 + 128) of a [len][128] slice into a swizzled tile, zero past len. Thread t copies the
// 16-byte chunk t % 16 of rows t / 16 + 16 i: its swizzled column (chunk ^ row % 8) is the same for
// every i.
template <typename T>
__device__ __forceinline__ void load_tile(unsigned char *dst, const T *src, int64_t ld, int64_t r0, int64_t len,
                                          int tid) {
    const int row = tid / 16, chunk = tid % 16;
    unsigned char *d = dst + (chunk / 8) * kBlockBytes + row * 128 + (((chunk % 8) ^ (row % 8)) << 4);
    const T *s = src + (r0 + row) * ld + chunk * 8;
#pragma unroll
    for (int i = 0; i < kRows / 16; ++i) {
        const bool in = r0 + row + 16 * i < len;
        cp_async16(d + i * 16 * 128, in ? s + 16 * i * ld : src, in);
    }
}

#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
// A barrier for all 256 threads, reached from each warpgroup's own copy of the loop.
__device__ __forceinline__ void block_sync() { asm volatile("bar.sync 1, %0;\n" ::"n"(kThreads) : "memory"); }
#endif

// Softcap: a separate kernel, since a branch around code that feeds wgmma registers serializes them.
template <typename T, bool Softcap>
__global__ void __launch_bounds__(kThreads, 1) flash_forward_sm90_kernel(const Params p) {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
    extern __shared__ unsigned char smem_raw[];
    unsigned char *const smem =
        reinterpret_cast<unsigned char *>((reinterpret_cast<uintptr_t>(smem_raw) + 1023) & ~static_cast<uintptr_t>(1023));
    unsigned char *const sq = smem;
    auto sk = [&](int64_t t) { return smem + (1 + t % 2) * kTileBytes; };  // tile number t = (j0 - lo) / 128
    auto sv = [&](int64_t t) { return smem + (3 + t % 3) * kTileBytes; };
    // Descriptors: the start address field (bits 0-13, 16-byte units) advances with the byte offset.
    const uint64_t kmajor = wgmma::descriptor(smem, 16, 1024), vmajor = wgmma::descriptor(smem, kBlockBytes, 1024);
    auto at = [](uint64_t desc, const unsigned char *base, const unsigned char *p) { return desc + ((p - base) >> 4); };

    const int tile = gridDim.x - 1 - blockIdx.x;  // heaviest (causal) tiles first
    const int bh = blockIdx.y, b = bh / p.heads_q, h = bh % p.heads_q, hk = h / p.group;
    const int64_t i0 = static_cast<int64_t>(tile) * kRows;
    const int tid = threadIdx.x, wg = tid / 128, warp = (tid % 128) / 32, lane = tid % 32, g = lane / 4, t4 = lane % 4;

    const T *q = static_cast<const T *>(p.q) + b * p.sq[0] + h * p.sq[1];
    const T *k = static_cast<const T *>(p.k) + b * p.sk[0] + hk * p.sk[1];
    const T *v = static_cast<const T *>(p.v) + b * p.sv[0] + hk * p.sv[1];

    const int64_t last = (i0 + kRows < p.len_q ? i0 + kRows : p.len_q) - 1;
    const int64_t lo = key_lo(p, i0), hi = key_hi(p, last);
    // Tiles inside [lo_all, hi_all) are visible to every row of the block: no per-element mask there.
    const int64_t lo_all = key_lo(p, last), hi_all = key_hi(p, i0);
    // This thread's two rows of the accumulator layout (rows g and g + 8 of its warp's 16).
    const int64_t rows[2] = {i0 + wg * 64 + warp * 16 + g, i0 + wg * 64 + warp * 16 + g + 8};

    load_tile<T>(sq, q, p.sq[2], i0, p.len_q, tid);
    if (lo < hi) {
        load_tile<T>(sk(0), k, p.sk[2], lo, p.len_k, tid);
        load_tile<T>(sv(0), v, p.sv[2], lo, p.len_k, tid);
    }
    cp_async_commit();

    float o[64], m[2] = {-INFINITY, -INFINITY}, l[2] = {0.0f, 0.0f};
#pragma unroll
    for (int i = 0; i < 64; ++i) o[i] = 0.0f;
    uint32_t pa[kKeys / 16][4];  // P of the tile whose P V is still to be issued (second warpgroup)

    // O += P V of tile t, from the registers in pa.
    auto issue_pv = [&](int64_t t) {
#pragma unroll
        for (int kc = 0; kc < kKeys / 16; ++kc)
            wgmma::mma_rs<T>(o, pa[kc], at(vmajor, smem, sv(t) + kc * 16 * 128), 1);
    };

    // The second warpgroup issues P V of tile t - 1 with S of tile t; at t = 0 that is P = 0 times a
    // zeroed V buffer (the one tile 2 later loads into), so its wgmma sequence has no branch in it.
    if (wg == 1) {
        for (int x = tid - 128; x < kTileBytes / 16; x += 128)
            reinterpret_cast<uint4 *>(sv(2))[x] = make_uint4(0, 0, 0, 0);
#pragma unroll
        for (int kc = 0; kc < kKeys / 16; ++kc)
            for (int r = 0; r < 4; ++r) pa[kc][r] = 0u;
    }
    wgmma::fence_proxy_async();
    block_sync();

    // One copy of the loop per warpgroup role, so that no wgmma sits on a branch.
    auto run = [&](auto behind_tag) {
        constexpr bool behind = decltype(behind_tag)::value;
        int64_t t = 0;
        for (int64_t j0 = lo; j0 < hi; j0 += kKeys, ++t) {
            if (j0 + kKeys < hi) {  // start the next tile, then wait for this one
                load_tile<T>(sk(t + 1), k, p.sk[2], j0 + kKeys, p.len_k, tid);
                load_tile<T>(sv(t + 1), v, p.sv[2], j0 + kKeys, p.len_k, tid);
                cp_async_commit();
                cp_async_wait<1>();
            } else {
                cp_async_wait<0>();
            }
            wgmma::fence_proxy_async();
            block_sync();

            // (second warpgroup: P V of the previous tile first), then S = Q K^T over the 128 head dims,
            // 16 at a time (the start address walks 32 bytes along a swizzled row, then on to the second
            // column block).
            float s[64];
#pragma unroll
            for (int i = 0; i < 64; ++i) s[i] = 0.0f;
            wgmma::fence();
            if constexpr (behind) issue_pv(t + 2);  // (t + 2) % 3 == (t - 1) % 3
#pragma unroll
            for (int ks = 0; ks < kDim / 16; ++ks) {
                const int off = (ks / 4) * kBlockBytes + (ks % 4) * 32;
                wgmma::mma_ss<T>(s, at(kmajor, smem, sq + off + (behind ? 64 * 128 : 0)), at(kmajor, smem, sk(t) + off), 1);
            }
            wgmma::commit();
            wgmma::wait<0>();
            wgmma::fence_operands(s);
            wgmma::fence_operands(o);

            // Scale (and soft-cap), mask tiles that cross a mask edge, row maxima over the 4 threads of a
            // row. Each loop is short and branch-free: the kernel's code stays small.
            if constexpr (Softcap) {
#pragma unroll
                for (int i = 0; i < 64; ++i) s[i] = p.softcap * tanhf(s[i] * p.scale / p.softcap) * 1.4426950408889634f;
            } else {
#pragma unroll
                for (int i = 0; i < 64; ++i) s[i] *= p.scale_log2;
            }
            if (j0 < lo_all || j0 + kKeys > hi_all) {
                int vis_lo[2], vis_hi[2];  // this row's visible columns of the tile, [vis_lo, vis_hi)
#pragma unroll
                for (int half = 0; half < 2; ++half) {
                    const int64_t a = key_lo(p, rows[half]) - j0, z = key_hi(p, rows[half]) - j0;
                    vis_lo[half] = static_cast<int>(a < 0 ? 0 : (a > kKeys ? kKeys : a));
                    vis_hi[half] = static_cast<int>(z < 0 ? 0 : (z > kKeys ? kKeys : z));
                }
#pragma unroll
                for (int i = 0; i < 64; ++i) {
                    const int half = (i / 2) % 2, col = (i / 4) * 8 + t4 * 2 + (i % 2);
                    if (col < vis_lo[half] || col >= vis_hi[half]) s[i] = -INFINITY;
                }
            }
            float mx[2] = {-INFINITY, -INFINITY};
#pragma unroll
            for (int i = 0; i < 64; ++i) mx[(i / 2) % 2] = fmaxf(mx[(i / 2) % 2], s[i]);
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
            for (int i = 0; i < 64; ++i) {
                const int half = (i / 2) % 2;
                s[i] = exp2f(s[i] - mx[half]);
                rowsum[half] += s[i];
                o[i] *= alpha[half];
            }
#pragma unroll
            for (int half = 0; half < 2; ++half) l[half] = l[half] * alpha[half] + rowsum[half];

            // The accumulator layout of S is the register A layout of 16-key steps.
#pragma unroll
            for (int kc = 0; kc < kKeys / 16; ++kc)
#pragma unroll
                for (int r = 0; r < 4; ++r) pa[kc][r] = pack2<T>(s[8 * kc + 2 * r], s[8 * kc + 2 * r + 1]);
            if constexpr (!behind) {  // O += P V now
                wgmma::fence();
                issue_pv(t);
                wgmma::commit();
                wgmma::wait<0>();
                wgmma::fence_operands(o);
            }
            block_sync();  // K tile t and V tile t - 1 are no longer read: the next loads may refill them
        }
        if constexpr (behind) {  // the last tile's P V (P = 0 when there was none)
            wgmma::fence();
            issue_pv(t + 2);
            wgmma::commit();
            wgmma::wait<0>();
            wgmma::fence_operands(o);
        }
    };
    if (wg == 1) {
        run(std::true_type{});
    } else {
        run(std::false_type{});
    }
    cp_async_wait<0>();

    // Finish the row sums across the 4 threads of a row, normalize and write.
#pragma unroll
    for (int half = 0; half < 2; ++half) {
        float sum = l[half];
        sum += __shfl_xor_sync(0xffffffffu, sum, 1);
        sum += __shfl_xor_sync(0xffffffffu, sum, 2);
        const int64_t i = rows[half];
        if (i >= p.len_q) continue;
        const float inv = sum > 0.0f ? 1.0f / sum : 0.0f;
        const int64_t base = b * p.so[0] + h * p.so[1] + i * p.so[2];
#pragma unroll
        for (int n = 0; n < kDim / 8; ++n) {
            const int c = n * 8 + t4 * 2;
            const float o0 = o[4 * n + 2 * half] * inv, o1 = o[4 * n + 2 * half + 1] * inv;
            if (p.out_f32) {
                float *dst = static_cast<float *>(p.out) + base;
                dst[c] = o0;
                dst[c + 1] = o1;
            } else {
                T *dst = static_cast<T *>(p.out) + base;
                dst[c] = from_float<T>(o0);
                dst[c + 1] = from_float<T>(o1);
            }
        }
        if (p.lse != nullptr && t4 == 0)
            p.lse[b * p.sl[0] + h * p.sl[1] + i * p.sl[2]] =
                sum > 0.0f ? (m[half] + log2f(sum)) * 0.6931471805599453f : -INFINITY;
    }
#endif
}

template <typename T>
int32_t launch(const Params &p, int64_t batch_heads, cudaStream_t stream, std::string &error) {
    auto kernel = p.softcap > 0.0f ? flash_forward_sm90_kernel<T, true> : flash_forward_sm90_kernel<T, false>;
    if (const int32_t st = status_of(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                                         static_cast<int>(kSmemBytes)), "cudaFuncSetAttribute", error))
        return st;
    const dim3 grid(static_cast<unsigned>((p.len_q + kRows - 1) / kRows), static_cast<unsigned>(batch_heads));
    kernel<<<grid, kThreads, kSmemBytes, stream>>>(p);
    return status_of(cudaGetLastError(), "FlashAttention (sm_90a) kernel launch", error);
}

}  // namespace

bool sm90_applies(const Params &p, int dim, int device) {
    if (dim != kDim || p.mask != nullptr || p.len_q <= 64) return false;
    // ATTN4J_CUDA_WGMMA=0 keeps the mma.sync kernel (tests run both on Hopper).
    const char *env = std::getenv("ATTN4J_CUDA_WGMMA");
    if (env != nullptr && std::strcmp(env, "0") == 0) return false;
    int major = 0, minor = 0;
    if (cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device) != cudaSuccess ||
        cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, device) != cudaSuccess)
        return false;
    return major == 9 && minor == 0;
}

int32_t launch_sm90(const Params &p, bool bf16, int64_t batch_heads, cudaStream_t stream, std::string &error) {
    return bf16 ? launch<__nv_bfloat16>(p, batch_heads, stream, error) : launch<__half>(p, batch_heads, stream, error);
}

}  // namespace attn4j::cuda::flash
