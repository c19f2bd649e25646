#include "sequence_checks.h"

#include <climits>

#include "api_checks.h"
#include "cuda/cuda_backend.h"

namespace attn4j {

namespace {

// Padded form: each entry's [start, start + len) inside [0, n) along one dim.
int32_t check_ranges(const char *lens_name, const int32_t *lens, const char *starts_name, const int32_t *starts,
                     int64_t batch, int64_t n, const char *what, int64_t &longest) {
    longest = 0;
    for (int64_t b = 0; b < batch; ++b) {
        const int64_t start = starts != nullptr ? starts[b] : 0, len = lens != nullptr ? lens[b] : n - start;
        if (lens != nullptr && len < 0)
            return fail(ATTN4J_STATUS_INVALID_PARAM, "params.%s[%lld] = %lld is negative", lens_name,
                        static_cast<long long>(b), static_cast<long long>(len));
        if (start < 0)
            return fail(ATTN4J_STATUS_INVALID_PARAM, "params.%s[%lld] = %lld is negative", starts_name,
                        static_cast<long long>(b), static_cast<long long>(start));
        if (start > n)
            return fail(ATTN4J_STATUS_INVALID_PARAM, "params.%s[%lld] = %lld exceeds %lld (%s)", starts_name,
                        static_cast<long long>(b), static_cast<long long>(start), static_cast<long long>(n), what);
        if (start + len > n) {
            if (starts == nullptr)
                return fail(ATTN4J_STATUS_INVALID_PARAM, "params.%s[%lld] = %lld exceeds %lld (%s)", lens_name,
                            static_cast<long long>(b), static_cast<long long>(len), static_cast<long long>(n), what);
            return fail(ATTN4J_STATUS_INVALID_PARAM, "params.%s[%lld] + %s[%lld] = %lld exceeds %lld (%s)", starts_name,
                        static_cast<long long>(b), lens_name, static_cast<long long>(b),
                        static_cast<long long>(start + len), static_cast<long long>(n), what);
        }
        if (len > longest) longest = len;
    }
    return ATTN4J_STATUS_OK;
}

int32_t check_longest(const char *name, int32_t given, int64_t longest) {
    if (given < 0) return fail(ATTN4J_STATUS_INVALID_PARAM, "params.%s = %d is negative", name, given);
    if (given != 0 && given < longest)
        return fail(ATTN4J_STATUS_INVALID_PARAM, "params.%s = %d is less than the longest sequence (%lld)", name, given,
                    static_cast<long long>(longest));
    return ATTN4J_STATUS_OK;
}

// The packed form's single batch entry.
int32_t check_one_entry(const attn4j_tensor *q, const attn4j_tensor *k) {
    if (q->shape[0] == 1 && k->shape[0] == 1) return ATTN4J_STATUS_OK;
    return fail(ATTN4J_STATUS_INVALID_SHAPE,
                "%s.shape[0] = %lld: the packed form (params.num_seqs > 0) takes one batch entry holding every sequence",
                q->shape[0] != 1 ? "q" : "k", static_cast<long long>(q->shape[0] != 1 ? q->shape[0] : k->shape[0]));
}

// CUDA tensors take their length arrays all in host memory or all in the tensors' device memory (host
// memory only where host_only names the caller).
int32_t check_array_devices(const attn4j_flash_params &pr, int32_t device, const char *host_only, bool &on_device) {
    const struct {
        const char *name;
        const int32_t *a;
    } arrays[] = {{"q_lens", pr.q_lens},         {"kv_lens", pr.kv_lens},         {"q_starts", pr.q_starts},
                  {"kv_starts", pr.kv_starts}, {"cu_seqlens_q", pr.cu_seqlens_q}, {"cu_seqlens_k", pr.cu_seqlens_k},
                  {"block_table", pr.block_table}};
    const char *first = nullptr;
    int32_t where = ATTN4J_DEVICE_HOST;
    for (const auto &x : arrays) {
        if (x.a == nullptr) continue;
        const int32_t at = cuda::memory_device(x.a);
        if (at != ATTN4J_DEVICE_HOST && at != device)
            return fail(ATTN4J_STATUS_INVALID_DEVICE, "params.%s is memory of CUDA device %d, the tensors are on device %d",
                        x.name, at, device);
        if (at != ATTN4J_DEVICE_HOST && host_only != nullptr)
            return fail(ATTN4J_STATUS_UNSUPPORTED,
                        "params.%s is device memory: %s take sequence lengths in host memory in this version", x.name,
                        host_only);
        if (first == nullptr) {
            first = x.name;
            where = at;
        } else if (at != where) {
            return fail(ATTN4J_STATUS_INVALID_DEVICE, "params.%s is %s memory but params.%s is %s memory: use one place",
                        x.name, at == ATTN4J_DEVICE_HOST ? "host" : "device", first,
                        where == ATTN4J_DEVICE_HOST ? "host" : "device");
        }
    }
    on_device = where != ATTN4J_DEVICE_HOST;
    return ATTN4J_STATUS_OK;
}

// How far sequence keys may reach: k's length, or a paged cache's table capacity.
struct KeyExtent {
    const attn4j_tensor *k;
    int64_t n;
    const char *what;  // for messages
};

bool power_of_two(int64_t x) { return x > 0 && (x & (x - 1)) == 0; }

// A paged cache's rules that need no array contents; fills `pages`.
int32_t check_page_layout(const attn4j_tensor *q, const attn4j_tensor *k, const attn4j_flash_params &pr,
                          core::KeyPages &pages) {
    if (pr.max_pages < 0) return fail(ATTN4J_STATUS_INVALID_PARAM, "params.max_pages = %d is negative", pr.max_pages);
    if (pr.kv_lens == nullptr)
        return fail(ATTN4J_STATUS_NULL_ARGUMENT, "params.kv_lens is NULL: a paged cache (params.block_table) needs "
                                                 "each sequence's cached keys");
    if (pr.num_seqs != 0 || pr.cu_seqlens_q || pr.cu_seqlens_k)
        return fail(ATTN4J_STATUS_INVALID_PARAM,
                    "params.num_seqs = %d / cu_seqlens with params.block_table: a paged cache takes the padded form",
                    pr.num_seqs);
    if (pr.kv_starts != nullptr || pr.q_starts != nullptr)
        return fail(ATTN4J_STATUS_INVALID_PARAM, "params.%s is set with params.block_table: paged sequences start at 0",
                    pr.kv_starts != nullptr ? "kv_starts" : "q_starts");
    if (!power_of_two(k->shape[2]))
        return fail(ATTN4J_STATUS_INVALID_SHAPE, "k.shape[2] = %lld: the page size of a paged cache must be a power of two",
                    static_cast<long long>(k->shape[2]));
    if (static_cast<int64_t>(pr.max_pages) * k->shape[2] > INT32_MAX)
        return fail(ATTN4J_STATUS_INVALID_PARAM, "params.max_pages x page size = %lld exceeds 2^31 - 1 keys",
                    static_cast<long long>(static_cast<int64_t>(pr.max_pages) * k->shape[2]));
    (void)q;
    pages.table = pr.block_table;
    pages.stride = pr.max_pages;
    pages.size = k->shape[2];
    pages.count = k->shape[0];
    return ATTN4J_STATUS_OK;
}

// The table entries of every cached key (host arrays, kv_lens checked) inside the pool of k.shape[0] pages.
int32_t check_page_entries(const attn4j_tensor *k, const attn4j_flash_params &pr, int64_t batch) {
    const int64_t size = k->shape[2];
    for (int64_t b = 0; b < batch; ++b)
        for (int64_t i = 0; i * size < pr.kv_lens[b]; ++i) {
            const int32_t page = pr.block_table[b * pr.max_pages + i];
            if (page < 0 || page >= k->shape[0])
                return fail(ATTN4J_STATUS_INVALID_PARAM,
                            "params.block_table[%lld] = %d (sequence %lld, page %lld) is outside the pool of k.shape[0] = "
                            "%lld pages",
                            static_cast<long long>(b * pr.max_pages + i), page, static_cast<long long>(b),
                            static_cast<long long>(i), static_cast<long long>(k->shape[0]));
        }
    return ATTN4J_STATUS_OK;
}

// Device arrays cannot be read here without a synchronization: what the host can check is checked,
// and the kernels clamp every range to the tensors (attn4j.h). The grid needs the longest sequence.
int32_t check_device_arrays(const attn4j_tensor *q, const KeyExtent &keys, const attn4j_flash_params &pr, bool padded,
                            core::Sequences &seqs) {
    if (pr.max_seqlen_q < 0 || pr.max_seqlen_k < 0)
        return fail(ATTN4J_STATUS_INVALID_PARAM, "params.max_seqlen_%s = %d is negative", pr.max_seqlen_q < 0 ? "q" : "k",
                    pr.max_seqlen_q < 0 ? pr.max_seqlen_q : pr.max_seqlen_k);
    if (pr.max_seqlen_q > q->shape[2])
        return fail(ATTN4J_STATUS_INVALID_PARAM, "params.max_seqlen_q = %d exceeds q.shape[2] (%lld)", pr.max_seqlen_q,
                    static_cast<long long>(q->shape[2]));
    if (pr.max_seqlen_k > keys.n)
        return fail(ATTN4J_STATUS_INVALID_PARAM, "params.max_seqlen_k = %d exceeds %s (%lld)", pr.max_seqlen_k, keys.what,
                    static_cast<long long>(keys.n));
    seqs.max_k = pr.max_seqlen_k > 0 ? pr.max_seqlen_k : keys.n;
    if (padded) {  // (the longest valid rows only pick the kernel here: the grid covers every row)
        seqs.max_q = pr.max_seqlen_q > 0 ? pr.max_seqlen_q : q->shape[2];
        return ATTN4J_STATUS_OK;
    }
    CHECK(check_one_entry(q, keys.k));
    if (pr.cu_seqlens_q == nullptr || pr.cu_seqlens_k == nullptr)
        return fail(ATTN4J_STATUS_NULL_ARGUMENT, "params.%s is NULL but params.num_seqs > 0",
                    pr.cu_seqlens_q == nullptr ? "cu_seqlens_q" : "cu_seqlens_k");
    if (pr.max_seqlen_q == 0 && q->shape[2] > 0)
        return fail(ATTN4J_STATUS_INVALID_PARAM,
                    "params.max_seqlen_q = 0 with device arrays: give the longest sequence's query rows (the grid is "
                    "sized from it)");
    seqs.max_q = pr.max_seqlen_q;
    return ATTN4J_STATUS_OK;
}

}  // namespace

int32_t check_prefix_sums(const char *name, const int32_t *cu, int64_t seqs, int64_t total, const char *what,
                          int64_t &longest) {
    if (cu == nullptr) return fail(ATTN4J_STATUS_NULL_ARGUMENT, "params.%s is NULL but params.num_seqs > 0", name);
    if (cu[0] != 0) return fail(ATTN4J_STATUS_INVALID_PARAM, "params.%s[0] = %d must be 0", name, cu[0]);
    longest = 0;
    for (int64_t b = 0; b < seqs; ++b) {
        if (cu[b + 1] < cu[b])
            return fail(ATTN4J_STATUS_INVALID_PARAM, "params.%s[%lld] = %d is less than params.%s[%lld] = %d", name,
                        static_cast<long long>(b + 1), cu[b + 1], name, static_cast<long long>(b), cu[b]);
        if (cu[b + 1] - cu[b] > longest) longest = cu[b + 1] - cu[b];
    }
    if (cu[seqs] != total)
        return fail(ATTN4J_STATUS_INVALID_PARAM, "params.%s[%lld] = %d must equal %lld (%s)", name,
                    static_cast<long long>(seqs), cu[seqs], static_cast<long long>(total), what);
    return ATTN4J_STATUS_OK;
}

int32_t check_sequences(const attn4j_tensor *q, const attn4j_tensor *k, const attn4j_flash_params &pr,
                        core::Sequences &seqs, const char *host_only, core::KeyPages *pages) {
    seqs = core::Sequences{};
    KeyExtent keys{k, k->shape[2], "the sequence length of k"};
    if (pr.block_table != nullptr) {
        if (pages == nullptr)
            return fail(ATTN4J_STATUS_UNSUPPORTED, "params.block_table: %s take no paged cache",
                        host_only != nullptr ? host_only : "these kernels");
        CHECK(check_page_layout(q, k, pr, *pages));
        keys = {k, static_cast<int64_t>(pr.max_pages) * k->shape[2], "the table's capacity, max_pages x page size"};
    } else if (pr.max_pages != 0) {
        return fail(ATTN4J_STATUS_INVALID_PARAM, "params.max_pages = %d is set without params.block_table", pr.max_pages);
    }
    const bool padded = pr.q_lens || pr.kv_lens || pr.q_starts || pr.kv_starts;
    if (pr.num_seqs < 0) return fail(ATTN4J_STATUS_INVALID_PARAM, "params.num_seqs = %d is negative", pr.num_seqs);
    if (pr.num_seqs == 0 && (pr.cu_seqlens_q || pr.cu_seqlens_k))
        return fail(ATTN4J_STATUS_INVALID_PARAM, "params.cu_seqlens_%s is set but params.num_seqs = 0",
                    pr.cu_seqlens_q ? "q" : "k");
    if (!padded && pr.num_seqs == 0) {
        if (pr.max_seqlen_q != 0 || pr.max_seqlen_k != 0)
            return fail(ATTN4J_STATUS_INVALID_PARAM, "params.max_seqlen_%s is set without sequence lengths",
                        pr.max_seqlen_q != 0 ? "q" : "k");
        return ATTN4J_STATUS_OK;
    }
    if (padded && pr.num_seqs > 0)
        return fail(ATTN4J_STATUS_INVALID_PARAM,
                    "params.num_seqs = %d (packed form) with padded-form lengths or starts: use one form", pr.num_seqs);
    if (q->device != ATTN4J_DEVICE_HOST) CHECK(check_array_devices(pr, q->device, host_only, seqs.on_device));
    seqs.q_lens = pr.q_lens;
    seqs.kv_lens = pr.kv_lens;
    seqs.q_starts = pr.q_starts;
    seqs.kv_starts = pr.kv_starts;
    seqs.cu_q = pr.cu_seqlens_q;
    seqs.cu_k = pr.cu_seqlens_k;
    seqs.num_seqs = pr.num_seqs;
    if (seqs.on_device) return check_device_arrays(q, keys, pr, padded, seqs);
    if (padded) {
        const int64_t batch = q->shape[0];
        CHECK(check_ranges("q_lens", pr.q_lens, "q_starts", pr.q_starts, batch, q->shape[2],
                                  "the sequence length of q", seqs.max_q));
        CHECK(check_ranges("kv_lens", pr.kv_lens, "kv_starts", pr.kv_starts, batch, keys.n, keys.what, seqs.max_k));
        if (pr.block_table != nullptr) CHECK(check_page_entries(k, pr, batch));
    } else {
        CHECK(check_one_entry(q, k));
        CHECK(check_prefix_sums("cu_seqlens_q", pr.cu_seqlens_q, pr.num_seqs, q->shape[2],
                                       "the total query rows, q.shape[2]", seqs.max_q));
        CHECK(check_prefix_sums("cu_seqlens_k", pr.cu_seqlens_k, pr.num_seqs, k->shape[2],
                                       "the total keys, k.shape[2]", seqs.max_k));
    }
    CHECK(check_longest("max_seqlen_q", pr.max_seqlen_q, seqs.max_q));
    CHECK(check_longest("max_seqlen_k", pr.max_seqlen_k, seqs.max_k));
    return ATTN4J_STATUS_OK;
}

}  // namespace attn4j
