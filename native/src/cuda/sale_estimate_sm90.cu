// SALE's estimation on Hopper (sm_90a), head dim 128: the quantities of sale_estimate_cuda.cu (4-bit
// Q and smoothed K held in int8, per 64 x 64 block the estimated row maxima and the Relative Attention
// Score test against the running row maxima), with each key block read once for four query blocks.
//
// A block of 5 warpgroups owns 4 consecutive 64-row query blocks of one (batch, head). One producer
// warp (its warpgroup gives its registers to the others) prepares 16 rounds of key blocks at a time
// (numbers, scales, and which query block keeps or tests each) and copies them, two per stage, into
// an 8-stage mbarrier pipeline (the quantization stores each block 128B-swizzled, so one bulk copy
// each) with each stage's metadata. Four consumer warpgroups own one query block each and multiply it
// by each key block with wgmma m64n64k32 s8 -> s32 (Q from registers); while a warpgroup takes the
// row maxima of one key block, its products of the next ones run, and so do the other warpgroups'.
//
// The four query blocks see one sequence of key blocks: their sink blocks, then from the highest
// diagonal down to the lowest sink, then (no causal mask) up from the lowest diagonal. Each query
// block takes only the blocks that its own SALE order (row_plan) puts in that phase: kept blocks
// (sinks, locals) only raise the running maxima, in any order, and the tested ones come in the
// order of the one-query-block kernel, so both kernels make the same decisions.
#include <cuda_runtime.h>

#include <climits>
#include <cstdint>
#include <string>

#include "attn4j.h"
#include "cuda/launch.h"
#include "cuda/sale_estimate.cuh"
#include "cuda/tma.cuh"
#include "cuda/wgmma.cuh"

namespace attn4j::cuda::sale {

namespace {

// Consumer warpgroups (one query block each), key-block stages.
constexpr int kConsumerGroups = 4, kStages = 8;
constexpr int kDim = 128, kQBlocks = kConsumerGroups, kConsumers = 128 * kConsumerGroups;
constexpr int kThreads = kConsumers + 128;
// Registers per thread of the producer warpgroup (it prepares each stage's metadata) and of the
// consumers (65536 in all, multiples of 8).
[[maybe_unused]] constexpr int kProducerRegs = 32;
// (setmaxnreg moves registers within what the launch allocated: kThreads times ptxas's register count,
// 65536 / kThreads rounded down to a multiple of 8.)
constexpr int kLaunchRegs = 65536 / kThreads / 8 * 8;
constexpr int kConsumerShare = (kThreads * kLaunchRegs - 128 * kProducerRegs) / kConsumers / 8 * 8;
[[maybe_unused]] constexpr int kConsumerRegs = kConsumerShare > 240 ? 240 : kConsumerShare;
constexpr int kTileBytes = kBlock * kDim, kStageBytes = 2 * kTileBytes;  // a stage holds two key blocks
// What the producer tells the consumers about the two key blocks of a stage: their numbers, scales,
// and in byte w of roles what query block w does with the block: takes it (kActive: keeps or tests
// it), keeps it (kKept), sees only part of it from some row (kPartial).
struct StageMeta {
    int kb[2];
    float ksc[2];
    unsigned roles[2];
};
constexpr unsigned kActive = 1, kKept = 2, kPartial = 4;
// 1024-byte alignment slack, the stages, their full and empty mbarriers, their metadata; the mask rows follow.
constexpr int kSmemFixed = 1024 + kStages * kStageBytes + 16 * kStages + static_cast<int>(sizeof(StageMeta)) * kStages;

#if defined(__CUDA_ARCH_FEAT_SM90_ALL)

// The key-block sequence of a block: [0, n_a) the sinks (kb = v), then n_b blocks from top down,
// then n_c blocks from up_lo up.
struct Sweep {
    int n_a, top, n_b, up_lo, n_c;
    __device__ int total() const { return n_a + n_b + n_c; }
    __device__ int phase(int v) const { return v < n_a ? 0 : (v < n_a + n_b ? 1 : 2); }
    __device__ int block(int v) const { return v < n_a ? v : (v < n_a + n_b ? top - (v - n_a) : up_lo + (v - n_a - n_b)); }
};

__device__ Sweep sweep_of(const RowPlan (&plan)[kQBlocks]) {
    int n_a = 0, top = -1, bottom = INT_MAX, up_lo = INT_MAX, up_hi = 0;
    for (const RowPlan &r : plan) {
        if (r.end <= 0) continue;
        n_a = max(n_a, r.sinks);
        top = max(top, r.diag);
        bottom = min(bottom, r.sinks);
        if (r.end > r.diag + 1) {
            up_lo = min(up_lo, r.diag + 1);
            up_hi = max(up_hi, r.end);
        }
    }
    return {n_a, top, top >= bottom ? top - bottom + 1 : 0, up_lo, up_hi > up_lo ? up_hi - up_lo : 0};
}

// The largest of a thread's 16 values of one accumulator row (first = 0: row g, 2: row g + 8), as a
// shallow tree of three-input maxima.
__device__ __forceinline__ int row_max(const int *x, int first) {
    int m[5];
#pragma unroll
    for (int i = 0; i < 5; ++i) {
        const int a = 3 * i, b = 3 * i + 1, c = 3 * i + 2;  // value numbers 0..14; value v is x[4 (v / 2) + first + v % 2]
        m[i] = __vimax3_s32(x[4 * (a / 2) + first + a % 2], x[4 * (b / 2) + first + b % 2], x[4 * (c / 2) + first + c % 2]);
    }
    return max(__vimax3_s32(m[0], m[1], m[2]), __vimax3_s32(m[3], m[4], x[4 * 7 + first + 1]));
}

// A bit of a mask row in shared memory (the row pointer is generic: the address is converted).
__device__ __forceinline__ void set_bit(unsigned *row, int kb) {
    asm volatile("red.shared.or.b32 [%0], %1;\n" ::"r"(tma::smem_addr(row + kb / 32)), "r"(1u << (kb % 32)) : "memory");
}

#endif

__global__ void __launch_bounds__(kThreads, 1) estimate_rows_sm90(const EstParams p, int groups) {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
    extern __shared__ unsigned char smem_raw[];
    unsigned char *const tiles = smem_raw + tma::pad_1024(smem_raw);
    uint64_t *const full = reinterpret_cast<uint64_t *>(tiles + kStages * kStageBytes), *const empty = full + kStages;
    StageMeta *const meta = reinterpret_cast<StageMeta *>(empty + kStages);
    unsigned *const bits = reinterpret_cast<unsigned *>(meta + kStages);
    const int words = static_cast<int>((p.row_bytes + 3) / 4);

    // Blocks of a head run together (its keys stay in L2), the heaviest query blocks first.
    const int bh = blockIdx.x / groups, first = (groups - 1 - static_cast<int>(blockIdx.x % groups)) * kQBlocks;
    const int h = bh % p.heads_q, hk = bh / p.heads_q * (p.heads_q / p.group) + h / p.group;
    // Warpgroup numbers through a shuffle: the compiler then knows them uniform per warp, and branches
    // on them do not serialize the wgmma instructions.
    const int tid = threadIdx.x, wg = __shfl_sync(0xffffffffu, tid / 128, 0);
    RowPlan plan[kQBlocks];
    for (int w = 0; w < kQBlocks; ++w) {
        if (first + w < p.q_blocks) {
            plan[w] = row_plan(p, first + w);
        } else {
            plan[w] = RowPlan{};  // no blocks: every range below is empty
            plan[w].diag = plan[w].whole_hi = -1;
        }
    }
    for (int x = tid; x < kQBlocks * words; x += kThreads) bits[x] = 0;
    const float log_tau = p.log_tau[h];
    const Sweep sweep = sweep_of(plan);
    const int n = log_tau == -INFINITY ? 0 : sweep.total();
    if (tid == 0) {
        for (int s = 0; s < kStages; ++s) {
            tma::bar_init(&full[s], 1);
            tma::bar_init(&empty[s], kConsumers);
        }
        asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
    }
    __syncthreads();

    if (wg == kConsumerGroups) {  // the producer warpgroup
        asm volatile("setmaxnreg.dec.sync.aligned.u32 %0;\n" ::"n"(kProducerRegs) : "memory");
        if (tid < kConsumers + 32) {
            const int8_t *k8 = p.k8 + static_cast<int64_t>(hk) * p.k_blocks * kTileBytes;
            const float *ks = p.ks + static_cast<int64_t>(hk) * p.k_blocks;
            const int lane = tid - kConsumers;
            // Round u holds blocks 2u and 2u + 1 of the sequence (an odd one's last round repeats its
            // last). The warp prepares 16 rounds at a time, lane l block 2 u0 + l: its number, key scale
            // and roles (one thread preparing each round in turn fell behind the consumers); then lane
            // 0 waits for each round's stage, issues its copies and writes its notes.
            for (int u0 = 0; 2 * u0 < n; u0 += 16) {
                const int v = 2 * u0 + lane, kb = sweep.block(min(v, n - 1)), phase = sweep.phase(min(v, n - 1));
                unsigned roles = 0;
                if (v < n) {
#pragma unroll
                    for (int w = 0; w < kQBlocks; ++w) {
                        const RowPlan &r = plan[w];
                        const int klo = phase == 1 ? r.local_lo : 0, khi = phase == 0 ? r.sinks - 1 : (phase == 1 ? r.diag : -1);
                        const int tlo = phase == 1 ? r.sinks : r.diag + 1, thi = phase == 1 ? r.local_lo - 1 : (phase == 2 ? r.end - 1 : -1);
                        const bool kept = klo <= kb && kb <= khi, active = kept || (tlo <= kb && kb <= thi);
                        const unsigned code = (active ? kActive : 0u) | (kept ? kKept : 0u) | (kb > r.whole_hi ? kPartial : 0u);
                        roles |= (active ? code : 0u) << (8 * w);
                    }
                }
                const float ksc = ks[kb];
                const int rounds = min(16, (n + 1) / 2 - u0);
                for (int r = 0; r < rounds; ++r) {
                    const int u = u0 + r, s = u % kStages;
                    int round_kb[2];
                    for (int t = 0; t < 2; ++t) round_kb[t] = __shfl_sync(0xffffffffu, kb, 2 * r + t);
                    if (lane == 0) {
                        tma::bar_wait(&empty[s], ((u / kStages) & 1) ^ 1);
                        for (int t = 0; t < 2; ++t)
                            tma::load_bytes(tiles + s * kStageBytes + t * kTileBytes, k8 + static_cast<int64_t>(round_kb[t]) * kTileBytes,
                                            kTileBytes, &full[s]);
                    }
                    for (int t = 0; t < 2; ++t) {
                        const float round_ks = __shfl_sync(0xffffffffu, ksc, 2 * r + t);
                        const unsigned round_roles = __shfl_sync(0xffffffffu, roles, 2 * r + t);
                        if (lane == 0) {
                            meta[s].kb[t] = round_kb[t];
                            meta[s].ksc[t] = round_ks;
                            meta[s].roles[t] = round_roles;
                        }
                    }
                    // (the arrival releases the metadata written above to the consumers' acquiring wait)
                    if (lane == 0) tma::bar_expect(&full[s], kStageBytes);
                }
            }
        }
        return;
    }
    asm volatile("setmaxnreg.inc.sync.aligned.u32 %0;\n" ::"n"(kConsumerRegs) : "memory");
    if (log_tau == -INFINITY)  // keep every visible block
        for (int w = 0; w < kQBlocks; ++w)
            for (int kb = tid; kb < plan[w].end; kb += kConsumers) set_bit(bits + w * words, kb);
    if (n > 0) {
        const int warp = (tid % 128) / 32, lane = tid % 32, g = lane / 4, t4 = lane % 4;
        const RowPlan mine = row_plan(p, first + wg);  // (plan[wg] would put plan in local memory)
        const bool live = first + wg < p.q_blocks;
        // Q fragments (A of m16n8k32 per warp: rows g, g + 8; bytes 4 t4 and 16 + 4 t4 of each k step).
        uint32_t qa[kDim / 32][4];
        // (a warpgroup past the last query block reads the head's first rows, zeroed below)
        const int8_t *q8 = p.q8 + (static_cast<int64_t>(bh) * p.len_q + (live ? mine.i0 : 0)) * kDim;
        const int r0 = warp * 16;
        // Rows past the end read row 0 and are zeroed by a select: no branch feeds wgmma's operands.
        auto at = [&](int r, int c) -> uint32_t {
            const bool in = live && mine.i0 + r < p.len_q;
            const uint32_t x = *reinterpret_cast<const uint32_t *>(q8 + (in ? r : 0) * kDim + c);
            return in ? x : 0u;
        };
#pragma unroll
        for (int ks = 0; ks < kDim / 32; ++ks) {
            qa[ks][0] = at(r0 + g, ks * 32 + 4 * t4);
            qa[ks][1] = at(r0 + g + 8, ks * 32 + 4 * t4);
            qa[ks][2] = at(r0 + g, ks * 32 + 16 + 4 * t4);
            qa[ks][3] = at(r0 + g + 8, ks * 32 + 16 + 4 * t4);
        }
        // This thread's rows g and g + 8: their absolute numbers, scales (times the softmax scale),
        // running maxima, and the level above which one of this thread's estimates sends the warp to
        // the exact test (see test below).
        int row_abs[2];
        float qsc[2], run[2] = {-INFINITY, -INFINITY}, trigger[2] = {-INFINITY, -INFINITY};
        for (int half = 0; half < 2; ++half) {
            row_abs[half] = static_cast<int>(mine.i0) + r0 + g + 8 * half;
            qsc[half] = live && row_abs[half] < p.len_q ? p.qs[static_cast<int64_t>(bh) * p.len_q + row_abs[half]] * p.scale : 0.0f;
        }
        const float log_tau_down = fminf(log_tau, 0.0f);
        unsigned *const my_bits = bits + wg * words;
        const uint64_t desc0 = wgmma::descriptor(tiles, 16, 1024);

        // Key block t of round u (its stage's t-th tile) times this warpgroup's query block, issued and
        // committed; the round's first block waits for the stage.
        auto issue = [&](int u, int t, int (&acc)[32]) {
            const int s = u % kStages;
            if (t == 0) tma::bar_wait(&full[s], (u / kStages) & 1);
            wgmma::fence();
            const uint64_t desc = desc0 + ((s * kStageBytes + t * kTileBytes) >> 4);
#pragma unroll
            for (int ks = 0; ks < kDim / 32; ++ks) wgmma::mma_rs_s8_n64(acc, qa[ks], desc + ks * 2, ks);
            wgmma::commit();
        };
        // Key block t of a round (its products done, in acc), in two steps. First this thread's
        // estimates of its two rows, from its 16 values of each (after which acc is free for the next
        // products); then the score test and one vote per warp into the mask row.
        auto row_maxima = [&](const StageMeta &m, int t, int (&acc)[32], float (&e)[2]) {
            wgmma::fence_operands(acc);
            const unsigned code = m.roles[t] >> (8 * wg);
            if (!(code & kActive)) return code;
            const float ksc = m.ksc[t];
            if (!(code & kPartial)) {  // every row sees the whole block
#pragma unroll
                for (int half = 0; half < 2; ++half) e[half] = scaled(row_max(acc, 2 * half), qsc[half], ksc);
            } else {
                // Per row the last visible column of the block, relative to its first (sees() once
                // per row instead of per element).
                const int64_t j0 = static_cast<int64_t>(m.kb[t]) * kBlock;
#pragma unroll
                for (int half = 0; half < 2; ++half) {
                    const int64_t row = row_abs[half];
                    int64_t hi = p.len_k - 1;
                    if (p.causal) hi = min(hi, row + (static_cast<int64_t>(p.len_k) - p.len_q));
                    const int64_t rel = row < p.len_q ? hi - j0 : -1;
                    const int lim = static_cast<int>(rel < -1 ? -1 : (rel > kBlock ? kBlock : rel));
                    int b_max = INT_MIN;
#pragma unroll
                    for (int nt = 0; nt < kBlock / 8; ++nt)
#pragma unroll
                        for (int x = 0; x < 2; ++x) b_max = max(b_max, nt * 8 + 2 * t4 + x <= lim ? acc[4 * nt + 2 * half + x] : INT_MIN);
                    e[half] = estimate(b_max, qsc[half], ksc);
                }
            }
            return code;
        };
        // A row's estimate is the largest of its 4 threads' (rounding is monotonic), so the block
        // passes the test iff one thread's estimate of a row passes it against the row's running
        // maximum: one vote, no exchange within the quad. While no row passes, no running maximum
        // moves either (the threshold is below it when tau <= 1), so the exchange that updates
        // them runs only for blocks that are kept or that some row passes.
        auto test = [&](const StageMeta &m, int t, unsigned code, const float (&e)[2]) {
            if (!(code & kActive)) return;
            const unsigned votes = __ballot_sync(0xffffffffu, e[0] > trigger[0] || e[1] > trigger[1]);
            if (votes == 0 && !(code & kKept)) return;
            bool keep = (code & kKept) || votes != 0;
            if (log_tau > 0.0f)  // tau > 1: a row can raise its maximum without passing
                keep = (code & kKept) || __ballot_sync(0xffffffffu, e[0] > run[0] + log_tau || e[1] > run[1] + log_tau) != 0;
#pragma unroll
            for (int half = 0; half < 2; ++half) {
                float x = fmaxf(run[half], e[half]);
                x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 1));
                run[half] = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 2));
                trigger[half] = run[half] + log_tau_down;
            }
            if (keep && lane == 0) set_bit(my_bits, m.kb[t]);
        };

        // A key block's row maxima run while the next block's products do; the block after that is
        // queued as soon as the accumulator has been read (before the score test) and before waiting
        // for the products in between; the other warpgroups' products fill in too. Nothing is in
        // flight across the loop's back edge (ptxas would serialize the products otherwise), and the
        // last round is peeled.
        int acc0[32], acc1[32];
        float e0[2], e1[2];
        const int rounds = (n + 1) / 2;
        issue(0, 0, acc0);
        wgmma::wait<0>();
        int u = 0;
        for (; u + 1 < rounds; ++u) {  // acc0: block 0 of round u, done
            issue(u, 1, acc1);
            const StageMeta &m = meta[u % kStages];
            const unsigned c0 = row_maxima(m, 0, acc0, e0);
            issue(u + 1, 0, acc0);
            test(m, 0, c0, e0);
            wgmma::wait<1>();  // the stage's products are done
            const unsigned c1 = row_maxima(m, 1, acc1, e1);
            test(m, 1, c1, e1);
            tma::bar_arrive(&empty[u % kStages]);  // (its notes read)
            wgmma::wait<0>();
        }
        issue(u, 1, acc1);
        const StageMeta &m = meta[u % kStages];
        const unsigned c0 = row_maxima(m, 0, acc0, e0);
        test(m, 0, c0, e0);
        wgmma::wait<0>();
        const unsigned c1 = row_maxima(m, 1, acc1, e1);
        test(m, 1, c1, e1);
        tma::bar_arrive(&empty[u % kStages]);
    }
    asm volatile("bar.sync 1, %0;\n" ::"n"(kConsumers) : "memory");  // the consumers' votes are in
    for (int w = 0; w < kQBlocks; ++w) {
        if (first + w >= p.q_blocks) break;
        uint8_t *out = p.mask + (static_cast<int64_t>(bh) * p.head_rows + first + w) * p.row_bytes;
        const uint8_t *row = reinterpret_cast<const uint8_t *>(bits + w * words);
        for (int x = tid; x < p.row_bytes; x += kConsumers) out[x] = row[x];
    }
#endif
}

}  // namespace

size_t smem_bytes(int64_t row_bytes) { return kSmemFixed + static_cast<size_t>(kQBlocks) * ((row_bytes + 3) / 4) * 4; }

bool sm90_applies(int dim, int64_t row_bytes, int device) {
    return dim == kDim && smem_bytes(row_bytes) <= 200 * 1024 && hopper_kernels(device);
}

int32_t launch_estimate_sm90(const EstParams &e, int64_t bh_q, cudaStream_t s, std::string &error) {
    const size_t smem = smem_bytes(e.row_bytes);
    if (const int32_t st = status_of(cudaFuncSetAttribute(estimate_rows_sm90, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                                         static_cast<int>(smem)), "cudaFuncSetAttribute (SALE estimation)", error))
        return st;
    const int groups = (e.q_blocks + kQBlocks - 1) / kQBlocks;
    estimate_rows_sm90<<<static_cast<unsigned>(groups * bh_q), kThreads, smem, s>>>(e, groups);
    return status_of(cudaGetLastError(), "SALE estimation kernel launch (sm_90a)", error);
}

}  // namespace attn4j::cuda::sale
