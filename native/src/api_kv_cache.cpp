// attn4j_kv_cache_append: the checks (every slot written is inside the table and the pool, and no two
// rows share one), then the CPU or CUDA copy. A refused call writes nothing.
#include <algorithm>
#include <vector>

#include "api_checks.h"
#include "api_params.h"
#include "attn4j.h"
#include "cpu/kv_append.h"
#include "cuda/cuda_backend.h"
#include "fill_problem.h"

using namespace attn4j;

namespace {

// The pools [num_pages, Hkv, page_size, d / dv] and the new rows [B, Hkv, n, d / dv].
int32_t check_append_tensors(const attn4j_tensor *kp, const attn4j_tensor *vp, const attn4j_tensor *kn,
                             const attn4j_tensor *vn) {
    CHECK(check_tensor("k_pages", kp));
    CHECK(check_tensor("v_pages", vp));
    CHECK(check_tensor("k_new", kn));
    CHECK(check_tensor("v_new", vn));
    CHECK(check_same_device("v_pages", vp, kp));
    CHECK(check_same_device("k_new", kn, kp));
    CHECK(check_same_device("v_new", vn, kp));
    CHECK(check_dtype("k_pages", kp, storage_for(kp)));
    const struct {
        const char *name;
        const attn4j_tensor *t;
    } others[] = {{"v_pages", vp}, {"k_new", kn}, {"v_new", vn}};
    for (const auto &o : others)
        if (o.t->dtype != kp->dtype)
            return fail(ATTN4J_STATUS_INVALID_DTYPE, "%s.dtype = %s differs from k_pages.dtype = %s", o.name,
                        dtype_name(o.t->dtype), dtype_name(kp->dtype));
    const int64_t size = kp->shape[2];
    if (size <= 0 || (size & (size - 1)) != 0)
        return fail(ATTN4J_STATUS_INVALID_SHAPE, "k_pages.shape[2] = %lld: the page size must be a power of two",
                    static_cast<long long>(size));
    CHECK(check_dim("v_pages", vp, 0, kp->shape[0], "pages of k_pages"));
    CHECK(check_dim("v_pages", vp, 1, kp->shape[1], "heads of k_pages"));
    CHECK(check_dim("v_pages", vp, 2, size, "page size of k_pages"));
    CHECK(check_dim("k_new", kn, 1, kp->shape[1], "heads of k_pages"));
    CHECK(check_dim("k_new", kn, 3, kp->shape[3], "head dim of k_pages"));
    CHECK(check_dim("v_new", vn, 0, kn->shape[0], "batch of k_new"));
    CHECK(check_dim("v_new", vn, 1, kp->shape[1], "heads of k_pages"));
    CHECK(check_dim("v_new", vn, 2, kn->shape[2], "rows of k_new"));
    CHECK(check_dim("v_new", vn, 3, vp->shape[3], "head dim of v_pages"));
    CHECK(check_no_self_overlap("k_pages", kp));
    CHECK(check_no_self_overlap("v_pages", vp));
    CHECK(check_disjoint("k_pages", kp, "v_pages", vp));
    CHECK(check_disjoint("k_pages", kp, "k_new", kn));
    CHECK(check_disjoint("k_pages", kp, "v_new", vn));
    CHECK(check_disjoint("v_pages", vp, "k_new", kn));
    CHECK(check_disjoint("v_pages", vp, "v_new", vn));
    return ATTN4J_STATUS_OK;
}

// Host arrays: lengths in range, every written slot's table entry inside the pool, no slot written twice.
int32_t check_slots(const attn4j_kv_append_params &pr, int64_t batch, int64_t rows, int64_t num_pages, int64_t size) {
    const int64_t capacity = static_cast<int64_t>(pr.max_pages) * size;
    std::vector<int64_t> slots;
    for (int64_t b = 0; b < batch; ++b) {
        const int64_t start = pr.cache_lens[b], n = pr.new_lens != nullptr ? pr.new_lens[b] : rows;
        if (start < 0)
            return fail(ATTN4J_STATUS_INVALID_PARAM, "params.cache_lens[%lld] = %lld is negative", static_cast<long long>(b),
                        static_cast<long long>(start));
        if (n < 0 || n > rows)
            return fail(ATTN4J_STATUS_INVALID_PARAM, "params.new_lens[%lld] = %lld must be in 0..%lld (k_new.shape[2])",
                        static_cast<long long>(b), static_cast<long long>(n), static_cast<long long>(rows));
        if (start + n > capacity)
            return fail(ATTN4J_STATUS_INVALID_PARAM,
                        "sequence %lld: params.cache_lens[%lld] + %lld new rows = %lld exceeds the table's capacity "
                        "(params.max_pages x page size = %lld)",
                        static_cast<long long>(b), static_cast<long long>(b), static_cast<long long>(n),
                        static_cast<long long>(start + n), static_cast<long long>(capacity));
        for (int64_t i = start / size; i * size < start + n; ++i) {
            const int64_t at = b * pr.max_pages + i;
            const int32_t page = pr.block_table[at];
            if (page < 0 || page >= num_pages)
                return fail(ATTN4J_STATUS_INVALID_PARAM,
                            "params.block_table[%lld] = %d (sequence %lld, page %lld) is outside the pool of "
                            "k_pages.shape[0] = %lld pages",
                            static_cast<long long>(at), page, static_cast<long long>(b), static_cast<long long>(i),
                            static_cast<long long>(num_pages));
        }
        for (int64_t pos = start; pos < start + n; ++pos)
            slots.push_back(pr.block_table[b * pr.max_pages + pos / size] * size + pos % size);
    }
    std::sort(slots.begin(), slots.end());
    const auto twice = std::adjacent_find(slots.begin(), slots.end());
    if (twice != slots.end())
        return fail(ATTN4J_STATUS_INVALID_PARAM,
                    "params.block_table: row %lld of page %lld would be written twice (a page shared by sequences where "
                    "this call writes)",
                    static_cast<long long>(*twice % size), static_cast<long long>(*twice / size));
    return ATTN4J_STATUS_OK;
}

int32_t kv_cache_append(const attn4j_tensor *kp, const attn4j_tensor *vp, const attn4j_tensor *kn,
                        const attn4j_tensor *vn, const attn4j_kv_append_params *params) {
    CHECK(check_append_tensors(kp, vp, kn, vn));
    attn4j_kv_append_params pr;
    CHECK(read_params(params, pr));
    if (pr.num_threads < 0)
        return fail(ATTN4J_STATUS_INVALID_PARAM, "params.num_threads = %d must be >= 0 (0 = default)", pr.num_threads);
    if (pr.max_pages < 0) return fail(ATTN4J_STATUS_INVALID_PARAM, "params.max_pages = %d is negative", pr.max_pages);
    const int64_t batch = kn->shape[0];
    if (batch > 0 && pr.block_table == nullptr) return fail(ATTN4J_STATUS_NULL_ARGUMENT, "params.block_table is NULL");
    if (batch > 0 && pr.cache_lens == nullptr) return fail(ATTN4J_STATUS_NULL_ARGUMENT, "params.cache_lens is NULL");
    bool on_device = false;
    if (kp->device != ATTN4J_DEVICE_HOST) {
        const struct {
            const char *name;
            const int32_t *a;
        } arrays[] = {{"block_table", pr.block_table}, {"cache_lens", pr.cache_lens}, {"new_lens", pr.new_lens}};
        int32_t first = -2;
        for (const auto &x : arrays) {
            if (x.a == nullptr) continue;
            const int32_t at = cuda::memory_device(x.a);
            if (at != ATTN4J_DEVICE_HOST && at != kp->device)
                return fail(ATTN4J_STATUS_INVALID_DEVICE, "params.%s is memory of CUDA device %d, the pools are on device %d",
                            x.name, at, kp->device);
            if (first != -2 && at != first)
                return fail(ATTN4J_STATUS_INVALID_DEVICE, "params.%s is %s memory unlike params.block_table: use one place",
                            x.name, at == ATTN4J_DEVICE_HOST ? "host" : "device");
            first = at;
        }
        on_device = first >= 0;
    }
    if (!on_device && batch > 0) CHECK(check_slots(pr, batch, kn->shape[2], kp->shape[0], kp->shape[2]));
    if (element_count(kn) == 0 && element_count(vn) == 0) return ATTN4J_STATUS_OK;
    core::KvAppendProblem p = make_kv_append_problem(kp, vp, kn, vn, pr);
    p.on_device = on_device;
    return p.device == ATTN4J_DEVICE_HOST ? cpu_status(cpu::kv_append(p)) : cuda::kv_append(p);
}

}  // namespace

extern "C" {

int32_t attn4j_kv_append_params_init(attn4j_kv_append_params *p) { return init_params(p); }

int32_t attn4j_kv_cache_append(const attn4j_tensor *k_pages, const attn4j_tensor *v_pages, const attn4j_tensor *k_new,
                               const attn4j_tensor *v_new, const attn4j_kv_append_params *params) {
    return guarded([&] { return kv_cache_append(k_pages, v_pages, k_new, v_new, params); });
}

}  // extern "C"
