// attn4j_kv_cache_append on the CPU: each (sequence, kv head)'s new rows copied to their page slots.
#include "cpu/kv_append.h"

#include <cstring>

#include "common/thread_pool.h"

namespace attn4j::cpu {

bool kv_append(const core::KvAppendProblem &p) {
    const int64_t es = p.dtype == core::DType::F32 ? 4 : 2;
    auto copy_row = [es](void *dst, const int64_t *sd, const void *src, const int64_t *ss, int64_t n) {
        char *d = static_cast<char *>(dst);
        const char *s = static_cast<const char *>(src);
        if (sd[3] == 1 && ss[3] == 1) {
            std::memcpy(d, s, static_cast<size_t>(n * es));
            return;
        }
        for (int64_t e = 0; e < n; ++e) std::memcpy(d + e * sd[3] * es, s + e * ss[3] * es, static_cast<size_t>(es));
    };
    return parallel_for(p.batch * p.heads, p.threads, [&](int64_t bh) {
        const int64_t b = bh / p.heads, h = bh % p.heads;
        for (int64_t i = 0; i < p.new_rows(b); ++i) {
            const int64_t pos = p.cache_lens[b] + i;
            const int64_t page = p.table[b * p.table_stride + pos / p.page_size], row = pos % p.page_size;
            char *kd = static_cast<char *>(p.k_pages) + (page * p.skp[0] + h * p.skp[1] + row * p.skp[2]) * es;
            char *vd = static_cast<char *>(p.v_pages) + (page * p.svp[0] + h * p.svp[1] + row * p.svp[2]) * es;
            const char *ks = static_cast<const char *>(p.k_new) + (b * p.skn[0] + h * p.skn[1] + i * p.skn[2]) * es;
            const char *vs = static_cast<const char *>(p.v_new) + (b * p.svn[0] + h * p.svn[1] + i * p.svn[2]) * es;
            copy_row(kd, p.skp, ks, p.skn, p.dim);
            copy_row(vd, p.svp, vs, p.svn, p.dim_v);
        }
    });
}

}  // namespace attn4j::cpu
