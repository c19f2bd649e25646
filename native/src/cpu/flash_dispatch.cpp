// FlashAttention on the CPU: the current ISA's kernel (cpu/kernels.h); for tiled kernels the plan:
// key splits for decode-shaped problems (few query rows, long keys), merged by their LSE afterwards.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "common/bf16.h"
#include "common/thread_pool.h"
#include "core/sequence_parts.h"
#include "cpu/flash.h"
#include "cpu/isa.h"
#include "cpu/kernels.h"

namespace attn4j::cpu {

namespace {

constexpr int64_t kMinKeysPerSplit = 512;

// Enough tasks to keep every thread busy (two per thread): split the keys when the query tiles alone
// would leave threads idle and there are enough keys to be worth it.
int64_t plan_splits(const FlashProblem &p) {
    const int64_t tiles = (p.len_q + kFlashTileRows - 1) / kFlashTileRows;  // dense only
    const int64_t tasks = p.batch * p.heads_q * tiles;
    const int64_t wanted = 2 * static_cast<int64_t>(p.threads);
    if (tasks >= wanted || p.threads <= 1 || p.mask != nullptr) return 1;
    int64_t splits = (wanted + tasks - 1) / tasks;
    const int64_t by_len = p.len_k / kMinKeysPerSplit;
    if (splits > by_len) splits = by_len;
    return splits < 1 ? 1 : splits;
}

// out[row] = sum_s exp(m_s - M) acc_s / sum_s exp(m_s - M) l_s, with M = max_s m_s.
void merge_splits(const FlashProblem &p, const FlashPlan &plan) {
    const int64_t dv = p.dim_v, S = plan.splits, rows = p.batch * p.heads_q * p.len_q;
    const float neg_inf = -std::numeric_limits<float>::infinity();
    parallel_for(rows, p.threads, [&](int64_t row) {
        const float *part = plan.partial + row * S * (2 + dv);
        float M = neg_inf;
        for (int64_t s = 0; s < S; ++s) M = std::max(M, part[s * (2 + dv)]);
        const int64_t i = row % p.len_q, bh = row / p.len_q, b = bh / p.heads_q, h = bh % p.heads_q;
        float L = 0.0f;
        float o[512];
        std::fill(o, o + dv, 0.0f);
        if (M != neg_inf) {
            for (int64_t s = 0; s < S; ++s) {
                const float *ps = part + s * (2 + dv);
                if (ps[0] == neg_inf) continue;
                const float w = std::exp(ps[0] - M);
                L += w * ps[1];
                for (int64_t e = 0; e < dv; ++e) o[e] += w * ps[2 + e];
            }
        }
        if (p.hidden_infinity(i, L)) L = std::numeric_limits<float>::quiet_NaN();
        const float inv = L == 0.0f ? 0.0f : 1.0f / L;
        const int64_t base = b * p.so[0] + h * p.so[1] + i * p.so[2];
        for (int64_t e = 0; e < dv; ++e) {
            const float x = o[e] * inv;
            if (p.out_dtype == DType::F32) static_cast<float *>(p.out)[base + e * p.so[3]] = x;
            else static_cast<uint16_t *>(p.out)[base + e * p.so[3]] = f32_to_bf16(x);
        }
        if (p.lse != nullptr)
            p.lse[b * p.sl[0] + h * p.sl[1] + i * p.sl[2]] = L == 0.0f ? neg_inf : M + std::log(L);
    });
}

bool run_tiled(const FlashProblem &problem, FlashTiledFn kernel) {
    FlashProblem p = problem;
    const double flops = 2.0 * p.batch * p.heads_q * p.len_q * p.len_k * (p.dim + p.dim_v);
    if (flops < kMinParallelFlops) p.threads = 1;
    FlashPlan plan;
    plan.splits = plan_splits(p);
    plan.bf16_dot = bf16_dot();
    if (plan.splits == 1) return kernel(p, plan);
    std::vector<float> partial(static_cast<size_t>(p.batch * p.heads_q * p.len_q * plan.splits * (2 + p.dim_v)));
    plan.partial = partial.data();
    if (!kernel(p, plan)) return false;
    merge_splits(p, plan);
    return true;
}

// Sequences of different lengths: every sequence's tiles in one parallel pass (a kernel that plans for
// itself takes them one by one).
bool run_sequences(const FlashProblem &problem, FlashTiledFn kernel, FlashFn plain) {
    std::vector<FlashProblem> parts;
    for (const core::SequencePart &s : core::sequence_parts(problem)) parts.push_back(s.problem);
    // Longest first, so a long sequence's tiles start early and short ones fill in around them.
    std::stable_sort(parts.begin(), parts.end(), [](const FlashProblem &a, const FlashProblem &b) {
        return a.len_q * a.len_k > b.len_q * b.len_k;
    });
    double flops = 0;
    for (const FlashProblem &s : parts) flops += 2.0 * s.heads_q * s.len_q * s.len_k * (s.dim + s.dim_v);
    FlashProblem p = problem;
    if (flops < kMinParallelFlops) p.threads = 1;
    // Too few query tiles for the threads (decode of a small batch): each sequence alone, its keys split.
    int64_t tasks = 0;
    for (const FlashProblem &s : parts) tasks += s.heads_q * ((s.len_q + kFlashTileRows - 1) / kFlashTileRows);
    if (kernel != nullptr && p.threads > 1 && tasks < 2 * static_cast<int64_t>(p.threads)) {
        for (const FlashProblem &s : parts)
            if (!run_tiled(s, kernel)) return false;
        return true;
    }
    if (kernel == nullptr) {
        for (const FlashProblem &s : parts)
            if (!plain(s)) return false;
        return true;
    }
    if (parts.empty()) return true;
    FlashPlan plan;
    plan.bf16_dot = bf16_dot();
    plan.parts = parts.data();
    plan.part_count = static_cast<int64_t>(parts.size());
    return kernel(p, plan);
}

}  // namespace

bool flash_forward(const FlashProblem &p) {
    const CpuKernels &k = kernels();
    if (p.seqs.any()) return run_sequences(p, k.flash_tiled, k.flash);
    return k.flash_tiled != nullptr ? run_tiled(p, k.flash_tiled) : k.flash(p);
}

}  // namespace attn4j::cpu
