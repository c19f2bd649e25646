// Lightning Attention-2 forward on NVIDIA GPUs: runs of chunks in parallel, each run's state kept on
// chip. Per (batch, head) with lambda = exp(-slope), chunks of C = 128 tokens (the last may be shorter,
// n_c) grouped into runs of R chunks (n_r tokens):
//   1. run states, all runs at once:  S_r = sum over the run's tokens t of lambda^(end_r - 1 - t) k_t^T v_t
//      (a block walks its run's chunks: S = lambda^(n_c) S + K_c^T diag(lambda^(n_c - 1 - t)) V_c, fp32
//      accumulators in registers, tensor cores)
//   2. a scan over runs, per state element:  KV_0 = state_in,  KV_{r+1} = lambda^(n_r) KV_r + S_r  (fp32;
//      the last one is the final state)
//   3. outputs, all runs at once: a block starts from KV_r and walks its run's chunks, token t of chunk c:
//      o_t = lambda^(t+1) q_t KV + sum_{s <= t} lambda^(t-s) (q_t . k_s) v_s,  then (but after the run's
//      last chunk) KV = lambda^C KV + K^T diag(lambda^(C - 1 - t)) V, KV staying in registers.
// Only one d x dv state per run of R chunks goes through memory (the three-pass design before wrote,
// scanned and read one per chunk). R is chosen so that there are about eight blocks per SM.
// Long sequences run in segments of at most kSegment tokens, the state carried between them.
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <mutex>
#include <string>
#include <type_traits>
#include <utility>

#include "attn4j.h"
#include "cuda/cuda_backend.h"
#include "cuda/launch.h"
#include "cuda/lightning_params.cuh"
#include "cuda/mma.cuh"

namespace attn4j::cuda {

namespace {

using lightning::decay;
using lightning::kChunk;
using lightning::kLog2e;
using lightning::kSegment;
using lightning::Params;
using lightning::scale2;

constexpr int kThreads = 256;  // 8 warps: 16 tokens of a chunk each, and a 16-row slice of the state
constexpr int kPad = 8;

// A fragments of X^T for an mma whose A is [16 rows of X's columns][16 of X's rows], X row-major in
// shared memory: ldmatrix.trans from 16 rows of X starting at (row0, col0).
__device__ __forceinline__ void ldmatrix_x4_trans_a(uint32_t (&r)[4], const void *base, int ld_bytes, int lane) {
    const int m = lane / 8, i = lane % 8;
    const char *p = static_cast<const char *>(base) + ((m >= 2 ? 8 : 0) + i) * ld_bytes + ((m & 1) ? 16 : 0);
    ldmatrix_x4_trans(r, p);
}

// The d x dv state in registers, spread over the 8 warps: warp w holds rows [16 (w % (D / 16)), + 16)
// and kCols columns from (w / (D / 16)) kCols, in the mma accumulator layout (rows g and g + 8,
// columns 8 nt + 2 t4 and + 1).
template <int D>
struct StateTile {
    static constexpr int kRowTiles = D / 16, kSplit = 8 / kRowTiles, kCols = D / kSplit;
    float kv[kCols / 8][4];
    int r0, c0;
    __device__ __forceinline__ StateTile(int warp) : r0(16 * (warp % kRowTiles)), c0(kCols * (warp / kRowTiles)) {}

    __device__ __forceinline__ void zero() {
#pragma unroll
        for (int nt = 0; nt < kCols / 8; ++nt)
#pragma unroll
            for (int x = 0; x < 4; ++x) kv[nt][x] = 0.0f;
    }
    // this = lambda^(n_c) this + K^T diag(lambda^(n_c - 1 - t)) V over one chunk of n_c tokens (rows
    // past n_c zero in shared memory); the decay multiplies K^T's fragments in registers.
    template <typename T>
    __device__ __forceinline__ void update(const T *sk, const T *sv, int ld, float sl, int64_t n_c, int lane) {
        const float decay_all = decay(sl, static_cast<float>(n_c));
#pragma unroll
        for (int nt = 0; nt < kCols / 8; ++nt)
#pragma unroll
            for (int x = 0; x < 4; ++x) kv[nt][x] *= decay_all;
        auto w = [&](int t) { return t < n_c ? decay(sl, static_cast<float>(n_c - 1 - t)) : 0.0f; };
#pragma unroll
        for (int kk = 0; kk < kChunk / 16; ++kk) {
            uint32_t a[4];
            ldmatrix_x4_trans_a(a, &sk[(kk * 16) * ld + r0], ld * sizeof(T), lane);
            // A's columns are tokens: kk * 16 + 2 (lane % 4) (+1) in a[0], a[1], and 8 more in a[2], a[3].
            const int t = kk * 16 + 2 * (lane % 4);
            const float w0 = w(t), w1 = w(t + 1), w8 = w(t + 8), w9 = w(t + 9);
            a[0] = scale2<T>(a[0], w0, w1);
            a[1] = scale2<T>(a[1], w0, w1);
            a[2] = scale2<T>(a[2], w8, w9);
            a[3] = scale2<T>(a[3], w8, w9);
            mma_by_row_tiles<T, kCols>(kv, a, &sv[kk * 16 * ld + c0], ld, lane);
        }
    }
    // fp32 [D][D] in global memory (row stride D) to and from the registers.
    __device__ __forceinline__ void load(const float *src, int g, int t4) {
#pragma unroll
        for (int nt = 0; nt < kCols / 8; ++nt) {
            const int col = c0 + nt * 8 + t4 * 2;
            const float2 lo = *reinterpret_cast<const float2 *>(&src[(r0 + g) * D + col]);
            const float2 hi = *reinterpret_cast<const float2 *>(&src[(r0 + g + 8) * D + col]);
            kv[nt][0] = lo.x;
            kv[nt][1] = lo.y;
            kv[nt][2] = hi.x;
            kv[nt][3] = hi.y;
        }
    }
    __device__ __forceinline__ void store(float *dst, int g, int t4) const {
#pragma unroll
        for (int nt = 0; nt < kCols / 8; ++nt) {
            const int col = c0 + nt * 8 + t4 * 2;
            *reinterpret_cast<float2 *>(&dst[(r0 + g) * D + col]) = make_float2(kv[nt][0], kv[nt][1]);
            *reinterpret_cast<float2 *>(&dst[(r0 + g + 8) * D + col]) = make_float2(kv[nt][2], kv[nt][3]);
        }
    }
    // In the storage type into a [D][ld] shared-memory tile, the B operand of Q KV.
    template <typename T>
    __device__ __forceinline__ void store_shared(T *skv, int ld, int g, int t4) const {
#pragma unroll
        for (int nt = 0; nt < kCols / 8; ++nt) {
            const int col = c0 + nt * 8 + t4 * 2;
            *reinterpret_cast<uint32_t *>(&skv[(r0 + g) * ld + col]) = pack2<T>(kv[nt][0], kv[nt][1]);
            *reinterpret_cast<uint32_t *>(&skv[(r0 + g + 8) * ld + col]) = pack2<T>(kv[nt][2], kv[nt][3]);
        }
    }
};

// 1. S_r for run r (blockIdx.x) of one head (blockIdx.y).
template <typename T, int D, bool Vec>
__global__ void __launch_bounds__(kThreads) run_states(const Params p) {
    extern __shared__ __align__(16) unsigned char smem[];
    constexpr int ld = D + kPad;
    T *sk = reinterpret_cast<T *>(smem), *sv = sk + kChunk * ld;
    const int r = blockIdx.x, bh = blockIdx.y, b = bh / p.heads_q, h = bh % p.heads_q, hk = h / p.group;
    const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32, g = lane / 4, t4 = lane % 4;
    const T *k = static_cast<const T *>(p.k) + b * p.sk[0] + hk * p.sk[1] + p.t0 * p.sk[2];
    const T *v = static_cast<const T *>(p.v) + b * p.sv[0] + hk * p.sv[1] + p.t0 * p.sv[2];
    const float sl = p.slope_log2[h];
    StateTile<D> st(warp);
    st.zero();
    const int64_t first = static_cast<int64_t>(r) * p.run_chunks * kChunk;
    for (int64_t c0 = first; c0 < p.len && c0 < first + static_cast<int64_t>(p.run_chunks) * kChunk; c0 += kChunk) {
        const int64_t n_c = p.len - c0 < kChunk ? p.len - c0 : kChunk;
        __syncthreads();  // the previous chunk's K and V are no longer read
        load_rows<T, D, kThreads, Vec>(sk, ld, k, p.sk[2], c0, kChunk, p.len, tid);
        load_rows<T, D, kThreads, Vec>(sv, ld, v, p.sv[2], c0, kChunk, p.len, tid);
        __syncthreads();
        st.update(sk, sv, ld, sl, n_c, lane);
    }
    st.store(p.runs + (static_cast<int64_t>(bh) * gridDim.x + r) * D * D, g, t4);
}

// 2. The scan over runs, one state element per thread: the state before each run (fp32, for step 3)
//    and after the last one (the carry).
template <int D>
__global__ void scan_runs(const Params p, int n_runs) {
    const int bh = blockIdx.y, h = bh % p.heads_q;
    const int x = blockIdx.x * blockDim.x + threadIdx.x;
    if (x >= D * D) return;
    const float sl = p.slope_log2[h];
    float run = p.state_in != nullptr ? p.state_in[static_cast<int64_t>(bh) * D * D + x] : 0.0f;
    const float *s = p.runs + static_cast<int64_t>(bh) * n_runs * D * D + x;
    float *kv = p.before + static_cast<int64_t>(bh) * n_runs * D * D + x;
    for (int r = 0; r < n_runs; ++r) {
        kv[static_cast<int64_t>(r) * D * D] = run;
        run = run * run_decay(p, sl, r) + s[static_cast<int64_t>(r) * D * D];
    }
    p.state_out[static_cast<int64_t>(bh) * D * D + x] = run;
}

// Rows [c0, c0 + 128) of a [len][D] slice into shared memory, zero past len: asynchronously where rows
// are 16-byte aligned (completing at the next cp_async_wait), else at once.
template <typename T, int D, bool Vec>
__device__ __forceinline__ void load_chunk(T *dst, int ld, const T *src, int64_t ld_src, int64_t c0, int64_t len, int tid) {
    if constexpr (Vec) {
        load_rows_async<T, D, kThreads>(dst, ld, src, ld_src, c0, kChunk, len, tid);
    } else {
        load_rows<T, D, kThreads, false>(dst, ld, src, ld_src, c0, kChunk, len, tid);
    }
}

// 3. Outputs of run r (blockIdx.x) of one head: warp w owns tokens [16w, 16w + 16) of each chunk. The
//    next chunk's K and V stream into a second pair of buffers while this chunk computes, its Q into
//    Q's buffer during the state update.
template <typename T, int D, bool Vec>
__global__ void __launch_bounds__(kThreads, 1) run_outputs(const Params p) {
    extern __shared__ __align__(16) unsigned char smem[];
    constexpr int ld = D + kPad;
    T *sq = reinterpret_cast<T *>(smem), *skv = sq + kChunk * ld, *kv_tiles = skv + D * ld;
    auto sk = [&](int buf) { return kv_tiles + (2 * buf) * kChunk * ld; };
    auto sv = [&](int buf) { return kv_tiles + (2 * buf + 1) * kChunk * ld; };
    const int r = blockIdx.x, bh = blockIdx.y, b = bh / p.heads_q, h = bh % p.heads_q, hk = h / p.group;
    const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32, g = lane / 4, t4 = lane % 4;
    const T *q = static_cast<const T *>(p.q) + b * p.sq[0] + h * p.sq[1] + p.t0 * p.sq[2];
    const T *k = static_cast<const T *>(p.k) + b * p.sk[0] + hk * p.sk[1] + p.t0 * p.sk[2];
    const T *v = static_cast<const T *>(p.v) + b * p.sv[0] + hk * p.sv[1] + p.t0 * p.sv[2];
    const float sl = p.slope_log2[h];
    const int r0 = warp * 16, t_lo = r0 + g, t_hi = r0 + g + 8;
    const float f_lo = decay(sl, static_cast<float>(t_lo + 1)), f_hi = decay(sl, static_cast<float>(t_hi + 1));

    StateTile<D> st(warp);
    st.load(p.before + (static_cast<int64_t>(bh) * gridDim.x + r) * D * D, g, t4);
    const int64_t first = static_cast<int64_t>(r) * p.run_chunks * kChunk;
    const int64_t run_end = first + static_cast<int64_t>(p.run_chunks) * kChunk, end = run_end < p.len ? run_end : p.len;
    load_chunk<T, D, Vec>(sq, ld, q, p.sq[2], first, p.len, tid);
    load_chunk<T, D, Vec>(sk(0), ld, k, p.sk[2], first, p.len, tid);
    load_chunk<T, D, Vec>(sv(0), ld, v, p.sv[2], first, p.len, tid);
    if constexpr (Vec) cp_async_commit();
    int buf = 0;
    for (int64_t c0 = first; c0 < end; c0 += kChunk, buf ^= 1) {
        // Every warp is past the previous chunk's Q KV (skv) and state update (the other buffers).
        st.store_shared(skv, ld, g, t4);
        if constexpr (Vec) cp_async_wait<0>();
        __syncthreads();
        const bool more = c0 + kChunk < end;
        if (more) {
            load_chunk<T, D, Vec>(sk(buf ^ 1), ld, k, p.sk[2], c0 + kChunk, p.len, tid);
            load_chunk<T, D, Vec>(sv(buf ^ 1), ld, v, p.sv[2], c0 + kChunk, p.len, tid);
            if constexpr (Vec) cp_async_commit();
        }
        const T *ks = sk(buf), *vs = sv(buf);

        // Q's A fragments come from shared memory where they are used (registers go to the state).
        auto load_q = [&](uint32_t (&a)[4], int kk) { ldmatrix_x4(a, &sq[(r0 + lane % 16) * ld + kk * 16 + (lane / 16) * 8]); };
        // inter: O = diag(lambda^(t+1)) Q KV
        float acc[D / 8][4];
#pragma unroll
        for (int dt = 0; dt < D / 8; ++dt)
#pragma unroll
            for (int x = 0; x < 4; ++x) acc[dt][x] = 0.0f;
#pragma unroll
        for (int kk = 0; kk < D / 16; ++kk) {
            uint32_t qa[4];
            load_q(qa, kk);
            mma_by_row_tiles<T, D>(acc, qa, &skv[kk * 16 * ld], ld, lane);
        }
#pragma unroll
        for (int dt = 0; dt < D / 8; ++dt) {
            acc[dt][0] *= f_lo;
            acc[dt][1] *= f_lo;
            acc[dt][2] *= f_hi;
            acc[dt][3] *= f_hi;
        }
        // intra: S = Q K^T with the decay mask lambda^(t-s) (s <= t), then O += S V, 32 keys at a time.
        // Key blocks past the warp's last token are all masked: skipped (a branch the whole warp takes
        // alike).
#pragma unroll
        for (int kq = 0; kq < kChunk / 32; ++kq) {
            if (kq * 32 > r0 + 15) continue;
            float s[4][4];
#pragma unroll
            for (int nt = 0; nt < 4; ++nt)
#pragma unroll
                for (int x = 0; x < 4; ++x) s[nt][x] = 0.0f;
#pragma unroll
            for (int kk = 0; kk < D / 16; ++kk) {
                uint32_t qa[4];
                load_q(qa, kk);
#pragma unroll
                for (int nt = 0; nt < 4; ++nt) {
                    const int n0 = kq * 32 + nt * 8;
                    mma<T>(s[nt], qa, ld32(&ks[(n0 + g) * ld + kk * 16 + t4 * 2]), ld32(&ks[(n0 + g) * ld + kk * 16 + t4 * 2 + 8]));
                }
            }
#pragma unroll
            for (int nt = 0; nt < 4; ++nt) {
                const int n0 = kq * 32 + nt * 8;
#pragma unroll
                for (int x = 0; x < 4; ++x) {
                    const int t = x < 2 ? t_lo : t_hi, j = n0 + t4 * 2 + (x & 1);
                    s[nt][x] = j <= t ? s[nt][x] * decay(sl, static_cast<float>(t - j)) : 0.0f;
                }
            }
#pragma unroll
            for (int kh = 0; kh < 2; ++kh) {
                const uint32_t pa[4] = {pack2<T>(s[2 * kh][0], s[2 * kh][1]), pack2<T>(s[2 * kh][2], s[2 * kh][3]),
                                        pack2<T>(s[2 * kh + 1][0], s[2 * kh + 1][1]),
                                        pack2<T>(s[2 * kh + 1][2], s[2 * kh + 1][3])};
                mma_by_row_tiles<T, D>(acc, pa, &vs[(kq * 32 + kh * 16) * ld], ld, lane);
            }
        }
        lightning::store_rows<T, D>(p, b, h, c0, t_lo, t_hi, acc, t4);
        if (!more) break;  // the next run's state comes from the scan
        __syncthreads();  // every warp is done with Q
        load_chunk<T, D, Vec>(sq, ld, q, p.sq[2], c0 + kChunk, p.len, tid);
        if constexpr (Vec) cp_async_commit();
        // update: KV = lambda^C KV + K^T diag(lambda^(C - 1 - t)) V (a whole chunk: not the run's last).
        st.update(ks, vs, ld, sl, kChunk, lane);
    }
}

// The run states live in a memory pool of the library's own per device, which keeps up to kPoolKeep
// bytes between calls: the default pool hands its memory back at every synchronization, and mapping
// the states anew costs time per call.
constexpr uint64_t kPoolKeep = uint64_t(4) << 30;

int32_t pool_for(int device, cudaMemPool_t &pool, std::string &error) {
    static std::mutex mu;
    static cudaMemPool_t pools[64] = {};
    if (device < 0 || device >= 64) {
        error = "CUDA device " + std::to_string(device) + " out of range";
        return ATTN4J_STATUS_INVALID_DEVICE;
    }
    std::lock_guard<std::mutex> lock(mu);
    if (pools[device] == nullptr) {
        cudaMemPoolProps props{};
        props.allocType = cudaMemAllocationTypePinned;
        props.location.type = cudaMemLocationTypeDevice;
        props.location.id = device;
        cudaMemPool_t created = nullptr;
        const cudaError_t e = cudaMemPoolCreate(&created, &props);
        if (e != cudaSuccess) {
            error = std::string("cudaMemPoolCreate: ") + cudaGetErrorString(e);
            return ATTN4J_STATUS_INTERNAL;
        }
        uint64_t keep = kPoolKeep;
        cudaMemPoolSetAttribute(created, cudaMemPoolAttrReleaseThreshold, &keep);
        pools[device] = created;
    }
    pool = pools[device];
    return ATTN4J_STATUS_OK;
}

#define CUDA_CHECK(expr, what)                          \
    do {                                                \
        const int32_t st_ = status_of((expr), what, error); \
        if (st_ != ATTN4J_STATUS_OK) return st_;        \
    } while (0)

// The chunked passes over every segment: run states, their scan, outputs; on the Hopper kernels when
// `maps` is given (lightning_dispatch.cu decides), else on the portable ones.
template <typename T, int D, bool Vec>
int32_t run(const core::LightningProblem &lp, Params &p, const lightning::Maps *sm90_maps, int device,
            cudaStream_t stream, std::string &error) {
    const int64_t bh = lp.batch * lp.heads_q;
    const int64_t seg = lp.len < kSegment ? lp.len : kSegment, max_chunks = (seg + kChunk - 1) / kChunk;
    int sms = 0;
    CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device), "cudaDeviceGetAttribute");
    constexpr bool bf16 = std::is_same_v<T, __nv_bfloat16>;
    const bool sm90 = sm90_maps != nullptr;
    const lightning::Maps none{};
    const lightning::Maps &maps = sm90 ? *sm90_maps : none;
    // Runs per head of a segment of n_chunks chunks: for the portable kernels about eight blocks per SM
    // in the output pass (one runs at a time); for the Hopper ones the cheapest by a model.
    const auto runs_for = [&](int64_t n_chunks) {
        const int64_t wanted = std::max<int64_t>(1, (8 * static_cast<int64_t>(sms) + bh - 1) / bh);
        return sm90 ? lightning::sm90_runs(n_chunks, bh, sms) : std::max<int64_t>(1, std::min(wanted, n_chunks));
    };
    const int64_t last_chunks = ((lp.len - 1) % kSegment + kChunk) / kChunk;  // the last segment's
    const int64_t max_runs = std::max(runs_for(max_chunks), runs_for(lp.len > 0 ? last_chunks : 1));
    const size_t smem_states = sizeof(T) * 2 * kChunk * (D + kPad);
    const size_t smem_out = sizeof(T) * (5 * kChunk + D) * (D + kPad);  // 204 KiB at D = 128
    if (!sm90) {
        CUDA_CHECK(cudaFuncSetAttribute(run_states<T, D, Vec>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                        static_cast<int>(smem_states)), "cudaFuncSetAttribute");
        CUDA_CHECK(cudaFuncSetAttribute(run_outputs<T, D, Vec>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                        static_cast<int>(smem_out)), "cudaFuncSetAttribute");
    }
    // Run states of one segment and the states before each run (fp32), then two carries (ping-pong
    // between segments, contiguous [B*Hq][D][D]).
    void *work = nullptr;
    const size_t carry = static_cast<size_t>(bh) * D * D, states = static_cast<size_t>(bh) * max_runs * D * D;
    cudaMemPool_t pool = nullptr;
    const int32_t pooled = pool_for(device, pool, error);
    if (pooled != ATTN4J_STATUS_OK) return pooled;
    CUDA_CHECK(cudaMallocFromPoolAsync(&work, sizeof(float) * (2 * states + 2 * carry), pool, stream),
               "cudaMallocFromPoolAsync (run states)");
    p.runs = static_cast<float *>(work);
    p.before = p.runs + states;
    float *carry0 = p.before + states, *carry1 = carry0 + carry;
    int32_t status = ATTN4J_STATUS_OK;
    // The caller's state_in: copied to a contiguous carry (any strides), or zero.
    if (lp.state_in != nullptr) {
        for (int64_t x = 0; x < lp.batch && status == ATTN4J_STATUS_OK; ++x)
            for (int64_t y = 0; y < lp.heads_q && status == ATTN4J_STATUS_OK; ++y)
                status = status_of(cudaMemcpy2DAsync(carry0 + (x * lp.heads_q + y) * D * D, D * sizeof(float),
                                                 lp.state_in + x * lp.ssi[0] + y * lp.ssi[1], lp.ssi[2] * sizeof(float),
                                                 D * sizeof(float), D, cudaMemcpyDeviceToDevice, stream),
                               "copying state_in", error);
    }
    const float *in = lp.state_in != nullptr ? carry0 : nullptr;
    float *next = carry1;
    for (int64_t t0 = 0; t0 < lp.len && status == ATTN4J_STATUS_OK; t0 += kSegment) {
        p.t0 = t0;
        p.len = lp.len - t0 < kSegment ? lp.len - t0 : kSegment;
        p.state_in = in;
        p.state_out = next;
        const int64_t n_chunks = (p.len + kChunk - 1) / kChunk, runs = runs_for(n_chunks);
        p.run_chunks = static_cast<int>((n_chunks + runs - 1) / runs);
        const int n_runs = static_cast<int>((n_chunks + p.run_chunks - 1) / p.run_chunks);
        p.n_runs = n_runs;
        const dim3 grid(static_cast<unsigned>(n_runs), static_cast<unsigned>(bh));
        if (sm90) {
            // With few runs per head each output block scans the runs before it (no scan kernel), and the
            // last run's state is only computed where the carry is used: another segment follows, or the
            // caller asked for the final state.
            p.scan_in_prologue = n_runs <= 8;
            p.write_carry = !p.scan_in_prologue || lp.state_out != nullptr || t0 + p.len < lp.len;
            const int state_runs = p.write_carry ? n_runs : n_runs - 1;
            if (state_runs > 0)
                status = lightning::launch_sm90(p, maps, dim3(static_cast<unsigned>(state_runs), static_cast<unsigned>(bh)),
                                                true, false, bf16, device, stream, error);
            if (status == ATTN4J_STATUS_OK && !p.scan_in_prologue)
                scan_runs<D><<<dim3((D * D + 255) / 256, static_cast<unsigned>(bh)), 256, 0, stream>>>(p, n_runs);
            // Right after the run-state pass, the output pass may start early (it waits in the kernel).
            const bool early = p.scan_in_prologue && state_runs > 0;
            if (status == ATTN4J_STATUS_OK) status = lightning::launch_sm90(p, maps, grid, false, early, bf16, device, stream, error);
        } else {
            run_states<T, D, Vec><<<grid, kThreads, smem_states, stream>>>(p);
            scan_runs<D><<<dim3((D * D + 255) / 256, static_cast<unsigned>(bh)), 256, 0, stream>>>(p, n_runs);
            run_outputs<T, D, Vec><<<grid, kThreads, smem_out, stream>>>(p);
        }
        if (status == ATTN4J_STATUS_OK) status = status_of(cudaGetLastError(), "Lightning kernel launch", error);
        in = next;
        next = next == carry1 ? carry0 : carry1;
    }
    if (status == ATTN4J_STATUS_OK && lp.state_out != nullptr) {
        const float *final_state = in;  // the carry the last segment wrote
        if (final_state == nullptr) {   // no tokens: the state is state_in (or zero)
            status = status_of(cudaMemsetAsync(carry1, 0, carry * sizeof(float), stream), "cudaMemsetAsync", error);
            final_state = lp.state_in != nullptr ? carry0 : carry1;
        }
        for (int64_t x = 0; x < lp.batch && status == ATTN4J_STATUS_OK; ++x)
            for (int64_t y = 0; y < lp.heads_q && status == ATTN4J_STATUS_OK; ++y)
                status = status_of(cudaMemcpy2DAsync(lp.state_out + x * lp.sso[0] + y * lp.sso[1], lp.sso[2] * sizeof(float),
                                                 final_state + (x * lp.heads_q + y) * D * D, D * sizeof(float),
                                                 D * sizeof(float), D, cudaMemcpyDeviceToDevice, stream),
                               "copying state_out", error);
    }
    const int32_t freed = status_of(cudaFreeAsync(work, stream), "cudaFreeAsync", error);
    return status != ATTN4J_STATUS_OK ? status : freed;
}

}  // namespace

int32_t lightning::run_passes(const core::LightningProblem &lp, Params &p, const Maps *sm90_maps, bool vec, int device,
                              cudaStream_t s, std::string &error) {
    const bool bf16 = lp.in_dtype == core::DType::BF16;
    const Maps *maps = sm90_maps;
    if (lp.dim == 64) {
        if (bf16) return vec ? run<__nv_bfloat16, 64, true>(lp, p, maps, device, s, error) : run<__nv_bfloat16, 64, false>(lp, p, maps, device, s, error);
        return vec ? run<__half, 64, true>(lp, p, maps, device, s, error) : run<__half, 64, false>(lp, p, maps, device, s, error);
    }
    if (bf16) return vec ? run<__nv_bfloat16, 128, true>(lp, p, maps, device, s, error) : run<__nv_bfloat16, 128, false>(lp, p, maps, device, s, error);
    return vec ? run<__half, 128, true>(lp, p, maps, device, s, error) : run<__half, 128, false>(lp, p, maps, device, s, error);
}

}  // namespace attn4j::cuda
