// An attn4j_kv_cache_append call after validation, the same for every backend: new K/V rows of each
// sequence and the page slots they go to (attn4j.h).
#pragma once
#include <cstdint>

#include "core/dtype.h"

namespace attn4j::core {

struct KvAppendProblem {
    void *k_pages, *v_pages;
    const void *k_new, *v_new;
    DType dtype;
    int64_t batch, heads, rows, dim, dim_v;  // rows: k_new.shape[2]
    int64_t skp[4], svp[4], skn[4], svn[4];  // element strides (zeros for an empty tensor)
    int64_t num_pages, page_size;            // page_size a power of two
    const int32_t *table;                    // [batch][table_stride]
    int64_t table_stride;
    const int32_t *cache_lens, *new_lens;    // [batch]; new_lens may be null (every row)
    int threads;
    int32_t device = -1;
    bool on_device = false;  // the arrays are device memory (unchecked: the kernel skips bad slots)
    void *stream = nullptr;

    int64_t new_rows(int64_t b) const { return new_lens != nullptr ? new_lens[b] : rows; }
};

}  // namespace attn4j::core
