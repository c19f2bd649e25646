// The C ABI: argument checks, translation to internal problem structs, dispatch, and the promise
// that no C++ exception ever crosses into the caller.
#include <cmath>
#include <new>

#include "attn4j.h"
#include "common/error.h"
#include "common/thread_pool.h"
#include "cpu/flash.h"
#include "cpu/isa.h"
#include "flash_problem.h"
#include "tensor_checks.h"

#define ATTN4J_STR2(x) #x
#define ATTN4J_STR(x) ATTN4J_STR2(x)

using namespace attn4j;

namespace {

#define CHECK(expr)                                   \
    do {                                              \
        int32_t status_ = (expr);                     \
        if (status_ != ATTN4J_STATUS_OK) return status_; \
    } while (0)

template <typename F>
int32_t guarded(F &&body) {
    clear_error();
    try {
        return body();
    } catch (const std::bad_alloc &) {
        return fail(ATTN4J_STATUS_OUT_OF_MEMORY, "out of memory");
    } catch (...) {
        return fail(ATTN4J_STATUS_INTERNAL, "internal error");
    }
}

int32_t flash_forward(const attn4j_tensor *q, const attn4j_tensor *k, const attn4j_tensor *v,
                      const attn4j_tensor *out, const attn4j_tensor *lse, const attn4j_flash_params *params) {
    CHECK(check_tensor("q", q));
    CHECK(check_tensor("k", k));
    CHECK(check_tensor("v", v));
    CHECK(check_tensor("out", out));
    if (lse != nullptr) CHECK(check_tensor("lse", lse));

    const unsigned cpu_inputs = dtype_bit(ATTN4J_DTYPE_F32) | dtype_bit(ATTN4J_DTYPE_BF16);
    CHECK(check_dtype("q", q, cpu_inputs));
    if (k->dtype != q->dtype)
        return fail(ATTN4J_STATUS_INVALID_DTYPE, "k.dtype = %s differs from q.dtype = %s", dtype_name(k->dtype),
                    dtype_name(q->dtype));
    if (v->dtype != q->dtype)
        return fail(ATTN4J_STATUS_INVALID_DTYPE, "v.dtype = %s differs from q.dtype = %s", dtype_name(v->dtype),
                    dtype_name(q->dtype));
    CHECK(check_dtype("out", out, cpu_inputs));
    if (lse != nullptr) CHECK(check_dtype("lse", lse, dtype_bit(ATTN4J_DTYPE_F32)));

    const int64_t B = q->shape[0], Hq = q->shape[1], Nq = q->shape[2], d = q->shape[3];
    const int64_t Hkv = k->shape[1], Nk = k->shape[2], dv = v->shape[3];
    if (d < 1 || d > 512)
        return fail(ATTN4J_STATUS_INVALID_SHAPE, "q.shape[3] = %lld: head dim must be in 1..512", static_cast<long long>(d));
    if (dv < 1 || dv > 512)
        return fail(ATTN4J_STATUS_INVALID_SHAPE, "v.shape[3] = %lld: head dim must be in 1..512", static_cast<long long>(dv));
    CHECK(check_dim("k", k, 0, B, "batch of q"));
    CHECK(check_dim("k", k, 3, d, "head dim of q"));
    CHECK(check_dim("v", v, 0, B, "batch of q"));
    CHECK(check_dim("v", v, 1, Hkv, "heads of k"));
    CHECK(check_dim("v", v, 2, Nk, "sequence length of k"));
    if (Hkv == 0 ? Hq != 0 : Hq % Hkv != 0)
        return fail(ATTN4J_STATUS_INVALID_SHAPE, "k.shape[1] = %lld does not divide q.shape[1] = %lld",
                    static_cast<long long>(Hkv), static_cast<long long>(Hq));
    CHECK(check_dim("out", out, 0, B, "batch of q"));
    CHECK(check_dim("out", out, 1, Hq, "heads of q"));
    CHECK(check_dim("out", out, 2, Nq, "sequence length of q"));
    CHECK(check_dim("out", out, 3, dv, "head dim of v"));
    if (lse != nullptr) {
        CHECK(check_dim("lse", lse, 0, B, "batch of q"));
        CHECK(check_dim("lse", lse, 1, Hq, "heads of q"));
        CHECK(check_dim("lse", lse, 2, Nq, "sequence length of q"));
        CHECK(check_dim("lse", lse, 3, 1, "one value per row"));
    }

    attn4j_flash_params defaults{0.0f, 0.0f, 0, -1, -1, 0};
    const attn4j_flash_params &pr = params != nullptr ? *params : defaults;
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

    CHECK(check_no_self_overlap("out", out));
    if (lse != nullptr) CHECK(check_no_self_overlap("lse", lse));
    CHECK(check_disjoint("out", out, "q", q));
    CHECK(check_disjoint("out", out, "k", k));
    CHECK(check_disjoint("out", out, "v", v));
    if (lse != nullptr) {
        CHECK(check_disjoint("lse", lse, "q", q));
        CHECK(check_disjoint("lse", lse, "k", k));
        CHECK(check_disjoint("lse", lse, "v", v));
        CHECK(check_disjoint("lse", lse, "out", out));
    }
    if (element_count(out) == 0) return ATTN4J_STATUS_OK;

    const cpu::FlashProblem p = make_flash_problem(q, k, v, out, lse, pr);
    if (!cpu::flash_forward(p)) return fail(ATTN4J_STATUS_OUT_OF_MEMORY, "out of memory in a worker thread");
    return ATTN4J_STATUS_OK;
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
    if (isa < ATTN4J_ISA_SCALAR || isa > ATTN4J_ISA_AVX512)
        return fail(ATTN4J_STATUS_INVALID_PARAM, "isa = %d is not an ATTN4J_ISA_* value", isa);
    if (!cpu::set_isa(static_cast<cpu::Isa>(isa)))
        return fail(ATTN4J_STATUS_UNSUPPORTED, "isa = %s is not supported by this CPU (best: %s)", cpu::isa_name(isa),
                    cpu::isa_name(static_cast<int32_t>(cpu::best_isa())));
    return ATTN4J_STATUS_OK;
}

const char *attn4j_isa_name(int32_t isa) { return cpu::isa_name(isa); }

int32_t attn4j_default_threads(void) { return default_threads(); }

int32_t attn4j_cuda_available(void) { return 0; }

int32_t attn4j_cuda_device_count(void) { return 0; }

int32_t attn4j_flash_forward(const attn4j_tensor *q, const attn4j_tensor *k, const attn4j_tensor *v,
                             const attn4j_tensor *out, const attn4j_tensor *lse, const attn4j_flash_params *params) {
    return guarded([&] { return flash_forward(q, k, v, out, lse, params); });
}

}  // extern "C"
