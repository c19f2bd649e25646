// Lightning Attention-2 forward on NVIDIA GPUs: chunks in parallel, not one after another.
// Per (batch, head) with lambda = exp(-slope), chunks of C = 128 tokens (the last may be shorter, n_c):
//   1. chunk states, all chunks at once:  S_c = sum_{t < n_c} lambda^(n_c - 1 - t) k_t^T v_t   (K^T V on
//      tensor cores, fp32)
//   2. a scan over chunks, per state element:  KV_0 = S0,  KV_{c+1} = lambda^(n_c) KV_c + S_c
//      (KV_c: the state before chunk c, kept in fp32 and written in the storage type for step 3; the
//      last one is the final state)
//   3. outputs, all chunks at once, token t of chunk c:
//      o_t = lambda^(t+1) q_t KV_c + sum_{s <= t} lambda^(t-s) (q_t . k_s) v_s   (tensor cores)
// Long sequences run in segments of at most kSegment tokens, the state carried between them, so the
// chunk states need at most kSegment / C x d x dv floats per head.
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <mutex>
#include <string>
#include <utility>

#include "attn4j.h"
#include "cuda/cuda_backend.h"
#include "cuda/launch.h"
#include "cuda/mma.cuh"

namespace attn4j::cuda {

namespace {

constexpr int kChunk = 128;
constexpr int kStateThreads = 128;   // 4 warps: a quarter of the state rows each
constexpr int kOutThreads = 256;     // 8 warps: 16 tokens each
constexpr int kPad = 8;
constexpr int64_t kSegment = 65536;
constexpr float kLog2e = 1.4426950408889634f;

struct Params {
    const void *q, *k, *v;
    void *out;
    int64_t sq[4], sk[4], sv[4], so[4];
    int heads_q, group;
    int64_t t0, len;          // this segment's first token and length
    float *chunks;            // [B*Hq][n_chunks][D][D] chunk states (fp32)
    void *before;             // [B*Hq][n_chunks][D][D] states before each chunk, in the storage type
    const float *state_in;    // [B*Hq][D][D] contiguous carry in (null = zero)
    float *state_out;         // carry out
    bool out_f32;
    float slope_log2[kMaxCudaHeads];  // slope * log2(e) per head: lambda^x = exp2(-slope_log2 * x)
};

__device__ __forceinline__ float decay(float slope_log2, float x) { return exp2f(-slope_log2 * x); }

// A fragments of X^T for an mma whose A is [16 rows of X's columns][16 of X's rows], X row-major in
// shared memory: ldmatrix.trans from 16 rows of X starting at (row0, col0).
__device__ __forceinline__ void ldmatrix_x4_trans_a(uint32_t (&r)[4], const void *base, int ld_bytes, int lane) {
    const int m = lane / 8, i = lane % 8;
    const char *p = static_cast<const char *>(base) + ((m >= 2 ? 8 : 0) + i) * ld_bytes + ((m & 1) ? 16 : 0);
    ldmatrix_x4_trans(r, p);
}

// 1. S_c = K_c^T diag(lambda^(n_c - 1 - t)) V_c for one chunk of one head. Warp w computes state rows
//    [w * D / 4, (w + 1) * D / 4), all D columns in two halves.
template <typename T, int D, bool Vec>
__global__ void __launch_bounds__(kStateThreads) chunk_states(const Params p) {
    extern __shared__ __align__(16) unsigned char smem[];
    constexpr int ld = D + kPad;
    T *sk = reinterpret_cast<T *>(smem), *sv = sk + kChunk * ld;
    const int c = blockIdx.x, bh = blockIdx.y, b = bh / p.heads_q, h = bh % p.heads_q, hk = h / p.group;
    const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32, g = lane / 4, t4 = lane % 4;
    const int64_t c0 = static_cast<int64_t>(c) * kChunk, n_c = p.len - c0 < kChunk ? p.len - c0 : kChunk;
    const T *k = static_cast<const T *>(p.k) + b * p.sk[0] + hk * p.sk[1] + p.t0 * p.sk[2];
    const T *v = static_cast<const T *>(p.v) + b * p.sv[0] + hk * p.sv[1] + p.t0 * p.sv[2];
    load_rows<T, D, kStateThreads, Vec>(sk, ld, k, p.sk[2], c0, kChunk, p.len, tid);
    load_rows<T, D, kStateThreads, Vec>(sv, ld, v, p.sv[2], c0, kChunk, p.len, tid);
    __syncthreads();
    // Decay each value row by lambda^(n_c - 1 - t) (rows past n_c are zero already).
    const float sl = p.slope_log2[h];
    if (sl != 0.0f)
        for (int x = tid; x < kChunk * D / 2; x += kStateThreads) {
            const int t = (2 * x) / D, e = (2 * x) % D;
            if (t >= n_c) continue;
            const float w = decay(sl, static_cast<float>(n_c - 1 - t));
            *reinterpret_cast<uint32_t *>(&sv[t * ld + e]) =
                pack2<T>(static_cast<float>(sv[t * ld + e]) * w, static_cast<float>(sv[t * ld + e + 1]) * w);
        }
    __syncthreads();

    constexpr int kRowsPerWarp = D / 4, kMTiles = kRowsPerWarp / 16;
    float *dst = p.chunks + (static_cast<int64_t>(bh) * gridDim.x + c) * D * D;
#pragma unroll
    for (int half = 0; half < 2; ++half) {
        float acc[kMTiles][D / 16][4];
#pragma unroll
        for (int mt = 0; mt < kMTiles; ++mt)
#pragma unroll
            for (int nt = 0; nt < D / 16; ++nt)
#pragma unroll
                for (int x = 0; x < 4; ++x) acc[mt][nt][x] = 0.0f;
#pragma unroll
        for (int kk = 0; kk < kChunk / 16; ++kk) {
            uint32_t a[kMTiles][4];
#pragma unroll
            for (int mt = 0; mt < kMTiles; ++mt)
                ldmatrix_x4_trans_a(a[mt], &sk[(kk * 16) * ld + warp * kRowsPerWarp + mt * 16], ld * sizeof(T), lane);
            const int vrow = kk * 16 + (lane % 16), vcol = (lane / 16) * 8;
#pragma unroll
            for (int nt = 0; nt < D / 16; nt += 2) {
                uint32_t bf[4];
                ldmatrix_x4_trans(bf, &sv[vrow * ld + half * (D / 2) + nt * 8 + vcol]);
#pragma unroll
                for (int mt = 0; mt < kMTiles; ++mt) {
                    mma<T>(acc[mt][nt], a[mt], bf[0], bf[1]);
                    mma<T>(acc[mt][nt + 1], a[mt], bf[2], bf[3]);
                }
            }
        }
#pragma unroll
        for (int mt = 0; mt < kMTiles; ++mt)
#pragma unroll
            for (int nt = 0; nt < D / 16; ++nt) {
                const int row = warp * kRowsPerWarp + mt * 16 + g, col = half * (D / 2) + nt * 8 + t4 * 2;
                *reinterpret_cast<float2 *>(&dst[row * D + col]) = make_float2(acc[mt][nt][0], acc[mt][nt][1]);
                *reinterpret_cast<float2 *>(&dst[(row + 8) * D + col]) = make_float2(acc[mt][nt][2], acc[mt][nt][3]);
            }
    }
}

// 2. The scan over chunks, one state element per thread: the states before each chunk (in the storage
//    type, for step 3); the state after the last one goes to the carry. Loads run a few chunks ahead of
//    the dependent multiply-adds.
template <typename T, int D>
__global__ void scan_chunks(const Params p, int n_chunks) {
    const int bh = blockIdx.y, h = bh % p.heads_q;
    const int x = blockIdx.x * blockDim.x + threadIdx.x;
    if (x >= D * D) return;
    const float sl = p.slope_log2[h];
    const float full = exp2f(-sl * kChunk);
    float run = p.state_in != nullptr ? p.state_in[static_cast<int64_t>(bh) * D * D + x] : 0.0f;
    const float *s = p.chunks + static_cast<int64_t>(bh) * n_chunks * D * D + x;
    T *kv = static_cast<T *>(p.before) + static_cast<int64_t>(bh) * n_chunks * D * D + x;
    constexpr int kAhead = 8;
    for (int c0 = 0; c0 < n_chunks; c0 += kAhead) {
        float sc[kAhead];
#pragma unroll
        for (int u = 0; u < kAhead; ++u) sc[u] = c0 + u < n_chunks ? s[static_cast<int64_t>(c0 + u) * D * D] : 0.0f;
#pragma unroll
        for (int u = 0; u < kAhead; ++u) {
            const int c = c0 + u;
            if (c >= n_chunks) break;
            kv[static_cast<int64_t>(c) * D * D] = from_float<T>(run);
            const int64_t n_c = p.len - static_cast<int64_t>(c) * kChunk;
            run = run * (n_c >= kChunk ? full : exp2f(-sl * static_cast<float>(n_c))) + sc[u];
        }
    }
    p.state_out[static_cast<int64_t>(bh) * D * D + x] = run;
}

// 3. Outputs of one chunk: warp w owns tokens [16w, 16w + 16). Q goes to registers first and KV_c then
//    takes its place in shared memory: three [128][D] buffers, so that two blocks share an SM.
template <typename T, int D, bool Vec>
__global__ void __launch_bounds__(kOutThreads, 2) chunk_outputs(const Params p) {
    extern __shared__ __align__(16) unsigned char smem[];
    constexpr int ld = D + kPad;
    T *sq = reinterpret_cast<T *>(smem), *sk = sq + kChunk * ld, *sv = sk + kChunk * ld, *skv = sq;
    const int c = blockIdx.x, bh = blockIdx.y, b = bh / p.heads_q, h = bh % p.heads_q, hk = h / p.group;
    const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32, g = lane / 4, t4 = lane % 4;
    const int64_t c0 = static_cast<int64_t>(c) * kChunk;
    const T *q = static_cast<const T *>(p.q) + b * p.sq[0] + h * p.sq[1] + p.t0 * p.sq[2];
    const T *k = static_cast<const T *>(p.k) + b * p.sk[0] + hk * p.sk[1] + p.t0 * p.sk[2];
    const T *v = static_cast<const T *>(p.v) + b * p.sv[0] + hk * p.sv[1] + p.t0 * p.sv[2];
    load_rows<T, D, kOutThreads, Vec>(sq, ld, q, p.sq[2], c0, kChunk, p.len, tid);
    load_rows<T, D, kOutThreads, Vec>(sk, ld, k, p.sk[2], c0, kChunk, p.len, tid);
    load_rows<T, D, kOutThreads, Vec>(sv, ld, v, p.sv[2], c0, kChunk, p.len, tid);
    __syncthreads();

    const int r0 = warp * 16;
    uint32_t qa[D / 16][4];
#pragma unroll
    for (int kk = 0; kk < D / 16; ++kk) {
        qa[kk][0] = ld32(&sq[(r0 + g) * ld + kk * 16 + t4 * 2]);
        qa[kk][1] = ld32(&sq[(r0 + g + 8) * ld + kk * 16 + t4 * 2]);
        qa[kk][2] = ld32(&sq[(r0 + g) * ld + kk * 16 + t4 * 2 + 8]);
        qa[kk][3] = ld32(&sq[(r0 + g + 8) * ld + kk * 16 + t4 * 2 + 8]);
    }
    __syncthreads();
    const T *kv = static_cast<const T *>(p.before) + (static_cast<int64_t>(bh) * gridDim.x + c) * D * D;
    load_rows<T, D, kOutThreads, true>(skv, ld, kv, D, 0, D, D, tid);
    __syncthreads();

    // inter: O = diag(lambda^(t+1)) Q KV_c
    float acc[D / 8][4];
#pragma unroll
    for (int dt = 0; dt < D / 8; ++dt)
#pragma unroll
        for (int x = 0; x < 4; ++x) acc[dt][x] = 0.0f;
#pragma unroll
    for (int kk = 0; kk < D / 16; ++kk) {
        const int row = kk * 16 + (lane % 16), col = (lane / 16) * 8;
#pragma unroll
        for (int dt = 0; dt < D / 8; dt += 2) {
            uint32_t bf[4];
            ldmatrix_x4_trans(bf, &skv[row * ld + dt * 8 + col]);
            mma<T>(acc[dt], qa[kk], bf[0], bf[1]);
            mma<T>(acc[dt + 1], qa[kk], bf[2], bf[3]);
        }
    }
    const float sl = p.slope_log2[h];
    const int t_lo = r0 + g, t_hi = r0 + g + 8;
    const float f_lo = decay(sl, static_cast<float>(t_lo + 1)), f_hi = decay(sl, static_cast<float>(t_hi + 1));
#pragma unroll
    for (int dt = 0; dt < D / 8; ++dt) {
        acc[dt][0] *= f_lo;
        acc[dt][1] *= f_lo;
        acc[dt][2] *= f_hi;
        acc[dt][3] *= f_hi;
    }
    // intra: S = Q K^T with the decay mask lambda^(t-s) (s <= t), then O += S V, 32 keys at a time. Key
    // blocks past the warp's last token are all masked: skipped (a branch the whole warp takes alike).
#pragma unroll
    for (int kq = 0; kq < kChunk / 32; ++kq) {
        if (kq * 32 > r0 + 15) continue;
        float s[4][4];
#pragma unroll
        for (int nt = 0; nt < 4; ++nt) {
            const int n0 = kq * 32 + nt * 8;
#pragma unroll
            for (int x = 0; x < 4; ++x) s[nt][x] = 0.0f;
#pragma unroll
            for (int kk = 0; kk < D / 16; ++kk)
                mma<T>(s[nt], qa[kk], ld32(&sk[(n0 + g) * ld + kk * 16 + t4 * 2]),
                       ld32(&sk[(n0 + g) * ld + kk * 16 + t4 * 2 + 8]));
#pragma unroll
            for (int x = 0; x < 4; ++x) {
                const int t = x < 2 ? t_lo : t_hi, j = n0 + t4 * 2 + (x & 1);
                s[nt][x] = j <= t ? s[nt][x] * decay(sl, static_cast<float>(t - j)) : 0.0f;
            }
        }
#pragma unroll
        for (int kh = 0; kh < 2; ++kh) {
            const uint32_t pa[4] = {pack2<T>(s[2 * kh][0], s[2 * kh][1]), pack2<T>(s[2 * kh][2], s[2 * kh][3]),
                                    pack2<T>(s[2 * kh + 1][0], s[2 * kh + 1][1]), pack2<T>(s[2 * kh + 1][2], s[2 * kh + 1][3])};
            const int vrow = kq * 32 + kh * 16 + (lane % 16), vcol = (lane / 16) * 8;
#pragma unroll
            for (int dt = 0; dt < D / 8; dt += 2) {
                uint32_t bf[4];
                ldmatrix_x4_trans(bf, &sv[vrow * ld + dt * 8 + vcol]);
                mma<T>(acc[dt], pa, bf[0], bf[1]);
                mma<T>(acc[dt + 1], pa, bf[2], bf[3]);
            }
        }
    }
#pragma unroll
    for (int half = 0; half < 2; ++half) {
        const int64_t t = c0 + (half ? t_hi : t_lo);
        if (t >= p.len) continue;
        const int64_t base = b * p.so[0] + h * p.so[1] + (p.t0 + t) * p.so[2];
#pragma unroll
        for (int dt = 0; dt < D / 8; ++dt) {
            const int col = dt * 8 + t4 * 2;
            if (p.out_f32) {
                float *o = static_cast<float *>(p.out) + base;
                o[col * p.so[3]] = acc[dt][2 * half];
                o[(col + 1) * p.so[3]] = acc[dt][2 * half + 1];
            } else {
                T *o = static_cast<T *>(p.out) + base;
                o[col * p.so[3]] = from_float<T>(acc[dt][2 * half]);
                o[(col + 1) * p.so[3]] = from_float<T>(acc[dt][2 * half + 1]);
            }
        }
    }
}

// The chunk states live in a memory pool of the library's own per device, which keeps up to
// kPoolKeep bytes between calls: the default pool hands its memory back at every synchronization,
// and mapping a segment's 1-2 GB of states anew costs milliseconds per call.
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

template <typename T, int D, bool Vec>
int32_t run(const cpu::LightningProblem &lp, Params &p, int device, cudaStream_t stream, std::string &error) {
    const int64_t bh = lp.batch * lp.heads_q;
    const int64_t seg = lp.len < kSegment ? lp.len : kSegment, max_chunks = (seg + kChunk - 1) / kChunk;
    const size_t smem_states = sizeof(T) * 2 * kChunk * (D + kPad);
    const size_t smem_out = sizeof(T) * 3 * kChunk * (D + kPad);  // 102 KiB at D = 128: two blocks per SM
    CUDA_CHECK(cudaFuncSetAttribute(chunk_states<T, D, Vec>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                    static_cast<int>(smem_states)), "cudaFuncSetAttribute");
    CUDA_CHECK(cudaFuncSetAttribute(chunk_outputs<T, D, Vec>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                    static_cast<int>(smem_out)), "cudaFuncSetAttribute");
    // Chunk states of one segment (fp32), two carries (ping-pong between segments, contiguous
    // [B*Hq][D][D]), then the states before each chunk in the storage type.
    void *work = nullptr;
    const size_t carry = static_cast<size_t>(bh) * D * D, states = static_cast<size_t>(bh) * max_chunks * D * D;
    cudaMemPool_t pool = nullptr;
    const int32_t pooled = pool_for(device, pool, error);
    if (pooled != ATTN4J_STATUS_OK) return pooled;
    CUDA_CHECK(cudaMallocFromPoolAsync(&work, sizeof(float) * (states + 2 * carry) + sizeof(T) * states, pool, stream),
               "cudaMallocFromPoolAsync (chunk states)");
    float *chunks = static_cast<float *>(work), *carry0 = chunks + states;
    float *carry1 = carry0 + carry;
    p.before = carry1 + carry;
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
    p.chunks = chunks;
    const float *in = lp.state_in != nullptr ? carry0 : nullptr;
    float *next = carry1;
    for (int64_t t0 = 0; t0 < lp.len && status == ATTN4J_STATUS_OK; t0 += kSegment) {
        p.t0 = t0;
        p.len = lp.len - t0 < kSegment ? lp.len - t0 : kSegment;
        p.state_in = in;
        p.state_out = next;
        const int n_chunks = static_cast<int>((p.len + kChunk - 1) / kChunk);
        const dim3 grid(static_cast<unsigned>(n_chunks), static_cast<unsigned>(bh));
        chunk_states<T, D, Vec><<<grid, kStateThreads, smem_states, stream>>>(p);
        scan_chunks<T, D><<<dim3((D * D + 255) / 256, static_cast<unsigned>(bh)), 256, 0, stream>>>(p, n_chunks);
        chunk_outputs<T, D, Vec><<<grid, kOutThreads, smem_out, stream>>>(p);
        status = status_of(cudaGetLastError(), "Lightning kernel launch", error);
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

int32_t lightning_forward(const cpu::LightningProblem &lp, int32_t device, void *stream, std::string &error) {
    if (const int32_t st = use_device(device, error); st != ATTN4J_STATUS_OK) return st;
    Params p{};
    p.q = lp.q;
    p.k = lp.k;
    p.v = lp.v;
    p.out = lp.out;
    for (int i = 0; i < 4; ++i) {
        p.sq[i] = lp.sq[i];
        p.sk[i] = lp.sk[i];
        p.sv[i] = lp.sv[i];
        p.so[i] = lp.so[i];
    }
    p.heads_q = static_cast<int>(lp.heads_q);
    p.group = static_cast<int>(lp.heads_q / lp.heads_kv);
    p.out_f32 = lp.out_dtype == cpu::DType::F32;
    for (int64_t h = 0; h < lp.heads_q; ++h) p.slope_log2[h] = lp.slope(h) * kLog2e;
    const auto s = static_cast<cudaStream_t>(stream);
    const bool vec = rows_aligned16({{lp.q, lp.sq}, {lp.k, lp.sk}, {lp.v, lp.sv}});
    const bool bf16 = lp.in_dtype == cpu::DType::BF16;
    if (lp.dim == 64) {
        if (bf16) return vec ? run<__nv_bfloat16, 64, true>(lp, p, device, s, error) : run<__nv_bfloat16, 64, false>(lp, p, device, s, error);
        return vec ? run<__half, 64, true>(lp, p, device, s, error) : run<__half, 64, false>(lp, p, device, s, error);
    }
    if (bf16) return vec ? run<__nv_bfloat16, 128, true>(lp, p, device, s, error) : run<__nv_bfloat16, 128, false>(lp, p, device, s, error);
    return vec ? run<__half, 128, true>(lp, p, device, s, error) : run<__half, 128, false>(lp, p, device, s, error);
}

}  // namespace attn4j::cuda
