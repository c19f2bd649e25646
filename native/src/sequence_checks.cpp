#include "sequence_checks.h"

#include "api_checks.h"

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
                        core::Sequences &seqs) {
    seqs = core::Sequences{};
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
    if (q->device != ATTN4J_DEVICE_HOST)
        return fail(ATTN4J_STATUS_UNSUPPORTED, "sequence lengths with tensors on CUDA device %d: not supported",
                    q->device);
    seqs.q_lens = pr.q_lens;
    seqs.kv_lens = pr.kv_lens;
    seqs.q_starts = pr.q_starts;
    seqs.kv_starts = pr.kv_starts;
    seqs.cu_q = pr.cu_seqlens_q;
    seqs.cu_k = pr.cu_seqlens_k;
    seqs.num_seqs = pr.num_seqs;
    if (padded) {
        const int64_t batch = q->shape[0];
        CHECK(check_ranges("q_lens", pr.q_lens, "q_starts", pr.q_starts, batch, q->shape[2],
                                  "the sequence length of q", seqs.max_q));
        CHECK(check_ranges("kv_lens", pr.kv_lens, "kv_starts", pr.kv_starts, batch, k->shape[2],
                                  "the sequence length of k", seqs.max_k));
    } else {
        if (q->shape[0] != 1 || k->shape[0] != 1)
            return fail(ATTN4J_STATUS_INVALID_SHAPE,
                        "%s.shape[0] = %lld: the packed form (params.num_seqs > 0) takes one batch entry holding every "
                        "sequence",
                        q->shape[0] != 1 ? "q" : "k", static_cast<long long>(q->shape[0] != 1 ? q->shape[0] : k->shape[0]));
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
