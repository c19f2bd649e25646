// The C ABI: argument checks, the backend-neutral problem (fill_problem.cpp), the CPU or CUDA
// backend by the tensors' device, and the promise that no C++ exception ever crosses into the caller.
#include <climits>
#include <cmath>
#include <new>
#include <string>

#include "attn4j.h"
#include "common/error.h"
#include "common/thread_pool.h"
#include "cpu/flash.h"
#include "cpu/isa.h"
#include "cpu/lightning.h"
#include "cuda/cuda_backend.h"
#include "fill_problem.h"
#include "tensor_checks.h"
#include "api_checks.h"
#include "sequence_checks.h"
#include "api_params.h"

#define ATTN4J_STR2(x) #x
#define ATTN4J_STR(x) ATTN4J_STR2(x)

using namespace attn4j;

namespace {

int32_t flash_forward(const attn4j_tensor *q, const attn4j_tensor *k, const attn4j_tensor *v,
                      const attn4j_tensor *out, const attn4j_tensor *lse, const attn4j_flash_params *params) {
    attn4j_flash_params pr;
    CHECK(read_params(params, pr));
    CHECK(check_qkv(q, k, v, pr.block_table != nullptr));
    const int64_t B = q->shape[0], Hq = q->shape[1], Nq = q->shape[2], dv = v->shape[3];
    const unsigned out_types = q->device == ATTN4J_DEVICE_HOST ? kCpuStorage : dtype_bit(q->dtype) | dtype_bit(ATTN4J_DTYPE_F32);
    CHECK(check_output("out", out, out_types, {B, Hq, Nq, dv},
                       {"batch of q", "heads of q", "sequence length of q", "head dim of v"}, q, k, v));
    if (lse != nullptr) {
        CHECK(check_output("lse", lse, dtype_bit(ATTN4J_DTYPE_F32), {B, Hq, Nq, 1},
                           {"batch of q", "heads of q", "sequence length of q", "one value per row"}, q, k, v));
        CHECK(check_disjoint("lse", lse, "out", out));
    }

    if (!std::isfinite(pr.scale))
        return fail(ATTN4J_STATUS_INVALID_PARAM, "params.scale = %g is not finite", pr.scale);
    if (!std::isfinite(pr.softcap) || pr.softcap < 0.0f)
        return fail(ATTN4J_STATUS_INVALID_PARAM, "params.softcap = %g must be finite and >= 0 (0 = off)", pr.softcap);
    if (pr.window_left < -1)
        return fail(ATTN4J_STATUS_INVALID_PARAM, "params.window_left = %d must be >= -1 (-1 = unlimited)", pr.window_left);
    if (pr.window_right < -1)
        return fail(ATTN4J_STATUS_INVALID_PARAM, "params.window_right = %d must be >= -1 (-1 = unlimited)", pr.window_right);
    if (pr.num_threads < 0)
        return fail(ATTN4J_STATUS_INVALID_PARAM, "params.num_threads = %d must be >= 0 (0 = default)", pr.num_threads);
    core::Sequences seqs;
    core::KeyPages pages;
    CHECK(check_sequences(q, k, pr, seqs, nullptr, &pages));
    if (element_count(out) == 0) return ATTN4J_STATUS_OK;

    core::FlashProblem p = make_flash_problem(q, k, v, out, lse, pr);
    p.seqs = seqs;
    p.pages = pages;
    if (pages.table != nullptr) p.len_k = pages.stride * pages.size;  // (each sequence's keys: seqs.kv_lens)
    return p.device == ATTN4J_DEVICE_HOST ? cpu_status(cpu::flash_forward(p)) : cuda::flash_forward(p);
}

// Two tensors that must be either the same tensor or disjoint (state_in / state_out).
bool same_tensor(const attn4j_tensor *a, const attn4j_tensor *b) {
    if (a->data != b->data) return false;
    for (int i = 0; i < 4; ++i)
        if (a->strides[i] != b->strides[i]) return false;
    return true;
}

int32_t lightning_forward(const attn4j_tensor *q, const attn4j_tensor *k, const attn4j_tensor *v,
                          const attn4j_tensor *out, const attn4j_tensor *state_in, const attn4j_tensor *state_out,
                          const attn4j_lightning_params *params) {
    CHECK(check_qkv(q, k, v));
    const int64_t B = q->shape[0], Hq = q->shape[1], N = q->shape[2], d = q->shape[3], dv = v->shape[3];
    CHECK(check_dim("k", k, 2, N, "sequence length of q"));
    const bool gpu = q->device != ATTN4J_DEVICE_HOST;
    const unsigned out_types = gpu ? dtype_bit(q->dtype) | dtype_bit(ATTN4J_DTYPE_F32) : kCpuStorage;
    CHECK(check_output("out", out, out_types, {B, Hq, N, dv},
                       {"batch of q", "heads of q", "sequence length of q", "head dim of v"}, q, k, v));
    attn4j_lightning_params pr;
    CHECK(read_params(params, pr));
    // Packed sequences: one state per sequence.
    if (pr.num_seqs < 0) return fail(ATTN4J_STATUS_INVALID_PARAM, "params.num_seqs = %d is negative", pr.num_seqs);
    if (pr.num_seqs == 0 && pr.cu_seqlens != nullptr)
        return fail(ATTN4J_STATUS_INVALID_PARAM, "params.cu_seqlens is set but params.num_seqs = 0");
    if (pr.num_seqs > 0) {
        if (gpu && pr.cu_seqlens != nullptr && cuda::memory_device(pr.cu_seqlens) != ATTN4J_DEVICE_HOST)
            return fail(ATTN4J_STATUS_UNSUPPORTED,
                        "params.cu_seqlens is device memory: Lightning takes its prefix sums in host memory in this version");
        if (B != 1)
            return fail(ATTN4J_STATUS_INVALID_SHAPE,
                        "q.shape[0] = %lld: the packed form (params.num_seqs > 0) takes one batch entry holding every sequence",
                        static_cast<long long>(B));
        int64_t longest = 0;
        CHECK(check_prefix_sums("cu_seqlens", pr.cu_seqlens, pr.num_seqs, N, "the total tokens, q.shape[2]", longest));
    }
    const int64_t states = pr.num_seqs > 0 ? pr.num_seqs : B;
    const char *const state_dims[4] = {pr.num_seqs > 0 ? "params.num_seqs" : "batch of q", "heads of q", "head dim of q",
                                       "head dim of v"};
    if (state_in != nullptr) {
        CHECK(check_tensor("state_in", state_in));
        CHECK(check_same_device("state_in", state_in, q));
        CHECK(check_dtype("state_in", state_in, dtype_bit(ATTN4J_DTYPE_F32)));
        const int64_t shape[4] = {states, Hq, d, dv};
        for (int i = 0; i < 4; ++i) CHECK(check_dim("state_in", state_in, i, shape[i], state_dims[i]));
        CHECK(check_disjoint("out", out, "state_in", state_in));
    }
    if (state_out != nullptr) {
        CHECK(check_output("state_out", state_out, dtype_bit(ATTN4J_DTYPE_F32), {states, Hq, d, dv}, state_dims, q, k, v));
        CHECK(check_disjoint("state_out", state_out, "out", out));
        if (state_in != nullptr && !same_tensor(state_in, state_out))
            CHECK(check_disjoint("state_out", state_out, "state_in", state_in));
    }

    if (pr.slopes == nullptr && pr.num_slopes != 0)
        return fail(ATTN4J_STATUS_NULL_ARGUMENT, "params.slopes is NULL but params.num_slopes = %d", pr.num_slopes);
    if (pr.slopes != nullptr) {
        if (pr.num_slopes != Hq)
            return fail(ATTN4J_STATUS_INVALID_PARAM, "params.num_slopes = %d, expected %lld (heads of q)", pr.num_slopes,
                        static_cast<long long>(Hq));
        for (int32_t h = 0; h < pr.num_slopes; ++h)
            if (!std::isfinite(pr.slopes[h]) || pr.slopes[h] < 0.0f)
                return fail(ATTN4J_STATUS_INVALID_PARAM, "params.slopes[%d] = %g must be finite and >= 0", h, pr.slopes[h]);
    }
    if (pr.block_size < 0 || pr.block_size > cpu::kLightningMaxBlock)
        return fail(ATTN4J_STATUS_INVALID_PARAM, "params.block_size = %d must be in 1..%lld (0 = default)", pr.block_size,
                    static_cast<long long>(cpu::kLightningMaxBlock));
    if (pr.num_threads < 0)
        return fail(ATTN4J_STATUS_INVALID_PARAM, "params.num_threads = %d must be >= 0 (0 = default)", pr.num_threads);
    // Nothing to write, nothing to do: an empty output beside a huge head count must not loop over the heads.
    if (element_count(out) == 0 && (state_out == nullptr || element_count(state_out) == 0)) return ATTN4J_STATUS_OK;

    const core::LightningProblem p = make_lightning_problem(q, k, v, out, state_in, state_out, pr);
    return gpu ? cuda::lightning_forward(p) : cpu_status(cpu::lightning_forward(p));
}

// ALiBi's slopes: a geometric sequence from 2^(-8/n) for n a power of two; otherwise those of the
// largest power of two below n, then every other slope of twice that count.
void alibi_slopes(int32_t n, float *out) {
    auto power_of_two = [](int32_t m, int32_t i) { return std::pow(2.0, -8.0 / m * (i + 1)); };
    int32_t p2 = 1;
    while (p2 * 2 <= n) p2 *= 2;
    for (int32_t i = 0; i < p2; ++i) out[i] = static_cast<float>(power_of_two(p2, i));
    for (int32_t i = 0; i < n - p2; ++i) out[p2 + i] = static_cast<float>(power_of_two(2 * p2, 2 * i));
}

}  // namespace

extern "C" {

const char *attn4j_version(void) {
    return ATTN4J_STR(ATTN4J_VERSION_MAJOR) "." ATTN4J_STR(ATTN4J_VERSION_MINOR) "." ATTN4J_STR(ATTN4J_VERSION_PATCH);
}

int32_t attn4j_version_number(void) {
    return ATTN4J_VERSION_MAJOR * 10000 + ATTN4J_VERSION_MINOR * 100 + ATTN4J_VERSION_PATCH;
}

const char *attn4j_last_error(void) { return last_error(); }

const char *attn4j_status_name(int32_t status) {
    switch (status) {
        case ATTN4J_STATUS_OK: return "ATTN4J_STATUS_OK";
        case ATTN4J_STATUS_NULL_ARGUMENT: return "ATTN4J_STATUS_NULL_ARGUMENT";
        case ATTN4J_STATUS_INVALID_SHAPE: return "ATTN4J_STATUS_INVALID_SHAPE";
        case ATTN4J_STATUS_INVALID_STRIDE: return "ATTN4J_STATUS_INVALID_STRIDE";
        case ATTN4J_STATUS_INVALID_DTYPE: return "ATTN4J_STATUS_INVALID_DTYPE";
        case ATTN4J_STATUS_INVALID_DEVICE: return "ATTN4J_STATUS_INVALID_DEVICE";
        case ATTN4J_STATUS_INVALID_PARAM: return "ATTN4J_STATUS_INVALID_PARAM";
        case ATTN4J_STATUS_ALIASING: return "ATTN4J_STATUS_ALIASING";
        case ATTN4J_STATUS_UNSUPPORTED: return "ATTN4J_STATUS_UNSUPPORTED";
        case ATTN4J_STATUS_OUT_OF_MEMORY: return "ATTN4J_STATUS_OUT_OF_MEMORY";
        case ATTN4J_STATUS_NO_CUDA: return "ATTN4J_STATUS_NO_CUDA";
        case ATTN4J_STATUS_INTERNAL: return "ATTN4J_STATUS_INTERNAL";
        default: return "ATTN4J_STATUS_UNKNOWN";
    }
}

int32_t attn4j_cpu_isa(void) { return static_cast<int32_t>(cpu::current_isa()); }

int32_t attn4j_cpu_isa_best(void) { return static_cast<int32_t>(cpu::best_isa()); }

int32_t attn4j_set_cpu_isa(int32_t isa) {
    clear_error();
    if (isa < 0 || isa >= cpu::kIsaCount)
        return fail(ATTN4J_STATUS_INVALID_PARAM, "isa = %d is not an ATTN4J_ISA_* value", isa);
    if (!cpu::set_isa(static_cast<cpu::Isa>(isa)))
        return fail(ATTN4J_STATUS_UNSUPPORTED, "isa = %s is not supported by this CPU (best: %s)", cpu::isa_name(isa),
                    cpu::isa_name(static_cast<int32_t>(cpu::best_isa())));
    return ATTN4J_STATUS_OK;
}

const char *attn4j_isa_name(int32_t isa) { return cpu::isa_name(isa); }

int32_t attn4j_default_threads(void) { return default_threads(); }

int32_t attn4j_cuda_available(void) { return cuda::built_with_cuda() ? 1 : 0; }

int32_t attn4j_cuda_device_count(void) { return cuda::device_count(); }

int32_t attn4j_cuda_malloc(int32_t device, int64_t bytes, void **ptr) {
    return guarded([&] {
        if (ptr == nullptr) return fail(ATTN4J_STATUS_NULL_ARGUMENT, "ptr is NULL");
        if (bytes < 0) return fail(ATTN4J_STATUS_INVALID_PARAM, "bytes = %lld is negative", static_cast<long long>(bytes));
        std::string error;
        const int32_t st = cuda::malloc_device(device, bytes, ptr, error);
        return st == ATTN4J_STATUS_OK ? st : fail(st, "%s", error.c_str());
    });
}

int32_t attn4j_cuda_free(int32_t device, void *ptr) {
    return guarded([&] {
        std::string error;
        const int32_t st = cuda::free_device(device, ptr, error);
        return st == ATTN4J_STATUS_OK ? st : fail(st, "%s", error.c_str());
    });
}

int32_t attn4j_cuda_memcpy(void *dst, const void *src, int64_t bytes, int32_t kind) {
    return guarded([&] {
        if (kind < ATTN4J_COPY_HOST_TO_DEVICE || kind > ATTN4J_COPY_DEVICE_TO_DEVICE)
            return fail(ATTN4J_STATUS_INVALID_PARAM, "kind = %d is not an ATTN4J_COPY_* value", kind);
        if (bytes < 0) return fail(ATTN4J_STATUS_INVALID_PARAM, "bytes = %lld is negative", static_cast<long long>(bytes));
        if (bytes > 0 && (dst == nullptr || src == nullptr))
            return fail(ATTN4J_STATUS_NULL_ARGUMENT, "%s is NULL", dst == nullptr ? "dst" : "src");
        if (bytes == 0) return ATTN4J_STATUS_OK;
        std::string error;
        const int32_t st = cuda::memcpy_any(dst, src, bytes, kind, error);
        return st == ATTN4J_STATUS_OK ? st : fail(st, "%s", error.c_str());
    });
}

int32_t attn4j_cuda_synchronize(int32_t device) {
    return guarded([&] {
        std::string error;
        const int32_t st = cuda::synchronize(device, error);
        return st == ATTN4J_STATUS_OK ? st : fail(st, "%s", error.c_str());
    });
}

int32_t attn4j_flash_params_init(attn4j_flash_params *p) { return init_params(p); }

int32_t attn4j_lightning_params_init(attn4j_lightning_params *p) { return init_params(p); }

int32_t attn4j_sale_params_init(attn4j_sale_params *p) { return init_params(p); }

int32_t attn4j_flash_forward(const attn4j_tensor *q, const attn4j_tensor *k, const attn4j_tensor *v,
                             const attn4j_tensor *out, const attn4j_tensor *lse, const attn4j_flash_params *params) {
    return guarded([&] { return flash_forward(q, k, v, out, lse, params); });
}

int32_t attn4j_lightning_forward(const attn4j_tensor *q, const attn4j_tensor *k, const attn4j_tensor *v,
                                 const attn4j_tensor *out, const attn4j_tensor *state_in,
                                 const attn4j_tensor *state_out, const attn4j_lightning_params *params) {
    return guarded([&] { return lightning_forward(q, k, v, out, state_in, state_out, params); });
}

int32_t attn4j_lightning_decode(const attn4j_tensor *q, const attn4j_tensor *k, const attn4j_tensor *v,
                                const attn4j_tensor *out, const attn4j_tensor *state,
                                const attn4j_lightning_params *params) {
    return guarded([&] {
        if (state == nullptr) return fail(ATTN4J_STATUS_NULL_ARGUMENT, "state is NULL");
        return lightning_forward(q, k, v, out, state, state, params);
    });
}

int32_t attn4j_lightning_slopes(int32_t heads, int32_t layer, int32_t num_layers, float *slopes) {
    return guarded([&] {
        if (slopes == nullptr) return fail(ATTN4J_STATUS_NULL_ARGUMENT, "slopes is NULL");
        if (heads < 1) return fail(ATTN4J_STATUS_INVALID_PARAM, "heads = %d must be >= 1", heads);
        if (num_layers < 1) return fail(ATTN4J_STATUS_INVALID_PARAM, "num_layers = %d must be >= 1", num_layers);
        if (layer < 0 || layer >= num_layers)
            return fail(ATTN4J_STATUS_INVALID_PARAM, "layer = %d must be in 0..%d", layer, num_layers - 1);
        alibi_slopes(heads, slopes);
        if (num_layers > 1) {
            const double f = 1.0 - static_cast<double>(layer) / (num_layers - 1) + 1e-5;
            for (int32_t h = 0; h < heads; ++h) slopes[h] = static_cast<float>(slopes[h] * f);
        }
        return ATTN4J_STATUS_OK;
    });
}

}  // extern "C"
