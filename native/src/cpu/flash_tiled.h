// The tiled FlashAttention body shared by the SIMD kernels; each ISA's .cpp includes it with its own
// vector traits T (width, registers, exp2) and is compiled for that ISA. Everything here
// has internal linkage so no code built for a wide ISA leaks into baseline code.
//
// Per task: one query tile Qi (kFlashTileRows rows of one (batch, head)) against one key range.
//   Q' = scale * Qi                                   (packed once, fp32)
//   for each key tile j (T::BK keys, only those some row of the tile can see):
//     Kt = Kj^T packed (for dense prefill once per head, before the query tiles, since every query
//     tile reads every K tile), V = Vj packed (fp32, bf16 widened while packing)
//     S = Q' Kt                                        (register-blocked micro-kernel)
//     softcap, mask (only on tiles that straddle a mask edge)
//     m' = max(m, rowmax S);  P = exp2(log2e * (S - m'))
//     l = exp(m - m') l + rowsum P;  acc = exp(m - m') acc + P V;  m = m'
//   out = acc / l, lse = m + log l   (or m, l, acc to the partial buffer when keys are split)
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "common/bf16.h"
#include "common/thread_pool.h"
#include "cpu/flash.h"
#include "cpu/scratch.h"
#include "cpu/simd_kernels.h"

namespace attn4j::cpu {
namespace {

template <class T>
struct FlashTiled {
    using G = SimdKernels<T>;
    using V = typename T::V;
    static constexpr int W = T::W;
    static constexpr int64_t BQ = kFlashTileRows;
    static constexpr int64_t BK = T::BK;
    static constexpr float kLog2e = 1.4426950408889634f;

    // Asks for the next key tile's K and V rows (into L2: a whole tile would not fit L1) while this
    // one computes: they come from L3 or memory, and the loads would otherwise wait on each miss.
    // Rows whose elements are not adjacent are left to the loads: their span can be huge.
    static void prefetch_tile(const FlashProblem &p, int64_t b, int64_t hk, int64_t j0, int64_t hi) {
        if (j0 >= hi) return;
        const int64_t cols = p.key_run_end(j0, BK < hi - j0 ? j0 + BK : hi) - j0;
        const int64_t es = p.in_dtype == DType::F32 ? 4 : 2;
        const int64_t k_bytes = p.sk[3] == 1 ? p.dim * es : 0, v_bytes = p.sv[3] == 1 ? p.dim_v * es : 0;
        const char *kbase = static_cast<const char *>(p.k) + p.key_offset(p.sk, b, hk, j0) * es;
        const char *vbase = static_cast<const char *>(p.v) + p.key_offset(p.sv, b, hk, j0) * es;
        for (int64_t c = 0; c < cols; ++c) {
            const char *kr = kbase + c * p.sk[2] * es;
            const char *vr = vbase + c * p.sv[2] * es;
            for (int64_t x = 0; x < k_bytes; x += 64) __builtin_prefetch(kr + x, 0, 2);
            for (int64_t x = 0; x < v_bytes; x += 64) __builtin_prefetch(vr + x, 0, 2);
        }
    }

    // Decode-shaped tiles (a few query rows) read K rows where they are, one dot product per key:
    // transposing K for so few rows would cost more than it saves, and the pass is memory-bound.
    static constexpr int64_t kDirectRows = 4;

    static void scores_direct(const float *q, int64_t rows, int64_t d, const void *ktile, DType t, int64_t rs,
                              int64_t cols, int64_t cols_pad, float *s) {
        for (int64_t c = 0; c < cols; ++c) {
            V acc[kDirectRows];
            for (int64_t r = 0; r < rows; ++r) acc[r] = T::zero();
            int64_t e = 0;
            for (; e + W <= d; e += W) {
                const V kv = t == DType::F32 ? T::load(static_cast<const float *>(ktile) + c * rs + e)
                                             : T::load_bf16(static_cast<const uint16_t *>(ktile) + c * rs + e);
                for (int64_t r = 0; r < rows; ++r) acc[r] = T::fmadd(T::load(q + r * d + e), kv, acc[r]);
            }
            for (int64_t r = 0; r < rows; ++r) {
                float dot = T::hsum(acc[r]);
                for (int64_t x = e; x < d; ++x) dot += q[r * d + x] * G::load1(ktile, t, c * rs + x);
                s[r * BK + c] = dot;
            }
        }
        for (int64_t r = 0; r < rows; ++r)
            for (int64_t c = cols; c < cols_pad; ++c) s[r * BK + c] = 0.0f;
    }

    // acc[r] += sum over c < cols of s[r][c] V[c], V rows read where they are (element stride 1, dv a
    // multiple of W), NV vectors of a row at a time: each V row is read once per query row, in order.
    template <int NV>
    static void pv_direct_block(const float *s, int64_t rows, int64_t cols, const void *vtile, DType t, int64_t rs,
                                int64_t e0, float *acc, int64_t dvp) {
        for (int64_t r = 0; r < rows; ++r) {
            V a[NV];
            for (int v = 0; v < NV; ++v) a[v] = T::load(acc + r * dvp + e0 + v * W);
            for (int64_t c = 0; c < cols; ++c) {
                const V pc = T::set1(s[r * BK + c]);
                if (t == DType::F32) {
                    const float *vr = static_cast<const float *>(vtile) + c * rs + e0;
                    for (int v = 0; v < NV; ++v) a[v] = T::fmadd(pc, T::load(vr + v * W), a[v]);
                } else {
                    const uint16_t *vr = static_cast<const uint16_t *>(vtile) + c * rs + e0;
                    for (int v = 0; v < NV; ++v) a[v] = T::fmadd(pc, T::load_bf16(vr + v * W), a[v]);
                }
            }
            for (int v = 0; v < NV; ++v) T::store(acc + r * dvp + e0 + v * W, a[v]);
        }
    }

    static void pv_direct(const float *s, int64_t rows, int64_t cols, const void *vtile, DType t, int64_t rs,
                          int64_t dv, float *acc, int64_t dvp) {
        int64_t e0 = 0;
        for (; e0 + 8 * W <= dv; e0 += 8 * W) pv_direct_block<8>(s, rows, cols, vtile, t, rs, e0, acc, dvp);
        for (; e0 + 4 * W <= dv; e0 += 4 * W) pv_direct_block<4>(s, rows, cols, vtile, t, rs, e0, acc, dvp);
        for (; e0 < dv; e0 += W) pv_direct_block<1>(s, rows, cols, vtile, t, rs, e0, acc, dvp);
    }

    // One problem of a pass (the whole call, or one sequence of a batch of different lengths).
    struct Part {
        const FlashProblem *p;
        int64_t tiles;        // query tiles
        int64_t first;        // its first task of the pass
        int64_t first_pack;   // its first K^T packing task (pack_once), or its end when not packed
        // K^T of every key tile, [B][Hkv][key tiles][d][BK] fp32 or [(d + 1) / 2][BK] bf16 pairs (as
        // uint32); null: packed per tile
        float *kt_all;
    };

    struct Task {
        const Part *parts;
        int64_t count;
        const FlashPlan *plan;
    };

    // The part whose tasks [first, next part's first) hold task t.
    static const Part &part_of(const Task &task, int64_t t, int64_t Part::*first) {
        int64_t lo = 0, hi = task.count - 1;
        while (lo < hi) {
            const int64_t mid = (lo + hi + 1) / 2;
            if (task.parts[mid].*first <= t) lo = mid;
            else hi = mid - 1;
        }
        return task.parts[lo];
    }

    // Elements (4 bytes each) of one packed K^T tile.
    static int64_t kt_tile_elems(const FlashProblem &p, bool pairs) { return (pairs ? (p.dim + 1) / 2 : p.dim) * BK; }
    static bool uses_pairs(const FlashProblem &p, const FlashPlan &plan) {
        return T::kBf16Dot && plan.bf16_dot && p.in_dtype == DType::BF16;
    }

    // Prefill without a left window or a block mask walks key tiles at multiples of BK from 0, every
    // query tile all of them: K^T is packed once per (batch, kv head), not once per query tile.
    // (Paged keys: where whole tiles fit in a page.)
    static bool pack_once(const FlashProblem &p, const FlashPlan &plan, int64_t query_tiles) {
        return p.mask == nullptr && p.window_left < 0 && plan.splits == 1 && query_tiles > 1 && p.len_q > kDirectRows &&
               p.len_k > 0 && (p.pages.table == nullptr || p.pages.size % BK == 0);
    }

    static int64_t key_tiles(const FlashProblem &p) { return (p.len_k + BK - 1) / BK; }

    static void pack_task(void *ctx, int64_t t) {
        const Task &task = *static_cast<const Task *>(ctx);
        const Part &part = part_of(task, t, &Part::first_pack);
        const FlashProblem &p = *part.p;
        const bool pairs = uses_pairs(p, *task.plan);
        const int64_t local = t - part.first_pack, kts = key_tiles(p);
        const int64_t tile = local % kts, bh = local / kts;
        const int64_t b = bh / p.heads_kv, hk = bh % p.heads_kv;
        const int64_t j0 = tile * BK, cols = BK < p.len_k - j0 ? BK : p.len_k - j0;
        const void *ktile = G::advance(p.k, p.in_dtype, p.key_offset(p.sk, b, hk, j0));
        float *dst = part.kt_all + local * kt_tile_elems(p, pairs);
        if (pairs) {
            G::pack_kt_pairs(static_cast<const uint16_t *>(ktile), cols, G::round_up(cols, W), p.dim, p.sk[2], p.sk[3],
                             reinterpret_cast<uint32_t *>(dst), BK);
        } else {
            G::pack_kt(ktile, p.in_dtype, cols, G::round_up(cols, W), p.dim, p.sk[2], p.sk[3], dst, BK);
        }
    }

    static void run_task(void *ctx, int64_t t) {
        const Task &task = *static_cast<const Task *>(ctx);
        const Part &part = part_of(task, t, &Part::first);
        const FlashProblem &p = *part.p;
        t -= part.first;
        const int64_t splits = task.plan->splits;
        if (p.mask != nullptr) {  // block-sparse: the mask's order (never split)
            const int64_t id = p.mask->order != nullptr ? p.mask->order[t] : t;
            const int64_t bh = id / part.tiles;
            query_tile(p, *task.plan, bh / p.heads_q, bh % p.heads_q, (id % part.tiles) * p.mask->block_q, 0, nullptr);
            return;
        }
        const int64_t bh_count = p.batch * p.heads_q;
        // Largest tiles first (causal rows grow with the tile index), then heads, then key splits.
        const int64_t split = t % splits;
        const int64_t rest = t / splits;
        const int64_t bh = rest % bh_count;
        const int64_t tile = part.tiles - 1 - rest / bh_count;
        const int64_t b = bh / p.heads_q, hq = bh % p.heads_q;
        const float *kt_head = nullptr;
        if (part.kt_all != nullptr) {
            const int64_t hk = hq / (p.heads_q / p.heads_kv);
            kt_head = part.kt_all + (b * p.heads_kv + hk) * key_tiles(p) * kt_tile_elems(p, uses_pairs(p, *task.plan));
        }
        query_tile(p, *task.plan, b, hq, tile * BQ, split, kt_head);
    }

    // kt_head: this head's K^T tiles packed beforehand (tiles at multiples of BK), or null.
    static void query_tile(const FlashProblem &p, const FlashPlan &plan, int64_t b, int64_t hq, int64_t i0,
                           int64_t split, const float *kt_head) {
        const int64_t d = p.dim, dv = p.dim_v, dvp = G::round_up(dv, W);
        const int64_t hk = hq / (p.heads_q / p.heads_kv);
        const int64_t tq = tile_rows(p, BQ);  // <= BQ: the scratch holds BQ rows
        const int64_t rows = tq < p.len_q - i0 ? tq : p.len_q - i0;
        const float neg_inf = -std::numeric_limits<float>::infinity();
        // bf16 storage on an ISA with a bf16 dot product: both products run on bf16 pairs.
        const bool pairs = uses_pairs(p, plan);
        const int64_t dp = (d + 1) / 2;  // pairs along the head dim

        // Keys any row of this tile can see, cut to this task's share when keys are split.
        int64_t lo = p.key_lo(i0), hi = p.key_hi(i0 + rows - 1);
        if (plan.splits > 1) {
            const int64_t per = G::round_up((p.len_k + plan.splits - 1) / plan.splits, BK);
            lo = lo > split * per ? lo : split * per;
            hi = hi < (split + 1) * per ? hi : (split + 1) * per;
        }

        float *q = thread_scratch(static_cast<size_t>(BQ * d + d * BK + BK * dvp + BQ * BK + BQ * dvp + 2 * BQ + BQ * BK / 2));
        float *kt = q + BQ * d;
        float *vt = kt + d * BK;
        float *s = vt + BK * dvp;
        float *acc = s + BQ * BK;
        float *m = acc + BQ * dvp;
        float *l = m + BQ;
        uint32_t *p16 = reinterpret_cast<uint32_t *>(l + BQ);  // P as bf16 pairs [BQ][BK / 2]
        uint32_t *q16 = reinterpret_cast<uint32_t *>(q), *kt16 = reinterpret_cast<uint32_t *>(kt);
        uint32_t *vt16 = reinterpret_cast<uint32_t *>(vt);

        const void *qbase = G::advance(p.q, p.in_dtype, b * p.sq[0] + hq * p.sq[1] + i0 * p.sq[2]);
        if (pairs) {
            G::pack_pairs(static_cast<const uint16_t *>(qbase), rows, d, p.sq[2], p.sq[3], q16, dp);
        } else {
            G::pack_rows(qbase, p.in_dtype, rows, d, p.sq[2], p.sq[3], p.scale, q, d);
        }
        // The fp32 path folds the scale into Q; the bf16 path keeps Q exact and scales the scores.
        const float score_scale = pairs ? p.scale : 1.0f;
        for (int64_t r = 0; r < rows; ++r) {
            m[r] = neg_inf;
            l[r] = 0.0f;
        }
        for (int64_t x = 0; x < rows * dvp; ++x) acc[x] = 0.0f;

        const bool v_in_place = p.in_dtype == DType::F32 && p.sv[3] == 1 && dv == dvp;
        for_each_key_tile(p, b, hq, i0, lo, hi, BK, [&](int64_t j0, int64_t j1) {
            const int64_t cols = j1 - j0;
            const int64_t cols_pad = G::round_up(cols, W);
            const void *ktile = G::advance(p.k, p.in_dtype, p.key_offset(p.sk, b, hk, j0));
            const void *vtile = G::advance(p.v, p.in_dtype, p.key_offset(p.sv, b, hk, j0));
            // (Decode-shaped tiles stream K and V once, in order: the hardware prefetchers do better there
            // alone, measured.)
            const bool direct = rows <= kDirectRows;
            if (!direct) prefetch_tile(p, b, hk, j1, hi);
            // This tile's K^T packed beforehand (columns past cols hold real keys there, masked below).
            const float *kt_packed = kt_head != nullptr ? kt_head + (j0 / BK) * kt_tile_elems(p, pairs) : nullptr;
            if (pairs) {
                const uint32_t *kt_pairs = kt16;
                if (kt_packed != nullptr) {
                    kt_pairs = reinterpret_cast<const uint32_t *>(kt_packed);
                } else {
                    G::pack_kt_pairs(static_cast<const uint16_t *>(ktile), cols, cols_pad, d, p.sk[2], p.sk[3], kt16, BK);
                }
                G::gemm_pairs(rows, cols_pad, dp, q16, dp, kt_pairs, BK, s, BK, false);
            } else if (direct && p.sk[3] == 1) {
                scores_direct(q, rows, d, ktile, p.in_dtype, p.sk[2], cols, cols_pad, s);
            } else if (kt_packed != nullptr) {
                G::gemm(rows, cols_pad, d, q, d, kt_packed, BK, s, BK, false);
            } else {
                G::pack_kt(ktile, p.in_dtype, cols, cols_pad, d, p.sk[2], p.sk[3], kt, BK);
                G::gemm(rows, cols_pad, d, q, d, kt, BK, s, BK, false);
            }

            // Does any row of the tile see only part of [j0, j0 + cols_pad)?
            const bool edge = cols_pad != cols || p.key_lo(i0 + rows - 1) > j0 || p.key_hi(i0) < j0 + cols;
            for (int64_t r = 0; r < rows; ++r) {
                float *sr = s + r * BK;
                if (score_scale != 1.0f) {
                    const V sc = T::set1(score_scale);
                    for (int64_t c = 0; c < cols_pad; c += W) T::store(sr + c, T::mul(T::load(sr + c), sc));
                }
                if (p.softcap > 0.0f)
                    for (int64_t c = 0; c < cols; ++c) sr[c] = p.softcap * std::tanh(sr[c] / p.softcap);
                if (edge) {
                    const int64_t rlo = p.key_lo(i0 + r) - j0, rhi = p.key_hi(i0 + r) - j0;
                    for (int64_t c = 0; c < cols_pad; ++c)
                        if (c < rlo || c >= rhi || c >= cols) sr[c] = neg_inf;
                }
                V vmax = T::set1(neg_inf);
                for (int64_t c = 0; c < cols_pad; c += W) vmax = T::max(vmax, T::load(sr + c));
                const float mx = T::hmax(vmax);
                if (mx == neg_inf) {  // this row sees nothing here: P = 0, state unchanged
                    for (int64_t c = 0; c < cols; ++c)
                        if (sr[c] != sr[c]) l[r] = sr[c];  // unless a score is NaN: that must reach out
                    for (int64_t c = 0; c < cols_pad; ++c) sr[c] = 0.0f;
                    if (pairs) G::to_pairs(sr, cols_pad, p16 + r * (BK / 2));
                    continue;
                }
                const float m_new = m[r] > mx ? m[r] : mx;
                const float alpha = std::exp(m[r] - m_new);
                const V shift = T::set1(-m_new * kLog2e), l2e = T::set1(kLog2e);
                V vsum = T::zero();
                for (int64_t c = 0; c < cols_pad; c += W) {
                    const V e = T::exp2(T::fmadd(T::load(sr + c), l2e, shift));
                    T::store(sr + c, e);
                    vsum = T::add(vsum, e);
                }
                if (pairs) G::to_pairs(sr, cols_pad, p16 + r * (BK / 2));
                l[r] = alpha * l[r] + T::hsum(vsum);
                m[r] = m_new;
                if (alpha != 1.0f) {
                    const V a = T::set1(alpha);
                    float *ar = acc + r * dvp;
                    for (int64_t e = 0; e < dvp; e += W) T::store(ar + e, T::mul(T::load(ar + e), a));
                }
            }
            if (pairs) {
                const int64_t cp = (cols + 1) / 2;
                G::pack_v_pairs(static_cast<const uint16_t *>(vtile), cols, dv, dvp, p.sv[2], p.sv[3], vt16);
                G::gemm_pairs(rows, dvp, cp, p16, BK / 2, vt16, dvp, acc, dvp, true);
            } else if (direct && p.sv[3] == 1 && dv % W == 0) {
                pv_direct(s, rows, cols, vtile, p.in_dtype, p.sv[2], dv, acc, dvp);
            } else if (v_in_place) {
                // fp32 V rows that are already dense vectors are read where they are.
                G::gemm(rows, dvp, cols, s, BK, static_cast<const float *>(vtile), p.sv[2], acc, dvp, true);
            } else {
                G::pack_rows(vtile, p.in_dtype, cols, dv, p.sv[2], p.sv[3], 1.0f, vt, dvp);
                G::gemm(rows, dvp, cols, s, BK, vt, dvp, acc, dvp, true);
            }
        });

        if (plan.splits > 1) {
            for (int64_t r = 0; r < rows; ++r) {
                float *dst = plan.partial + (((b * p.heads_q + hq) * p.len_q + i0 + r) * plan.splits + split) * (2 + dv);
                dst[0] = m[r];
                dst[1] = l[r];
                std::memcpy(dst + 2, acc + r * dvp, static_cast<size_t>(dv) * sizeof(float));
            }
            return;
        }
        void *obase = G::advance(p.out, p.out_dtype, b * p.so[0] + hq * p.so[1] + i0 * p.so[2]);
        for (int64_t r = 0; r < rows; ++r) {
            if (p.hidden_infinity(i0 + r, l[r])) l[r] = std::numeric_limits<float>::quiet_NaN();
            const bool empty = l[r] == 0.0f;
            const float inv = empty ? 0.0f : 1.0f / l[r];
            const float *ar = acc + r * dvp;
            if (p.out_dtype == DType::F32) {
                float *o = static_cast<float *>(obase) + r * p.so[2];
                for (int64_t e = 0; e < dv; ++e) o[e * p.so[3]] = ar[e] * inv;
            } else {
                uint16_t *o = static_cast<uint16_t *>(obase) + r * p.so[2];
                for (int64_t e = 0; e < dv; ++e) o[e * p.so[3]] = f32_to_bf16(ar[e] * inv);
            }
            if (p.lse != nullptr)
                p.lse[b * p.sl[0] + hq * p.sl[1] + (i0 + r) * p.sl[2]] = empty ? neg_inf : m[r] + std::log(l[r]);
        }
    }

    // Every query tile of the plan's parts (or of p alone) in one parallel pass, after packing K^T
    // once per head where every query tile reads all of it.
    static bool run(const FlashProblem &p, const FlashPlan &plan) {
        const FlashProblem *problems = plan.part_count > 0 ? plan.parts : &p;
        const int64_t count = plan.part_count > 0 ? plan.part_count : 1;
        std::vector<Part> parts(static_cast<size_t>(count));
        int64_t tasks = 0, packs = 0, kt_elems = 0;
        for (int64_t i = 0; i < count; ++i) {
            const FlashProblem &q = problems[i];
            Part &part = parts[i];
            part.p = &q;
            part.tiles = (q.len_q + tile_rows(q, BQ) - 1) / tile_rows(q, BQ);
            part.first = tasks;
            part.first_pack = packs;
            tasks += part.tiles * q.batch * q.heads_q * plan.splits;
            if (pack_once(q, plan, part.tiles)) {
                packs += q.batch * q.heads_kv * key_tiles(q);
                kt_elems += q.batch * q.heads_kv * key_tiles(q) * kt_tile_elems(q, uses_pairs(q, plan));
            }
        }
        std::vector<float> kt_all(static_cast<size_t>(kt_elems));
        for (int64_t i = 0, at = 0; i < count; ++i) {
            const int64_t end = i + 1 < count ? parts[i + 1].first_pack : packs;
            if (end == parts[i].first_pack) continue;
            parts[i].kt_all = kt_all.data() + at;
            at += (end - parts[i].first_pack) * kt_tile_elems(*parts[i].p, uses_pairs(*parts[i].p, plan));
        }
        Task task{parts.data(), count, &plan};
        if (packs > 0 && !parallel_for(packs, p.threads, &pack_task, &task)) return false;
        return parallel_for(tasks, p.threads, &run_task, &task);
    }
};

}  // namespace
}  // namespace attn4j::cpu
