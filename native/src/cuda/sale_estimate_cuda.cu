// SALE's estimation pass on NVIDIA GPUs (the CPU version and its choices: cpu/sale/sale.h). Q and K
// are quantized to 4-bit values held in int8 (sale_quantize_cuda.cu: K smoothed by its mean, one scale
// per 64-key block; one scale per query token), and every 64-query-row block walks its key blocks in SALE's order on
// integer tensor cores (mma.sync m16n8k32 s8.s8.s32): per block the estimated row maxima, the
// Relative Attention Score test against the running row maxima, one bit of the mask. On Hopper, with
// head dim 128, sale_estimate_sm90.cu replaces that last kernel.
#include <cuda_runtime.h>

#include <climits>
#include <cstdint>
#include <string>
#include <type_traits>

#include "attn4j.h"
#include "cuda/cuda_backend.h"
#include "cuda/launch.h"
#include "cuda/mma.cuh"
#include "cuda/sale_estimate.cuh"

namespace attn4j::cuda {

using sale::EstParams;
using sale::kBlock;

namespace {

constexpr int kThreads = 128;  // 4 warps, 16 query rows each

__device__ __forceinline__ void mma_s8(int (&c)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
    asm volatile("mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
                 : "+r"(c[0]), "+r"(c[1]), "+r"(c[2]), "+r"(c[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

// The mask row of one 64-query-row block: key blocks in SALE's order (diagonal and local blocks
// first, the sinks, then the rest nearest first), each estimated on the int8 tensor cores.
template <int D>
__global__ void __launch_bounds__(kThreads) estimate_rows(const EstParams p) {
    __shared__ __align__(16) int8_t sk[2][kBlock][D + 16];
    extern __shared__ uint8_t row_bits[];
    const int qb = blockIdx.x, bh = blockIdx.y, h = bh % p.heads_q, hk = bh / p.heads_q * (p.heads_q / p.group) + h / p.group;
    const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32, g = lane / 4, t4 = lane % 4;
    for (int x = tid; x < p.row_bytes; x += kThreads) row_bits[x] = 0;
    const sale::RowPlan plan = sale::row_plan(p, qb);
    const int64_t i0 = plan.i0;
    const int end = plan.end;
    __syncthreads();
    auto set_bit = [&](int kb) { atomicOr(reinterpret_cast<unsigned *>(row_bits) + kb / 32, 1u << (kb % 32)); };
    const float log_tau = p.log_tau[h];
    if (log_tau == -INFINITY || end == 0) {
        for (int kb = tid; kb < end; kb += kThreads) set_bit(kb);
    } else {
        // Query fragments (A of m16n8k32: rows g, g + 8; bytes 4 t4 .. and 16 + 4 t4 of each 32-wide k step).
        const int r0 = warp * 16;
        const int8_t *q8 = p.q8 + (static_cast<int64_t>(bh) * p.len_q + i0) * D;
        uint32_t qa[D / 32][4];
        for (int ks = 0; ks < D / 32; ++ks) {
            auto at = [&](int r, int c) -> uint32_t {
                return i0 + r < p.len_q ? *reinterpret_cast<const uint32_t *>(q8 + r * D + ks * 32 + c) : 0u;
            };
            qa[ks][0] = at(r0 + g, 4 * t4);
            qa[ks][1] = at(r0 + g + 8, 4 * t4);
            qa[ks][2] = at(r0 + g, 16 + 4 * t4);
            qa[ks][3] = at(r0 + g + 8, 16 + 4 * t4);
        }
        const int64_t row_abs[2] = {i0 + r0 + g, i0 + r0 + g + 8};
        const float qsc[2] = {row_abs[0] < p.len_q ? p.qs[static_cast<int64_t>(bh) * p.len_q + row_abs[0]] * p.scale : 0.0f,
                              row_abs[1] < p.len_q ? p.qs[static_cast<int64_t>(bh) * p.len_q + row_abs[1]] * p.scale : 0.0f};
        float run[2] = {-INFINITY, -INFINITY};
        const int diag = plan.diag, local_lo = plan.local_lo, sinks = plan.sinks;
        // Visit order: diag .. local_lo (kept), 0 .. sinks - 1 (kept), local_lo - 1 .. sinks, diag + 1 .. end - 1.
        const int n_local = diag - local_lo + 1;
        auto visit = [&](int v, bool &always) {
            always = v < n_local + sinks;
            if (v < n_local) return diag - v;
            if (v < n_local + sinks) return v - n_local;
            if (v < n_local + local_lo) return local_lo - 1 - (v - n_local - sinks);
            return diag + 1 + (v - n_local - local_lo);
        };
        // Key blocks stream into two shared buffers with cp.async, the next one while this one computes.
        auto fetch = [&](int kb, int buf) {
            const int8_t *k8 = p.k8 + (static_cast<int64_t>(hk) * p.k_blocks * kBlock + static_cast<int64_t>(kb) * kBlock) * D;
            for (int x = tid; x < kBlock * D / 16; x += kThreads) {
                const int r = x / (D / 16), c = (x % (D / 16)) * 16;
                cp_async16(&sk[buf][r][c], k8 + r * D + c, true);
            }
            cp_async_commit();
        };
        bool always0;
        fetch(visit(0, always0), 0);
        for (int v = 0; v < end; ++v) {
            bool always;
            const int kb = visit(v, always), buf = v & 1;
            if (v + 1 < end) {
                bool next_always;
                fetch(visit(v + 1, next_always), buf ^ 1);
                cp_async_wait<1>();
            } else {
                cp_async_wait<0>();
            }
            __syncthreads();
            // Interior blocks (every row sees every key) skip the per-element visibility tests.
            const int64_t j0 = static_cast<int64_t>(kb) * kBlock;
            const bool interior = kb <= plan.whole_hi;
            int best[2] = {INT_MIN, INT_MIN};
#pragma unroll
            for (int nt = 0; nt < kBlock / 8; ++nt) {
                int acc[4] = {0, 0, 0, 0};
#pragma unroll
                for (int ks = 0; ks < D / 32; ++ks)
                    mma_s8(acc, qa[ks], *reinterpret_cast<const uint32_t *>(&sk[buf][nt * 8 + g][ks * 32 + 4 * t4]),
                           *reinterpret_cast<const uint32_t *>(&sk[buf][nt * 8 + g][ks * 32 + 16 + 4 * t4]));
                if (interior) {
                    best[0] = max(best[0], max(acc[0], acc[1]));
                    best[1] = max(best[1], max(acc[2], acc[3]));
                    continue;
                }
#pragma unroll
                for (int c = 0; c < 4; ++c) {
                    const int half = c / 2;
                    const int64_t j = j0 + nt * 8 + 2 * t4 + (c & 1);
                    if (sale::sees(p, row_abs[half], j) && acc[c] > best[half]) best[half] = acc[c];
                }
            }
            bool keep = always;
            const float ksc = p.ks[static_cast<int64_t>(hk) * p.k_blocks + kb];
#pragma unroll
            for (int half = 0; half < 2; ++half) {
                best[half] = max(best[half], __shfl_xor_sync(0xffffffffu, best[half], 1));
                best[half] = max(best[half], __shfl_xor_sync(0xffffffffu, best[half], 2));
                const float est = sale::estimate(best[half], qsc[half], ksc);
                keep = keep || est > run[half] + log_tau;
                run[half] = fmaxf(run[half], est);
            }
            // One vote per block; the barrier also frees this buffer for the fetch two blocks on.
            if (__syncthreads_or(keep) && tid == 0) set_bit(kb);
        }
    }
    __syncthreads();
    uint8_t *out = p.mask + (static_cast<int64_t>(bh) * p.head_rows + qb) * p.row_bytes;
    for (int x = tid; x < p.row_bytes; x += kThreads) out[x] = row_bits[x];
}

template <typename T, int D>
int32_t run(EstParams &e, int64_t bh_q, int64_t bh_kv, bool hopper, cudaStream_t s, std::string &error) {
    const int chunks = sale::mean_chunks(e.len_k);
    const size_t q8 = static_cast<size_t>(bh_q) * e.len_q * D, k8 = static_cast<size_t>(bh_kv) * e.k_blocks * kBlock * D;
    const size_t floats = static_cast<size_t>(bh_q) * e.len_q + static_cast<size_t>(bh_kv) * e.k_blocks +
                          static_cast<size_t>(bh_kv) * D * (1 + chunks);
    void *work = nullptr;
    int32_t st = status_of(cudaMallocAsync(&work, q8 + k8 + 4 * floats + 64, s), "cudaMallocAsync (SALE estimation)", error);
    if (st != ATTN4J_STATUS_OK) return st;
    e.q8 = static_cast<int8_t *>(work);
    e.k8 = e.q8 + q8;
    e.qs = reinterpret_cast<float *>((reinterpret_cast<uintptr_t>(e.k8 + k8) + 15) & ~uintptr_t(15));
    e.ks = e.qs + static_cast<size_t>(bh_q) * e.len_q;
    e.mean = e.ks + static_cast<size_t>(bh_kv) * e.k_blocks;
    float *const partial = e.mean + static_cast<size_t>(bh_kv) * D;
    sale::quantize(e, partial, bh_q, bh_kv, std::is_same_v<T, __nv_bfloat16>, hopper, s);
    if (hopper) {
        st = sale::launch_estimate_sm90(e, bh_q, s, error);
    } else {
        const size_t row_smem = (static_cast<size_t>(e.row_bytes) + 3) / 4 * 4;
        estimate_rows<D><<<dim3(static_cast<unsigned>(e.q_blocks), static_cast<unsigned>(bh_q)), kThreads, row_smem, s>>>(e);
        st = status_of(cudaGetLastError(), "SALE estimation kernel launch", error);
    }
    const int32_t freed = status_of(cudaFreeAsync(work, s), "cudaFreeAsync", error);
    return st != ATTN4J_STATUS_OK ? st : freed;
}

}  // namespace

int32_t sale::estimate_mask(EstParams &e, int64_t bh_q, int64_t bh_kv, bool bf16, bool hopper, cudaStream_t s,
                            std::string &error) {
    const int64_t bq = bh_q, bk = bh_kv;
    if (e.dim == 64) return bf16 ? run<__nv_bfloat16, 64>(e, bq, bk, false, s, error) : run<__half, 64>(e, bq, bk, false, s, error);
    return bf16 ? run<__nv_bfloat16, 128>(e, bq, bk, hopper, s, error) : run<__half, 128>(e, bq, bk, hopper, s, error);
}

}  // namespace attn4j::cuda
