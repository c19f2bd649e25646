// The C ABI of SALE, block-sparse attention and the structured input generator: argument checks,
// the backend-neutral SALE problem (core/sale_problem.h), then the CPU or CUDA backend by device.
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "api_checks.h"
#include "api_params.h"
#include "common/thread_pool.h"
#include "core/sale_problem.h"
#include "core/sequence_parts.h"
#include "cpu/sale/sale.h"
#include "cuda/cuda_backend.h"
#include "fill_problem.h"
#include "inputs/structured_inputs.h"
#include "sequence_checks.h"

using namespace attn4j;

namespace {

constexpr float kDefaultTau = 0.004f;

// A SALE-family call: the problem and the thresholds it points at.
struct SaleCall {
    core::SaleProblem sale;
    std::vector<float> tau;  // one per head of q

    core::FlashProblem &problem() { return sale.attention; }
    const core::FlashProblem &problem() const { return sale.attention; }
    bool on_host() const { return sale.attention.device == ATTN4J_DEVICE_HOST; }
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
                "q.device = %d: calibration and the structured inputs run on the CPU only in this version", q->device);
}

bool empty_problem(const core::FlashProblem &p) { return p.batch == 0 || p.heads_q == 0 || p.len_q == 0; }

// Small calls run on the caller's thread: estimation and the sparse pass would each wait for
// sleeping workers longer than the work takes.
void keep_small_on_caller(core::FlashProblem &p) {
    if (2.0 * p.batch * p.heads_q * p.len_q * p.len_k * (p.dim + p.dim_v) < cpu::kMinParallelFlops) p.threads = 1;
}

// The sequence lengths of a SALE-family call: attn4j_flash_params' fields and rules, host arrays only.
int32_t check_sale_sequences(const attn4j_tensor *q, const attn4j_tensor *k, const attn4j_sale_params &pr,
                             core::Sequences &seqs) {
    attn4j_flash_params fp = default_params<attn4j_flash_params>();
    fp.q_lens = pr.q_lens;
    fp.kv_lens = pr.kv_lens;
    fp.q_starts = pr.q_starts;
    fp.kv_starts = pr.kv_starts;
    fp.cu_seqlens_q = pr.cu_seqlens_q;
    fp.cu_seqlens_k = pr.cu_seqlens_k;
    fp.num_seqs = pr.num_seqs;
    fp.max_seqlen_q = pr.max_seqlen_q;
    fp.max_seqlen_k = pr.max_seqlen_k;
    return check_sequences(q, k, fp, seqs, "SALE and block-sparse attention");
}

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
    core::Sequences seqs;
    CHECK(check_sale_sequences(q, k, pr, seqs));
    if (seqs.any() && !out_required)
        return fail(ATTN4J_STATUS_UNSUPPORTED, "params: calibration takes one sequence per batch entry (no sequence lengths)");

    attn4j_flash_params fp = default_params<attn4j_flash_params>();
    fp.scale = pr.scale;
    fp.causal = pr.causal;
    fp.num_threads = pr.num_threads;
    fp.cuda_stream = pr.cuda_stream;
    core::FlashProblem &p = call.problem();
    p = make_flash_problem(q, k, v, out != nullptr ? out : q, lse, fp);
    p.seqs = seqs;
    keep_small_on_caller(p);
    call.sale.config = core::SaleConfig{nullptr, pr.block_q != 0 ? pr.block_q : 64, pr.block_k != 0 ? pr.block_k : 64,
                                        pr.sink_blocks != 0 ? pr.sink_blocks : 1, pr.local_blocks != 0 ? pr.local_blocks : 2};
    // Empty problems return before any per-head work; their head count need not fit in memory.
    if (empty_problem(p)) return ATTN4J_STATUS_OK;
    call.tau.assign(static_cast<size_t>(Hq), kDefaultTau);
    for (int64_t h = 0; h < Hq && pr.thresholds != nullptr; ++h)
        call.tau[h] = pr.thresholds[pr.num_thresholds == 1 ? 0 : h];
    call.sale.config.tau = call.tau.data();
    return ATTN4J_STATUS_OK;
}

// The mask: present if required, as large as its layout, and apart from the tensors it must not share
// memory with: SALE writes it (so it may overlap no tensor), the block-sparse pass reads it (so no
// output may overlap it). Only the bytes the layout uses count.
int32_t check_mask(const SaleCall &call, const void *mask, int64_t mask_bytes, bool sparse_pass,
                   const attn4j_tensor *q, const attn4j_tensor *k, const attn4j_tensor *v, const attn4j_tensor *out,
                   const attn4j_tensor *lse) {
    const core::SaleConfig &c = call.sale.config;
    const int64_t need = core::sale_mask_bytes(call.problem(), core::sale_mask_layout(call.problem(), c.block_q, c.block_k, nullptr));
    if (mask == nullptr) {
        if (sparse_pass) return fail(ATTN4J_STATUS_NULL_ARGUMENT, "mask is NULL");
        return ATTN4J_STATUS_OK;
    }
    if (mask_bytes < need)
        return fail(ATTN4J_STATUS_INVALID_SHAPE, "mask_bytes = %lld, the mask needs %lld bytes",
                    static_cast<long long>(mask_bytes), static_cast<long long>(need));
    // (Host calls do not ask: the query would start a CUDA context in a CPU-only caller.)
    if (q->device != ATTN4J_DEVICE_HOST && cuda::memory_device(mask) != q->device)
        return fail(ATTN4J_STATUS_INVALID_DEVICE, "mask is not memory of CUDA device %d, where the tensors are", q->device);
    CHECK(check_disjoint_bytes("mask", mask, need, "out", out));
    CHECK(check_disjoint_bytes("mask", mask, need, "lse", lse));
    if (sparse_pass) return ATTN4J_STATUS_OK;
    CHECK(check_disjoint_bytes("mask", mask, need, "q", q));
    CHECK(check_disjoint_bytes("mask", mask, need, "k", k));
    return check_disjoint_bytes("mask", mask, need, "v", v);
}

// The kernel families on the call's device.
int32_t flash_on(const core::FlashProblem &p) {
    return p.device == ATTN4J_DEVICE_HOST ? cpu_status(cpu::flash_forward(p)) : cuda::flash_forward(p);
}
int32_t block_sparse_on(const core::FlashProblem &p, double *density) {
    return p.device == ATTN4J_DEVICE_HOST ? cpu_status(cpu::block_sparse_forward(p, density))
                                          : cuda::block_sparse_forward(p, density);
}
int32_t sale_on(const core::SaleProblem &sp, const core::BlockMask &m, double *density) {
    return sp.attention.device == ATTN4J_DEVICE_HOST ? cpu_status(cpu::sale_forward(sp, m, density))
                                                     : cuda::sale_forward(sp, m, density);
}

// Visible (query block, key block) pairs of a problem: what density is a fraction of.
double visible_blocks(const core::FlashProblem &p, const core::BlockMask &m) {
    double n = 0.0;
    for (int64_t qb = 0; qb < m.q_blocks; ++qb) n += static_cast<double>(core::sale_visible_blocks(p, m, qb));
    return n * static_cast<double>(p.batch * p.heads_q);
}

// SALE (estimate) or the block-sparse pass over sequences of different lengths: each sequence as a call
// of its own (core/sequence_parts.h), reading and writing its entry of the mask; padded query rows
// densely. SALE first clears the mask so that the bits past each sequence's blocks read 0.
int32_t run_sequences(const SaleCall &call, uint8_t *mask, bool estimate, double *density) {
    const core::FlashProblem &p = call.problem();
    const core::SaleConfig &c = call.sale.config;
    const core::BlockMask full = core::sale_mask_layout(p, c.block_q, c.block_k, mask);
    const std::vector<core::SequencePart> parts = core::sequence_parts(p);
    const bool host = p.device == ATTN4J_DEVICE_HOST;
    if (!host && !parts.empty()) {  // what CUDA cannot run is refused before anything is written
        const core::SequencePart &s = parts.front();  // (every part has the call's dims, dtypes and blocks)
        const core::BlockMask m = core::sale_sequence_mask(full, s.problem, s.seq);
        core::FlashProblem one = s.problem;
        one.mask = &m;
        CHECK(estimate ? cuda::sale_supported(core::SaleProblem{s.problem, c}) : cuda::flash_supported(one));
    }
    if (estimate && mask != nullptr) {
        const int64_t bytes = core::sale_mask_bytes(p, full);
        if (host) {
            std::memset(mask, 0, static_cast<size_t>(bytes));
        } else {
            std::string error;
            if (const int32_t st = cuda::clear_async(p.device, mask, bytes, p.stream, error)) return fail(st, "%s", error.c_str());
        }
    }
    double kept = 0.0, visible = 0.0;
    for (const core::SequencePart &s : parts) {
        core::FlashProblem one = s.problem;
        keep_small_on_caller(one);
        if (s.padding) {
            CHECK(flash_on(one));
            continue;
        }
        const core::BlockMask m = core::sale_sequence_mask(full, one, s.seq);
        double d = 1.0;
        if (estimate) {
            CHECK(sale_on(core::SaleProblem{one, c}, m, &d));
        } else {
            one.mask = &m;
            CHECK(block_sparse_on(one, &d));
        }
        const double n = visible_blocks(s.problem, m);
        kept += d * n;
        visible += n;
    }
    if (density != nullptr)  // (CUDA does not read the mask back)
        *density = !host ? std::numeric_limits<double>::quiet_NaN() : visible > 0.0 ? kept / visible : 1.0;
    return ATTN4J_STATUS_OK;
}

inputs::Target target(const attn4j_tensor *t) {
    inputs::Target x{t->data, static_cast<core::DType>(t->dtype), {}, {}};
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
        core::Sequences seqs;
        CHECK(check_sale_sequences(q, k, pr, seqs));
        const int64_t bq = pr.block_q != 0 ? pr.block_q : 64, bk = pr.block_k != 0 ? pr.block_k : 64;
        const int64_t entries = seqs.packed() ? seqs.num_seqs : q->shape[0];
        const int64_t len_q = seqs.packed() ? seqs.max_q : q->shape[2], len_k = seqs.packed() ? seqs.max_k : k->shape[2];
        const int64_t q_blocks = len_q / bq + (len_q % bq != 0);
        const int64_t k_blocks = len_k / bk + (len_k % bk != 0);
        int64_t rows = 0, total = 0;
        // Empty tensors' shapes are not bounded by their memory, so the product may overflow.
        if (__builtin_mul_overflow(entries, q->shape[1], &rows) || __builtin_mul_overflow(rows, q_blocks, &rows) ||
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
        CHECK(check_mask(call, mask, mask_bytes, false, q, k, v, out, lse));
        if (density != nullptr) *density = 1.0;
        if (empty_problem(call.problem())) return ATTN4J_STATUS_OK;
        if (call.problem().seqs.any()) return run_sequences(call, mask, true, density);
        const core::SaleConfig &c = call.sale.config;
        return sale_on(call.sale, core::sale_mask_layout(call.problem(), c.block_q, c.block_k, mask), density);
    });
}

int32_t attn4j_block_sparse_forward(const attn4j_tensor *q, const attn4j_tensor *k, const attn4j_tensor *v,
                                    const attn4j_tensor *out, const attn4j_tensor *lse,
                                    const attn4j_sale_params *params, const uint8_t *mask, int64_t mask_bytes,
                                    double *density) {
    return guarded([&] {
        SaleCall call;
        CHECK(prepare(q, k, v, out, lse, params, call, true, true));
        CHECK(check_mask(call, mask, mask_bytes, true, q, k, v, out, lse));
        if (density != nullptr) *density = 1.0;
        if (empty_problem(call.problem())) return ATTN4J_STATUS_OK;
        if (call.problem().seqs.any()) return run_sequences(call, const_cast<uint8_t *>(mask), false, density);
        const core::SaleConfig &c = call.sale.config;
        const core::BlockMask m = core::sale_mask_layout(call.problem(), c.block_q, c.block_k, mask);
        core::FlashProblem p = call.problem();
        p.mask = &m;
        return block_sparse_on(p, density);
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
        if (empty_problem(call.problem()) || call.problem().len_k == 0) {
            for (int32_t h = 0; h < num_thresholds_out; ++h) thresholds_out[h] = 0.0f;
            return ATTN4J_STATUS_OK;
        }
        return cpu_status(cpu::sale_calibrate(call.problem(), call.sale.config, target_error, thresholds_out));
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
