// The C ABI of SALE, block-sparse attention and the structured input generator: argument checks,
// then the CPU kernels (cpu/sale/).
#include <climits>
#include <cmath>
#include <string>
#include <limits>
#include <vector>

#include "api_checks.h"
#include "api_params.h"
#include "common/thread_pool.h"
#include "cpu/sale/sale.h"
#include "cuda/cuda_backend.h"
#include "flash_problem.h"
#include "inputs/structured_inputs.h"

using namespace attn4j;

namespace {

constexpr float kDefaultTau = 0.004f;

struct SaleCall {
    cpu::FlashProblem problem;
    std::vector<float> tau;  // one per head of q
    cpu::SaleConfig config;
    // CUDA calls: the descriptors for the GPU kernel's own checks (block-sparse pass), and the stream.
    struct Device {
        const attn4j_tensor *q, *k, *v, *out, *lse;
    };
    const Device *device = nullptr;
    void *stream = nullptr;
};

int32_t check_sale_params(const attn4j_tensor *q, const attn4j_sale_params &pr) {
    const int64_t Hq = q->shape[1];
    if (!std::isfinite(pr.scale)) return fail(ATTN4J_STATUS_INVALID_PARAM, "params.scale = %g is not finite", pr.scale);
    if (pr.thresholds == nullptr && pr.num_thresholds != 0)
        return fail(ATTN4J_STATUS_NULL_ARGUMENT, "params.thresholds is NULL but params.num_thresholds = %d", pr.num_thresholds);
    if (pr.thresholds != nullptr) {
        if (pr.num_thresholds != 1 && pr.num_thresholds != Hq)
            return fail(ATTN4J_STATUS_INVALID_PARAM, "params.num_thresholds = %d, expected 1 or %lld (heads of q)",
                        pr.num_thresholds, static_cast<long long>(Hq));
        for (int32_t h = 0; h < pr.num_thresholds; ++h)
            if (!std::isfinite(pr.thresholds[h]) || pr.thresholds[h] < 0.0f)
                return fail(ATTN4J_STATUS_INVALID_PARAM, "params.thresholds[%d] = %g must be finite and >= 0", h,
                            pr.thresholds[h]);
    }
    if (pr.block_q != 0 && (pr.block_q < 16 || pr.block_q > 96 || pr.block_q % 16 != 0))
        return fail(ATTN4J_STATUS_INVALID_PARAM, "params.block_q = %d must be a multiple of 16 in 16..96 (0 = 64)", pr.block_q);
    if (pr.block_k != 0 && (pr.block_k < 16 || pr.block_k > 512 || pr.block_k % 16 != 0))
        return fail(ATTN4J_STATUS_INVALID_PARAM, "params.block_k = %d must be a multiple of 16 in 16..512 (0 = 64)", pr.block_k);
    if (pr.sink_blocks < 0)
        return fail(ATTN4J_STATUS_INVALID_PARAM, "params.sink_blocks = %d must be >= 0 (0 = 1)", pr.sink_blocks);
    if (pr.local_blocks < 0)
        return fail(ATTN4J_STATUS_INVALID_PARAM, "params.local_blocks = %d must be >= 0 (0 = 2)", pr.local_blocks);
    if (pr.num_threads < 0)
        return fail(ATTN4J_STATUS_INVALID_PARAM, "params.num_threads = %d must be >= 0 (0 = default)", pr.num_threads);
    return ATTN4J_STATUS_OK;
}

int32_t check_host(const attn4j_tensor *q) {
    if (q->device == ATTN4J_DEVICE_HOST) return ATTN4J_STATUS_OK;
    return fail(ATTN4J_STATUS_UNSUPPORTED,
                "q.device = %d: SALE's estimation runs on the CPU only in this version (attn4j_block_sparse_forward "
                "runs on CUDA devices)",
                q->device);
}

bool empty_problem(const cpu::FlashProblem &p) { return p.batch == 0 || p.heads_q == 0 || p.len_q == 0; }

// The checks every SALE-family call shares; fills `call`. Calibration has no out (out_required false).
int32_t prepare(const attn4j_tensor *q, const attn4j_tensor *k, const attn4j_tensor *v, const attn4j_tensor *out,
                const attn4j_tensor *lse, const attn4j_sale_params *params, SaleCall &call, bool out_required = true,
                bool device_ok = false) {
    CHECK(check_qkv(q, k, v));
    if (!device_ok) CHECK(check_host(q));
    const int64_t B = q->shape[0], Hq = q->shape[1], Nq = q->shape[2], dv = v->shape[3];
    const unsigned out_types =
        q->device == ATTN4J_DEVICE_HOST ? kCpuStorage : dtype_bit(q->dtype) | dtype_bit(ATTN4J_DTYPE_F32);
    if (out_required || out != nullptr)
        CHECK(check_output("out", out, out_types, {B, Hq, Nq, dv},
                           {"batch of q", "heads of q", "sequence length of q", "head dim of v"}, q, k, v));
    if (lse != nullptr) {
        CHECK(check_output("lse", lse, dtype_bit(ATTN4J_DTYPE_F32), {B, Hq, Nq, 1},
                           {"batch of q", "heads of q", "sequence length of q", "one value per row"}, q, k, v));
        if (out != nullptr) CHECK(check_disjoint("lse", lse, "out", out));
    }
    attn4j_sale_params pr;
    CHECK(read_params(params, pr));
    CHECK(check_sale_params(q, pr));

    attn4j_flash_params fp = ParamsInfo<attn4j_flash_params>::defaults();
    fp.scale = pr.scale;
    fp.causal = pr.causal;
    fp.num_threads = pr.num_threads;
    call.stream = pr.cuda_stream;
    call.problem = make_flash_problem(q, k, v, out != nullptr ? out : q, lse, fp);
    cpu::FlashProblem &p = call.problem;
    // Small calls run on the caller's thread: estimation and the sparse pass would each wait for
    // sleeping workers longer than the work takes.
    if (2.0 * p.batch * p.heads_q * p.len_q * p.len_k * (p.dim + p.dim_v) < cpu::kMinParallelFlops) p.threads = 1;
    call.config = cpu::SaleConfig{nullptr, pr.block_q != 0 ? pr.block_q : 64, pr.block_k != 0 ? pr.block_k : 64,
                                  pr.sink_blocks != 0 ? pr.sink_blocks : 1, pr.local_blocks != 0 ? pr.local_blocks : 2};
    // Empty problems return before any per-head work; their head count need not fit in memory.
    if (empty_problem(p)) return ATTN4J_STATUS_OK;
    call.tau.assign(static_cast<size_t>(Hq), kDefaultTau);
    for (int64_t h = 0; h < Hq && pr.thresholds != nullptr; ++h)
        call.tau[h] = pr.thresholds[pr.num_thresholds == 1 ? 0 : h];
    call.config.tau = call.tau.data();
    return ATTN4J_STATUS_OK;
}

int32_t check_mask(const SaleCall &call, const void *mask, int64_t mask_bytes, bool required) {
    const cpu::BlockMask m = cpu::sale_mask_layout(call.problem, call.config.block_q, call.config.block_k, nullptr);
    const int64_t need = call.problem.batch * call.problem.heads_q * m.q_blocks * m.row_bytes;
    if (mask == nullptr) {
        if (required) return fail(ATTN4J_STATUS_NULL_ARGUMENT, "mask is NULL");
        return ATTN4J_STATUS_OK;
    }
    if (mask_bytes < need)
        return fail(ATTN4J_STATUS_INVALID_SHAPE, "mask_bytes = %lld, the mask needs %lld bytes",
                    static_cast<long long>(mask_bytes), static_cast<long long>(need));
    return ATTN4J_STATUS_OK;
}

int32_t run_sparse(SaleCall &call, const uint8_t *bits, double *density) {
    const cpu::BlockMask m = cpu::sale_mask_layout(call.problem, call.config.block_q, call.config.block_k, bits);
    call.problem.mask = &m;
    if (call.device != nullptr) {  // CUDA: the mask is device memory, its density is not read back
        if (density != nullptr) *density = std::numeric_limits<double>::quiet_NaN();
        const SaleCall::Device &d = *call.device;
        const int32_t st = flash_forward_cuda(d.q, d.k, d.v, d.out, d.lse, call.problem, call.stream);
        call.problem.mask = nullptr;
        return st;
    }
    const bool ok = cpu::block_sparse_forward(call.problem, density);
    call.problem.mask = nullptr;
    return ok ? ATTN4J_STATUS_OK : fail(ATTN4J_STATUS_OUT_OF_MEMORY, "out of memory in a worker thread");
}

// SALE on a CUDA device: the estimation kernels write the (device) mask, then the block-sparse pass.
int32_t sale_forward_cuda(SaleCall &call, const attn4j_tensor *q, const attn4j_tensor *k, const attn4j_tensor *v,
                          const attn4j_tensor *out, const attn4j_tensor *lse, uint8_t *mask, double *density) {
    const cpu::FlashProblem &p = call.problem;
    if (call.config.block_q != 64 || call.config.block_k != 64)
        return fail(ATTN4J_STATUS_UNSUPPORTED, "params.block_q = %lld, params.block_k = %lld: SALE on CUDA uses 64 x 64 blocks",
                    static_cast<long long>(call.config.block_q), static_cast<long long>(call.config.block_k));
    CHECK(check_cuda_head_dims(p.dim, p.dim_v));
    if (p.heads_q > cuda::kMaxCudaHeads || p.len_q > INT32_MAX || p.len_k > INT32_MAX)
        return fail(ATTN4J_STATUS_UNSUPPORTED, "q: at most %d heads and 2^31 - 1 tokens on CUDA devices", cuda::kMaxCudaHeads);
    const cpu::BlockMask layout = cpu::sale_mask_layout(p, 64, 64, nullptr);
    const int64_t bytes = p.batch * p.heads_q * layout.q_blocks * layout.row_bytes;
    void *stream = call.stream;
    std::string error;
    void *own = nullptr;
    if (mask == nullptr) {  // a mask of our own (its allocation and release synchronize the device)
        const int32_t st = cuda::malloc_device(q->device, bytes > 0 ? bytes : 1, &own, error);
        if (st != ATTN4J_STATUS_OK) return fail(st, "%s", error.c_str());
        mask = static_cast<uint8_t *>(own);
    }
    int32_t st = cuda::sale_estimate(p, call.tau.data(), call.config.sink_blocks, call.config.local_blocks, mask,
                                     layout.row_bytes, q->device, stream, error);
    if (st != ATTN4J_STATUS_OK) st = fail(st, "%s", error.c_str());
    if (st == ATTN4J_STATUS_OK) {
        const SaleCall::Device tensors{q, k, v, out, lse};
        call.device = &tensors;
        st = run_sparse(call, mask, density);
    }
    if (own != nullptr) {
        std::string ignored;
        cuda::free_device(q->device, own, ignored);
    }
    return st;
}


inputs::Target target(const attn4j_tensor *t) {
    inputs::Target x{t->data, static_cast<cpu::DType>(t->dtype), {}, {}};
    for (int i = 0; i < 4; ++i) {
        x.shape[i] = t->shape[i];
        x.strides[i] = t->strides[i];
    }
    return x;
}

}  // namespace

extern "C" {

int32_t attn4j_sale_mask_bytes(const attn4j_tensor *q, const attn4j_tensor *k, const attn4j_sale_params *params,
                               int64_t *bytes) {
    return guarded([&] {
        if (bytes == nullptr) return fail(ATTN4J_STATUS_NULL_ARGUMENT, "bytes is NULL");
        CHECK(check_tensor("q", q));
        CHECK(check_tensor("k", k));
        attn4j_sale_params pr;
        CHECK(read_params(params, pr));
        CHECK(check_sale_params(q, pr));
        const int64_t bq = pr.block_q != 0 ? pr.block_q : 64, bk = pr.block_k != 0 ? pr.block_k : 64;
        const int64_t q_blocks = q->shape[2] / bq + (q->shape[2] % bq != 0);
        const int64_t k_blocks = k->shape[2] / bk + (k->shape[2] % bk != 0);
        int64_t rows = 0, total = 0;
        // Empty tensors' shapes are not bounded by their memory, so the product may overflow.
        if (__builtin_mul_overflow(q->shape[0], q->shape[1], &rows) || __builtin_mul_overflow(rows, q_blocks, &rows) ||
            __builtin_mul_overflow(rows, k_blocks / 8 + (k_blocks % 8 != 0), &total))
            return fail(ATTN4J_STATUS_INVALID_SHAPE, "q.shape and k.shape: the mask size overflows 64 bits");
        *bytes = total;
        return ATTN4J_STATUS_OK;
    });
}

int32_t attn4j_sale_forward(const attn4j_tensor *q, const attn4j_tensor *k, const attn4j_tensor *v,
                            const attn4j_tensor *out, const attn4j_tensor *lse, const attn4j_sale_params *params,
                            uint8_t *mask, int64_t mask_bytes, double *density) {
    return guarded([&] {
        SaleCall call;
        CHECK(prepare(q, k, v, out, lse, params, call, true, true));
        CHECK(check_mask(call, mask, mask_bytes, false));
        if (density != nullptr) *density = 1.0;
        if (empty_problem(call.problem)) return ATTN4J_STATUS_OK;
        if (q->device != ATTN4J_DEVICE_HOST) return sale_forward_cuda(call, q, k, v, out, lse, mask, density);
        const cpu::BlockMask layout = cpu::sale_mask_layout(call.problem, call.config.block_q, call.config.block_k, nullptr);
        std::vector<uint8_t> own;
        if (mask == nullptr) {
            own.resize(static_cast<size_t>(call.problem.batch * call.problem.heads_q * layout.q_blocks * layout.row_bytes));
            mask = own.data();
        }
        const cpu::BlockMask m = cpu::sale_mask_layout(call.problem, call.config.block_q, call.config.block_k, mask);
        if (!cpu::sale_estimate(call.problem, call.config, m))
            return fail(ATTN4J_STATUS_OUT_OF_MEMORY, "out of memory in a worker thread");
        return run_sparse(call, mask, density);
    });
}

int32_t attn4j_block_sparse_forward(const attn4j_tensor *q, const attn4j_tensor *k, const attn4j_tensor *v,
                                    const attn4j_tensor *out, const attn4j_tensor *lse,
                                    const attn4j_sale_params *params, const uint8_t *mask, int64_t mask_bytes,
                                    double *density) {
    return guarded([&] {
        SaleCall call;
        CHECK(prepare(q, k, v, out, lse, params, call, true, true));
        CHECK(check_mask(call, mask, mask_bytes, true));
        if (density != nullptr) *density = 1.0;
        if (empty_problem(call.problem)) return ATTN4J_STATUS_OK;
        const SaleCall::Device tensors{q, k, v, out, lse};
        if (q->device != ATTN4J_DEVICE_HOST) call.device = &tensors;
        return run_sparse(call, mask, density);
    });
}

int32_t attn4j_sale_calibrate(const attn4j_tensor *q, const attn4j_tensor *k, const attn4j_tensor *v,
                              float target_error, const attn4j_sale_params *params, float *thresholds_out,
                              int32_t num_thresholds_out) {
    return guarded([&] {
        SaleCall call;
        CHECK(prepare(q, k, v, nullptr, nullptr, params, call, false));
        if (thresholds_out == nullptr) return fail(ATTN4J_STATUS_NULL_ARGUMENT, "thresholds_out is NULL");
        if (num_thresholds_out != q->shape[1])
            return fail(ATTN4J_STATUS_INVALID_PARAM, "num_thresholds_out = %d, expected %lld (heads of q)",
                        num_thresholds_out, static_cast<long long>(q->shape[1]));
        if (!std::isfinite(target_error) || target_error <= 0.0f)
            return fail(ATTN4J_STATUS_INVALID_PARAM, "target_error = %g must be finite and > 0", target_error);
        if (empty_problem(call.problem) || call.problem.len_k == 0) {
            for (int32_t h = 0; h < num_thresholds_out; ++h) thresholds_out[h] = 0.0f;
            return ATTN4J_STATUS_OK;
        }
        if (!cpu::sale_calibrate(call.problem, call.config, target_error, thresholds_out))
            return fail(ATTN4J_STATUS_OUT_OF_MEMORY, "out of memory in a worker thread");
        return ATTN4J_STATUS_OK;
    });
}

int32_t attn4j_structured_qkv(int32_t pattern, uint64_t seed, const attn4j_tensor *q, const attn4j_tensor *k,
                              const attn4j_tensor *v) {
    return guarded([&] {
        if (pattern < ATTN4J_PATTERN_RANDOM || pattern > ATTN4J_PATTERN_MIXED)
            return fail(ATTN4J_STATUS_INVALID_PARAM, "pattern = %d is not an ATTN4J_PATTERN_* value", pattern);
        CHECK(check_qkv(q, k, v));
        CHECK(check_host(q));
        const attn4j_tensor *all[3] = {q, k, v};
        const char *names[3] = {"q", "k", "v"};
        for (int i = 0; i < 3; ++i) {
            CHECK(check_no_self_overlap(names[i], all[i]));
            for (int j = 0; j < i; ++j) CHECK(check_disjoint(names[i], all[i], names[j], all[j]));
        }
        inputs::structured_qkv(static_cast<inputs::Pattern>(pattern), seed, target(q), target(k), target(v),
                               default_threads());
        return ATTN4J_STATUS_OK;
    });
}

}  // extern "C"
