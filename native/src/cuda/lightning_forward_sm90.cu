// Lightning Attention-2 on Hopper (sm_90a): the run-state and output passes of lightning_forward_cuda.cu
// (same runs, same scan between them) on warpgroup MMA, head dim 128. Per chunk of C = 128 tokens of a
// (batch, head), rows t and keys s numbered inside the chunk, lambda = exp(-slope):
//   O  = diag(lambda^(t+1)) Q KV + (Q K^T .* M) V,   M[t][s] = lambda^(t-s) for s <= t, else 0
//   KV = lambda^(n_c) KV + K^T diag(lambda^(n_c-1-t)) V      (n_c: the chunk's tokens)
// A block of 2 warpgroups walks one run's chunks. Warpgroup w owns output rows [64 w, 64 w + 64) of
// every chunk and state rows [64 w, 64 w + 64): the fp32 state lives in its wgmma accumulators (64
// registers a thread; with O, S and P beside it, more than a kernel with a producer warpgroup could
// give each consumer thread). One thread loads each chunk's Q (output pass), K and V with TMA,
// 128B-swizzled, into two stages: chunk c + 2's once every thread is done with chunk c. Products
// (m64n128k16, but S: m64n64k16 per block of 64 keys, and the first 64 rows see only the first block):
//   O = Q KV           Q and the 16-bit copy of KV from shared memory (KV read transposed)
//   S = Q K^T          Q and K from shared memory
//   O += P V           P from registers, V read transposed
//   KV += K^T~ V       K^T from shared memory into registers (ldmatrix.trans), times its decay, V as above
// The 16-bit copy of KV is rewritten after each chunk's update, between two barriers of the block.
// Outputs leave through the chunk's Q tile: each warpgroup's 64 rows by stmatrix into its own rows of
// it (no other product reads them), then one TMA store.
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda.h>
#include <cuda_runtime.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <type_traits>

#include "attn4j.h"
#include "cuda/launch.h"
#include "cuda/lightning_params.cuh"
#include "cuda/mma.cuh"
#include "cuda/tma.cuh"
#include "cuda/wgmma.cuh"

namespace attn4j::cuda::lightning {

namespace {

[[maybe_unused]] constexpr int kDim = 128, kThreads = 256;  // two warpgroups (kDim: unused where sm_90a is not compiled)
constexpr int kBlockBytes = 128 * 128;     // one [128 rows][64] column block of 16-bit elements
constexpr int kTileBytes = 2 * kBlockBytes;  // a [128][128] tile: two column blocks
constexpr int kStages = 2;                 // Q, K and V of a chunk each
// The stages, the KV copy, 1024-byte alignment, then one mbarrier per stage.
constexpr size_t kSmemBytes = (3 * kStages + 1) * kTileBytes + 1024 + 8 * kStages;

// lambda^(base - Step i), 0 where that exponent is negative, for i falling by one from `top`: one exp2
// for the first value and one for the exponent in [0, Step); the rest are products with lambda^Step
// (each value is the previous one times a factor <= 1, so nothing overflows on the way).
template <int Step>
struct DecayLadder {
    int base;
    float v, low;
    __device__ __forceinline__ DecayLadder(float sl, int base_, int top) : base(base_) {
        const int e = base - Step * top;
        v = e >= 0 ? decay(sl, static_cast<float>(e)) : 0.0f;
        low = decay(sl, static_cast<float>(base & (Step - 1)));
    }
    // The value at i, one below the previous call's (or top's) i.
    __device__ __forceinline__ float down(int i, float lambda_step) {
        const int e = base - Step * i;
        v = e >= 0 && e < Step ? low : v * lambda_step;
        return v;
    }
};

template <typename T, bool States>
__global__ void __launch_bounds__(kThreads, 1) lightning_sm90_kernel(const Params p, const __grid_constant__ Maps maps) {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
    extern __shared__ unsigned char smem_raw[];
    unsigned char *const smem =
        reinterpret_cast<unsigned char *>((reinterpret_cast<uintptr_t>(smem_raw) + 1023) & ~static_cast<uintptr_t>(1023));
    auto sq = [&](int c) { return smem + (3 * (c % kStages)) * kTileBytes; };
    auto sk = [&](int c) { return smem + (3 * (c % kStages) + 1) * kTileBytes; };
    auto sv = [&](int c) { return smem + (3 * (c % kStages) + 2) * kTileBytes; };
    unsigned char *const skv = smem + 3 * kStages * kTileBytes;
    uint64_t *const full = reinterpret_cast<uint64_t *>(smem + (3 * kStages + 1) * kTileBytes);
    const uint64_t kmajor = wgmma::descriptor(smem, 16, 1024), vmajor = wgmma::descriptor(smem, kBlockBytes, 1024);
    auto at = [&](uint64_t desc, const unsigned char *x) { return desc + ((x - smem) >> 4); };

    const int r = blockIdx.x, bh = blockIdx.y, b = bh / p.heads_q, h = bh % p.heads_q, hk = h / p.group;
    const int tid = threadIdx.x, wg = tid / 128, warp = (tid % 128) / 32, lane = tid % 32, g = lane / 4, t4 = lane % 4;
    const int64_t first = static_cast<int64_t>(r) * p.run_chunks * kChunk;
    const int64_t run_end = first + static_cast<int64_t>(p.run_chunks) * kChunk, end = run_end < p.len ? run_end : p.len;
    const int n = static_cast<int>((end - first + kChunk - 1) / kChunk);  // this run's chunks (at least one)

    // Chunk c's tiles into its stage (thread 0; rows past the sequence arrive as zeros).
    auto load = [&](int c) {
        if (c >= n) return;
        const int64_t row = p.t0 + first + static_cast<int64_t>(c) * kChunk;
        uint64_t *bar = &full[c % kStages];
        tma::bar_expect(bar, (States ? 2 : 3) * kTileBytes);
        if constexpr (!States) tma::load_tile(sq(c), &maps.qkv.q, kBlockBytes, row, h, b, bar);
        tma::load_tile(sk(c), &maps.qkv.k, kBlockBytes, row, hk, b, bar);
        tma::load_tile(sv(c), &maps.qkv.v, kBlockBytes, row, hk, b, bar);
    };
    if (tid == 0) {
        for (int s = 0; s < kStages; ++s) tma::bar_init(&full[s], 1);
        asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
        for (int c = 0; c < kStages; ++c) load(c);
    }
    __syncthreads();
    // Programmatic dependent launch: the run-state pass lets the output pass start (its blocks take SMs as
    // run-state blocks leave and load their first chunks above); the output pass waits here for the run
    // states (a no-op when launched without it), but a run-0 block that writes no carry, which reads
    // nothing the run-state pass writes.
    const int last = p.n_runs - 1;
    if constexpr (States) {
        asm volatile("griddepcontrol.launch_dependents;\n" ::: "memory");
    } else if (!p.scan_in_prologue || r > 0 || (r == last && p.write_carry)) {
        asm volatile("griddepcontrol.wait;\n" ::: "memory");
    }
    // After every thread is done with chunk c: its stage takes chunk c + kStages.
    auto release = [&](int c) {
        // (barrier.sync without .aligned: the two warpgroups arrive from different copies of the code)
        asm volatile("barrier.sync 1, 256;\n" ::: "memory");
        if (tid == 0) load(c + kStages);
    };

    const float sl = p.slope_log2[h];
    // This thread's two rows of the accumulator layout: chunk rows (tokens) of O, rows (head dims) of KV.
    const int row_lo = 64 * wg + 16 * warp + g, row_hi = row_lo + 8;
    float *const run_state =
        (States ? p.runs : p.before) + (static_cast<int64_t>(bh) * p.n_runs + r) * kDim * kDim;

    // A 128 x 128 fp32 state in memory (row-major) from and to this thread's registers in the
    // accumulator layout: register 4 j + x is row x < 2 ? row_lo : row_hi, column 8 j + 2 t4 + x % 2.
    // A null source reads zeros.
    auto load_state = [&](const float *src, float(&dst)[64]) {
#pragma unroll
        for (int j = 0; j < 16; ++j) {
            const int col = 8 * j + 2 * t4;
            const float2 lo = src != nullptr ? *reinterpret_cast<const float2 *>(&src[row_lo * kDim + col]) : make_float2(0.0f, 0.0f);
            const float2 hi = src != nullptr ? *reinterpret_cast<const float2 *>(&src[row_hi * kDim + col]) : make_float2(0.0f, 0.0f);
            dst[4 * j] = lo.x;
            dst[4 * j + 1] = lo.y;
            dst[4 * j + 2] = hi.x;
            dst[4 * j + 3] = hi.y;
        }
    };
    auto store_state = [&](float *dst, const float(&src)[64]) {
#pragma unroll
        for (int j = 0; j < 16; ++j) {
            const int col = 8 * j + 2 * t4;
            *reinterpret_cast<float2 *>(&dst[row_lo * kDim + col]) = make_float2(src[4 * j], src[4 * j + 1]);
            *reinterpret_cast<float2 *>(&dst[row_hi * kDim + col]) = make_float2(src[4 * j + 2], src[4 * j + 3]);
        }
    };

    float kv[64];
    load_state(!States && !p.scan_in_prologue ? run_state : nullptr, kv);
    if constexpr (!States) {
        if (p.scan_in_prologue) {
            // No scan kernel ran: this run's starting state from the carry and the earlier runs' states,
            // in scan_runs' order (the same float operations). Where the carry is used the last run's
            // block writes it (from its own run's state); otherwise the run-state pass skipped that run.
            load_state(p.state_in != nullptr ? p.state_in + static_cast<int64_t>(bh) * kDim * kDim : nullptr, kv);
            for (int rr = 0; rr <= r && (rr < r || (r == last && p.write_carry)); ++rr) {
                const float f = run_decay(p, sl, rr);
                float next[64];
                load_state(p.runs + (static_cast<int64_t>(bh) * p.n_runs + rr) * kDim * kDim, next);
#pragma unroll
                for (int i = 0; i < 64; ++i) next[i] = kv[i] * f + next[i];
                if (rr < r) {
#pragma unroll
                    for (int i = 0; i < 64; ++i) kv[i] = next[i];
                } else {  // rr == r == last: the carry after the last run
                    store_state(p.state_out + static_cast<int64_t>(bh) * kDim * kDim, next);
                }
            }
        }
    }
    // A warpgroup's m64n128 accumulator (this thread: rows row_lo / row_hi, columns 8 j + 2 t4 + [0, 2))
    // as 16-bit values into rows [64 wg, 64 wg + 64) of a [128][128] tile in the swizzled layout, by
    // stmatrix: matrices (rows 16 warp + [0, 8) / [8, 16), column groups 2 i, 2 i + 1) per instruction,
    // lane 8 m + x giving row x of matrix m. Row x's 16-byte chunk k sits at chunk k ^ x (wgmma::swizzled);
    // offsets opaque to the compiler, which would otherwise keep all of them in registers across the loop.
    auto store_acc = [&](unsigned char *tile, const float(&acc)[64]) {
        const int m = lane / 8, x = lane % 8;
        uint32_t at_row = tma::smem_addr(tile) + static_cast<uint32_t>((64 * wg + 16 * warp + 8 * (m & 1) + x) * 128 +
                                                                         ((((m >> 1) ^ x) & 1) << 4)),
                 hi = static_cast<uint32_t>(x & 6);
        asm volatile("" : "+r"(at_row), "+r"(hi));
#pragma unroll
        for (int i = 0; i < 8; ++i)
            stmatrix_x4(at_row + (i / 4) * kBlockBytes + ((((2 * i) % 8) ^ hi) << 4), pack2<T>(acc[8 * i], acc[8 * i + 1]),
                        pack2<T>(acc[8 * i + 2], acc[8 * i + 3]), pack2<T>(acc[8 * i + 4], acc[8 * i + 5]),
                        pack2<T>(acc[8 * i + 6], acc[8 * i + 7]));
        wgmma::fence_proxy_async();
    };
    // The 16-bit copy of this thread's state rows (the layout of a V tile: rows are the k index of
    // Q KV), made visible to the block's next products by the caller's barrier.
    auto write_kv = [&]() { store_acc(skv, kv); };

    // KV = lambda^(n_c) KV + K^T diag(lambda^(n_c-1-t)) V over chunk c (issued, not waited for). Warp
    // `warp` holds state rows 16 warp + [0, 16) of its warpgroup's 64, i.e. of K's column block wg.
    // slc: the slope, opaque to the compiler in each chunk (else it keeps every decay of the loop).
    auto issue_update = [&](int c, int n_c, float slc) {
        const float all = decay(slc, static_cast<float>(n_c)), lambda16 = decay(slc, 16.0f);
#pragma unroll
        for (int i = 0; i < 64; ++i) kv[i] *= all;
        // ldmatrix row addresses: K rows 16 kk + 8 (m / 2) + lane % 8, head dims 16 warp + 8 (m % 2) of block
        // wg (m = lane / 8); 16 kk rows further keep the swizzle pattern.
        const int m = lane / 8;
        const uint32_t ld_off = wg * kBlockBytes + wgmma::swizzled((m >= 2 ? 8 : 0) + lane % 8, 16 * warp + (m & 1) * 8);
        // A's columns are tokens 16 kk + 2 t4 + x % 2 + 8 (x / 2) for ka[0..3] (pairs); their weights
        // lambda^(n_c - 1 - t) from ladders over kk, highest kk first.
        DecayLadder<16> w[4] = {{slc, n_c - 1 - 2 * t4, 7}, {slc, n_c - 2 - 2 * t4, 7}, {slc, n_c - 9 - 2 * t4, 7},
                                {slc, n_c - 10 - 2 * t4, 7}};
        // One k step at a time (fragment, then its product): the fragments never all hold registers.
#pragma unroll
        for (int kk = kChunk / 16 - 1; kk >= 0; --kk) {
            float wt[4];
#pragma unroll
            for (int x = 0; x < 4; ++x) wt[x] = kk == kChunk / 16 - 1 ? w[x].v : w[x].down(kk, lambda16);
            uint32_t ka[4];
            ldmatrix_x4_trans(ka, sk(c) + ld_off + kk * 16 * 128);
            ka[0] = scale2<T>(ka[0], wt[0], wt[1]);
            ka[1] = scale2<T>(ka[1], wt[0], wt[1]);
            ka[2] = scale2<T>(ka[2], wt[2], wt[3]);
            ka[3] = scale2<T>(ka[3], wt[2], wt[3]);
            wgmma::fence();
            wgmma::mma_rs<T>(kv, ka, at(vmajor, sv(c) + kk * 16 * 128), 1);
        }
        wgmma::commit();
    };
    auto opaque = [](float x) {
        asm volatile("" : "+f"(x));
        return x;
    };

    if constexpr (States) {
        for (int c = 0; c < n; ++c) {
            const int64_t c0 = first + static_cast<int64_t>(c) * kChunk;
            tma::bar_wait(&full[c % kStages], (c / kStages) & 1);
            issue_update(c, static_cast<int>(p.len - c0 < kChunk ? p.len - c0 : kChunk), opaque(sl));
            wgmma::wait<0>();
            wgmma::fence_operands(kv);
            release(c);
        }
        store_state(run_state, kv);
    } else {
        write_kv();
        __syncthreads();
        const float f_lo = decay(sl, static_cast<float>(row_lo + 1)), f_hi = decay(sl, static_cast<float>(row_hi + 1));
        // One chunk's outputs and state update (after the run's last chunk the update is not used, but
        // costs less than a second copy of the code). Halves: the blocks of 64 keys this warpgroup's rows
        // can see (1 or 2); S is computed one block at a time (the next block's S runs with this one's
        // P V), which keeps O, S, P and the state within the registers. One copy of the code per
        // warpgroup, so that no wgmma sits on a branch.
        auto step = [&](int c, auto halves_tag) {
            constexpr int Halves = decltype(halves_tag)::value;
            const int64_t c0 = first + static_cast<int64_t>(c) * kChunk;
            const float slc = opaque(sl);
            tma::bar_wait(&full[c % kStages], (c / kStages) & 1);
            // Base descriptors made opaque each chunk: the compiler would otherwise keep every derived
            // descriptor of both stages in registers across the loop.
            uint64_t dq = at(kmajor, sq(c) + wg * 64 * 128), dk = at(kmajor, sk(c)), dv = at(vmajor, sv(c)), dkv = at(vmajor, skv);
            asm volatile("" : "+l"(dq), "+l"(dk), "+l"(dv), "+l"(dkv));
            auto plus = [](uint64_t desc, int bytes) { return desc + static_cast<uint64_t>(bytes >> 4); };
            // S = Q K^T for keys [64 kb, 64 kb + 64)
            auto issue_s = [&](float (&s)[32], int kb) {
#pragma unroll
                for (int ks = 0; ks < kDim / 16; ++ks) {
                    const int off = (ks / 4) * kBlockBytes + (ks % 4) * 32;
                    wgmma::mma_ss_n64<T>(s, plus(dq, off), plus(dk, off + kb * 64 * 128), 1);
                }
            };
            float o[64], s[32];
#pragma unroll
            for (int i = 0; i < 64; ++i) o[i] = 0.0f;
#pragma unroll
            for (int i = 0; i < 32; ++i) s[i] = 0.0f;
            wgmma::fence();
#pragma unroll
            for (int ks = 0; ks < kDim / 16; ++ks)
                wgmma::mma_ss<T, 1>(o, plus(dq, (ks / 4) * kBlockBytes + (ks % 4) * 32), plus(dkv, ks * 16 * 128), 1);
            issue_s(s, 0);
            wgmma::commit();
            wgmma::wait<0>();
            wgmma::fence_operands(o);
            wgmma::fence_operands(s);
#pragma unroll
            for (int i = 0; i < 64; ++i) o[i] *= (i / 2) % 2 ? f_hi : f_lo;
#pragma unroll
            for (int kb = 0; kb < Halves; ++kb) {
                // S .* M: register i holds row (i / 2) % 2 ? row_hi : row_lo, key 64 kb + 8 (i / 4) + 2 t4 + i % 2;
                // M = lambda^(row - key) from a ladder over i / 4 per (row, key parity), 0 past the row.
                const float lambda8 = decay(slc, 8.0f);
#pragma unroll
                for (int x = 0; x < 4; ++x) {
                    DecayLadder<8> ladder(slc, ((x / 2) ? row_hi : row_lo) - 64 * kb - 2 * t4 - x % 2, 7);
#pragma unroll
                    for (int j = 7; j >= 0; --j) s[4 * j + x] *= j == 7 ? ladder.v : ladder.down(j, lambda8);
                }
                uint32_t pa[4][4];
#pragma unroll
                for (int kc = 0; kc < 4; ++kc)
#pragma unroll
                    for (int x = 0; x < 4; ++x) pa[kc][x] = pack2<T>(s[8 * kc + 2 * x], s[8 * kc + 2 * x + 1]);
                if (kb + 1 < Halves) {
#pragma unroll
                    for (int i = 0; i < 32; ++i) s[i] = 0.0f;
                }
                wgmma::fence();
#pragma unroll
                for (int kc = 0; kc < 4; ++kc) wgmma::mma_rs<T>(o, pa[kc], plus(dv, (64 * kb + 16 * kc) * 128), 1);
                if (kb + 1 < Halves) issue_s(s, kb + 1);
                wgmma::commit();
                if (kb + 1 == Halves) issue_update(c, kChunk, slc);
                wgmma::wait<0>();
                wgmma::fence_operands(o);
                if (kb + 1 < Halves) wgmma::fence_operands(s);  // (s is dead after the last block)
            }
            wgmma::fence_operands(kv);
            if (p.out_tma) {
                // Through this warpgroup's rows of the chunk's Q tile (only its own products read them,
                // all done): one TMA store of 64 rows, which the stage's next load waits for (release).
                store_acc(sq(c), o);
                asm volatile("barrier.sync %0, 128;\n" ::"n"(2 + Halves) : "memory");  // this warpgroup's barrier
                if (tid % 128 == 0) {
                    const unsigned char *rows = sq(c) + wg * 64 * 128;
                    tma::store_box(&maps.out, rows, 0, p.t0 + c0 + 64 * wg, h, b);
                    tma::store_box(&maps.out, rows + kBlockBytes, 64, p.t0 + c0 + 64 * wg, h, b);
                    tma::store_commit();
                    tma::store_wait_read();
                }
            } else {
                store_rows<T, kDim>(p, b, h, c0, row_lo, row_hi, *reinterpret_cast<const float(*)[kDim / 8][4]>(o), t4);
            }
            if (c + 1 < n) {
                asm volatile("barrier.sync 2, 256;\n" ::: "memory");  // every Q KV of this chunk is done
                write_kv();
            }
            release(c);
        };
        auto walk = [&](auto halves_tag) {
            for (int c = 0; c < n; ++c) step(c, halves_tag);
        };
        if (wg == 0) {
            walk(std::integral_constant<int, 1>{});
        } else {
            walk(std::integral_constant<int, 2>{});
        }
        if (p.out_tma && tid % 128 == 0) tma::store_wait();
    }
#endif
}

template <typename T, bool States>
int32_t launch(const Params &p, const Maps &maps, dim3 grid, bool early, int device, cudaStream_t stream,
               std::string &error) {
    auto kernel = lightning_sm90_kernel<T, States>;
    // The shared-memory size is set once per device (a driver call per launch costs time on short inputs).
    static std::atomic<uint64_t> configured{0};
    const uint64_t bit = uint64_t(1) << (device & 63);
    if ((configured.load(std::memory_order_acquire) & bit) == 0) {
        if (const int32_t st = status_of(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                                             static_cast<int>(kSmemBytes)), "cudaFuncSetAttribute", error))
            return st;
        configured.fetch_or(bit, std::memory_order_release);
    }
    cudaLaunchConfig_t config{};
    config.gridDim = grid;
    config.blockDim = dim3(kThreads);
    config.dynamicSmemBytes = kSmemBytes;
    config.stream = stream;
    cudaLaunchAttribute overlap[1] = {};
    overlap[0].id = cudaLaunchAttributeProgrammaticStreamSerialization;
    overlap[0].val.programmaticStreamSerializationAllowed = 1;
    config.attrs = overlap;
    config.numAttrs = early ? 1 : 0;
    if (const int32_t st = status_of(cudaLaunchKernelEx(&config, kernel, p, maps), "Lightning (sm_90a) kernel launch", error))
        return st;
    return status_of(cudaGetLastError(), "Lightning (sm_90a) kernel launch", error);
}

}  // namespace

// Runs of R chunks: a pass takes about waves x (R + 1/2) chunk times (one block per SM, the half for
// filling the pipeline), plus each run state's trips through memory (written, scanned, read: about
// 1.3 chunks of traffic) spread over the SMs. The R with the least time; ties go to more runs.
int64_t sm90_runs(int64_t n_chunks, int64_t batch_heads, int sms) {
    double best = 0.0;
    int64_t best_runs = 1;
    for (int64_t runs = 1; runs <= n_chunks; ++runs) {
        const int64_t r = (n_chunks + runs - 1) / runs, blocks = batch_heads * runs;
        const double waves = static_cast<double>((blocks + sms - 1) / sms);
        const double t = waves * (static_cast<double>(r) + 0.5) + 1.3 * static_cast<double>(blocks) / sms;
        if (runs == 1 || t <= best) {
            best = t;
            best_runs = runs;
        }
    }
    return best_runs;
}

int32_t launch_sm90(const Params &p, const Maps &maps, dim3 grid, bool states, bool early, bool bf16, int device,
                    cudaStream_t stream, std::string &error) {
    if (bf16)
        return states ? launch<__nv_bfloat16, true>(p, maps, grid, early, device, stream, error)
                      : launch<__nv_bfloat16, false>(p, maps, grid, early, device, stream, error);
    return states ? launch<__half, true>(p, maps, grid, early, device, stream, error)
                  : launch<__half, false>(p, maps, grid, early, device, stream, error);
}

}  // namespace attn4j::cuda::lightning
