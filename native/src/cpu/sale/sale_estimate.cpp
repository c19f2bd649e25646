// SALE's estimation pass: quantization, the block-by-block Relative Attention Score, the mask.
// The integer dot products run in the ISA kernels (cpu/<isa>/sale_rowmax_<isa>.cpp); this file is
// baseline code. Math and choices: cpu/sale/sale.h.
#include <algorithm>
#include <climits>
#include <cmath>
#include <cstring>
#include <limits>

#include "common/thread_pool.h"
#include "cpu/element.h"
#include "cpu/isa.h"
#include "cpu/kernels.h"
#include "cpu/sale/sale.h"

namespace attn4j::cpu {

namespace {

constexpr int kLevels = 7;  // symmetric 4-bit: [-7, 7], so the unsigned form q + 8 fits a nibble

// x / scale rounded into [-7, 7]; non-finite values (NaN, or Inf over an Inf scale) count as 0.
int quantize(float x, float inv_scale) {
    float v = x * inv_scale;
    if (!(v == v)) v = 0.0f;
    v = std::min(std::max(v, -static_cast<float>(kLevels)), static_cast<float>(kLevels));
    return static_cast<int>(v + (v >= 0.0f ? 0.5f : -0.5f));  // half away from zero, no libm call
}

float scale_for(float max_abs) { return max_abs > 0.0f && std::isfinite(max_abs) ? max_abs / kLevels : 0.0f; }

int64_t round4(int64_t d) { return (d + 3) / 4 * 4; }

// The current ISA's estimation kernel (cpu/kernels.h), on AMX tiles where the table has them and allowed.
SaleRowmaxFn rowmax_kernel(int64_t dp) {
    const CpuKernels &k = kernels();
    return k.sale_rowmax_amx != nullptr && amx() && dp % 64 == 0 ? k.sale_rowmax_amx : k.sale_rowmax;
}

// Rows [i0, i0 + rows) of the queries as unsigned bytes (Qq + 8), dp per row.
void unpack_queries(const QuantizedQueries &q, int64_t i0, int64_t rows, uint8_t *qu) {
    const int64_t half = q.dp / 2;
    for (int64_t r = 0; r < rows; ++r) {
        const uint8_t *src = q.packed.data() + (i0 + r) * half;
        uint8_t *dst = qu + r * q.dp;
        for (int64_t t = 0; t < half; ++t) {
            dst[t] = src[t] & 15;
            dst[t + half] = src[t] >> 4;
        }
    }
}

// Per task: the queries' bytes, one key block's bytes, the kernel's per-row inputs and outputs.
struct BlockScorer {
    const FlashProblem &p;
    const QuantizedQueries &q;
    const QuantizedKeys &k;
    int64_t i0, rows;
    SaleRowmaxFn kernel;
    std::vector<uint8_t> qu;
    std::vector<int8_t> kt;
    std::vector<int32_t> valid, imax;
    std::vector<float> row_scale;  // q.scale * p.scale per row
    bool valid_full = false;       // `valid` holds block_k for every row (interior blocks)

    BlockScorer(const FlashProblem &p_, const QuantizedQueries &q_, const QuantizedKeys &k_, int64_t i0_, int64_t rows_)
        : p(p_), q(q_), k(k_), i0(i0_), rows(rows_), kernel(rowmax_kernel(q_.dp)),
          qu(static_cast<size_t>((rows_ + 15) / 16 * 16 * q_.dp)),  // whole 16-row tiles for AMX
          kt(static_cast<size_t>(k_.dp * k_.block_k)), valid(static_cast<size_t>(rows_)), imax(static_cast<size_t>(rows_)),
          row_scale(static_cast<size_t>(rows_)) {
        unpack_queries(q, i0, rows, qu.data());
        for (int64_t r = 0; r < rows; ++r) row_scale[r] = q.scale[i0 + r] * p.scale;
    }

    void scores(int64_t kb, float *__restrict out) {
        const int64_t j0 = kb * k.block_k;
        if (p.key_hi(i0) >= j0 + k.block_k && p.key_lo(i0 + rows - 1) <= j0) {
            // Interior block: the first row already sees all of it (later rows see more).
            if (!valid_full) std::fill(valid.begin(), valid.end(), static_cast<int32_t>(k.block_k));
            valid_full = true;
        } else {
            valid_full = false;
            for (int64_t r = 0; r < rows; ++r) {
                const int64_t lo = p.key_lo(i0 + r), hi = std::min(p.key_hi(i0 + r), j0 + k.block_k);
                // SALE has no left window, so a row's visible keys in the block are a prefix of it.
                valid[r] = static_cast<int32_t>(lo <= j0 ? std::max<int64_t>(hi - j0, 0) : 0);
            }
        }
        kernel(qu.data(), rows, q.dp, k.packed.data() + kb * k.block_bytes(), kt.data(), k.block_k, k.corr.data() + j0, valid.data(), imax.data());
        const float neg_inf = -std::numeric_limits<float>::infinity(), ks = k.scale[kb];
        const int32_t *__restrict im = imax.data();
        const float *__restrict rs = row_scale.data();
        for (int64_t r = 0; r < rows; ++r) out[r] = im[r] == INT32_MIN ? neg_inf : static_cast<float>(im[r]) * rs[r] * ks;
    }
};

void set_bit(uint8_t *row, int64_t kb) { row[kb >> 3] = static_cast<uint8_t>(row[kb >> 3] | (1u << (kb & 7))); }

struct EstimateTask {
    const FlashProblem *p;
    const SaleConfig *c;
    const BlockMask *m;
    const std::vector<QuantizedQueries> *q;
    const std::vector<QuantizedKeys> *k;
};

void estimate_row(const EstimateTask &t, int64_t b, int64_t h, int64_t qb) {
    const FlashProblem &p = *t.p;
    const BlockMask &m = *t.m;
    const SaleConfig &c = *t.c;
    const int64_t end = sale_visible_blocks(p, m, qb);
    if (m.row_bytes == 0) return;  // no keys: an empty row (and perhaps no bitmap at all)
    uint8_t *row = const_cast<uint8_t *>(m.row(b, h, qb));
    std::memset(row, 0, static_cast<size_t>(m.row_bytes));
    const float tau = c.tau[h];
    if (end == 0) return;
    if (tau <= 0.0f) {  // dense: every visible block
        for (int64_t kb = 0; kb < end; ++kb) set_bit(row, kb);
        return;
    }
    const int64_t i0 = qb * m.block_q, rows = std::min(m.block_q, p.len_q - i0);
    const int64_t hkv = h / (p.heads_q / p.heads_kv);
    BlockScorer scorer(p, (*t.q)[b * p.heads_q + h], (*t.k)[b * p.heads_kv + hkv], i0, rows);
    const float neg_inf = -std::numeric_limits<float>::infinity();
    std::vector<float> run_max(static_cast<size_t>(rows), neg_inf), est(static_cast<size_t>(rows));
    const float log_tau = std::log(tau);

    float *__restrict e = est.data(), *__restrict rm = run_max.data();
    auto visit = [&](int64_t kb, bool always) {
        scorer.scores(kb, e);
        int keep = always;
        for (int64_t r = 0; r < rows; ++r) {  // branch-free, so it vectorizes
            keep |= e[r] > rm[r] + log_tau;
            rm[r] = std::max(rm[r], e[r]);
        }
        if (keep) set_bit(row, kb);
    };
    // The diagonal block holds the last row's own position (clamped for non-causal problems).
    const int64_t last = std::min(i0 + rows - 1 + p.offset(), p.len_k - 1);
    const int64_t diag = std::min(std::max<int64_t>(last, 0) / m.block_k, end - 1);
    const int64_t local_lo = std::max<int64_t>(diag - c.local_blocks + 1, 0);
    const int64_t sinks = std::min(c.sink_blocks, local_lo);
    for (int64_t kb = diag; kb >= local_lo; --kb) visit(kb, true);
    for (int64_t kb = 0; kb < sinks; ++kb) visit(kb, true);
    for (int64_t kb = local_lo - 1; kb >= sinks; --kb) visit(kb, false);
    for (int64_t kb = diag + 1; kb < end; ++kb) visit(kb, false);  // non-causal: right of the diagonal
}

}  // namespace

int QuantizedKeys::k_int(int64_t j, int64_t e) const {
    const int64_t kb = j / block_k, c = j % block_k, idx = (e / 4) * 4 * block_k + 4 * c + e % 4;
    const int64_t half = block_bytes();
    const uint8_t byte = packed[static_cast<size_t>(kb * half + idx % half)];
    return (idx < half ? byte & 15 : byte >> 4) - 8;
}

int QuantizedQueries::q_int(int64_t i, int64_t e) const {
    const int64_t half = dp / 2;
    const uint8_t byte = packed[static_cast<size_t>(i * half + e % half)];
    return (e < half ? byte & 15 : byte >> 4) - 8;
}

namespace {

// Rows and blocks per parallel task of the quantization pass.
constexpr int64_t kQueryRowsPerTask = 256;
constexpr int64_t kKeyBlocksPerTask = 4;

void prepare_keys(const FlashProblem &p, int64_t block_k, QuantizedKeys &out) {
    out.len = p.len_k;
    out.dp = round4(p.dim);
    out.block_k = block_k;
    out.blocks = (p.len_k + block_k - 1) / block_k;
    out.packed.assign(static_cast<size_t>(out.blocks * out.block_bytes()), 0x88);  // zeros
    out.scale.assign(static_cast<size_t>(out.blocks), 0.0f);
    out.corr.assign(static_cast<size_t>(out.blocks * block_k), 0);
}

// Sum over keys [j0, j1) of a kv head, per dimension, in fp64 (into `sum`).
void key_sum(const FlashProblem &p, int64_t b, int64_t hkv, int64_t j0, int64_t j1, double *sum) {
    const int64_t d = p.dim, chunk = 64;
    const void *base = advance(p.k, p.in_dtype, b * p.sk[0] + hkv * p.sk[1]);
    std::vector<float> rows(static_cast<size_t>(chunk * d));
    for (int64_t j = j0; j < j1; j += chunk) {
        const int64_t cols = std::min(chunk, j1 - j);
        load_tile(advance(base, p.in_dtype, j * p.sk[2]), p.in_dtype, cols, d, p.sk[2], p.sk[3], rows.data());
        for (int64_t c = 0; c < cols; ++c)
            for (int64_t e = 0; e < d; ++e) sum[e] += rows[c * d + e];
    }
}

// Sums of one kv head's keys over ranges of kKeyBlocksPerTask blocks (range c into partial + c * d),
// the ranges [c0, c1): parallel callers split the ranges, and every caller adds them up in one order.
void key_partial_sums(const FlashProblem &p, int64_t b, int64_t hkv, int64_t block_k, int64_t c0, int64_t c1,
                      double *partial) {
    const int64_t keys = kKeyBlocksPerTask * block_k;
    for (int64_t c = c0; c < c1; ++c) key_sum(p, b, hkv, c * keys, std::min(p.len_k, (c + 1) * keys), partial + c * p.dim);
}

// The per-dimension mean of the keys (the smoothing shift) from the range sums, in range order.
std::vector<double> mean_of(const FlashProblem &p, const double *partial, int64_t ranges) {
    std::vector<double> mean(static_cast<size_t>(p.dim), 0.0);
    for (int64_t c = 0; c < ranges; ++c)
        for (int64_t e = 0; e < p.dim; ++e) mean[e] += partial[c * p.dim + e];
    for (auto &x : mean) x /= static_cast<double>(p.len_k);
    return mean;
}

// Key blocks [kb0, kb1) of a kv head, smoothed by `mean`.
void quantize_key_blocks(const FlashProblem &p, int64_t b, int64_t hkv, const std::vector<double> &mean, int64_t kb0,
                         int64_t kb1, QuantizedKeys &out) {
    const int64_t n = p.len_k, d = p.dim, block_k = out.block_k, half = out.block_bytes();
    const void *base = advance(p.k, p.in_dtype, b * p.sk[0] + hkv * p.sk[1]);
    std::vector<float> rows(static_cast<size_t>(block_k * d)), shift(mean.begin(), mean.end());
    for (int64_t kb = kb0; kb < kb1; ++kb) {
        const int64_t j0 = kb * block_k, cols = std::min(block_k, n - j0);
        load_tile(advance(base, p.in_dtype, j0 * p.sk[2]), p.in_dtype, cols, d, p.sk[2], p.sk[3], rows.data());
        float max_abs = 0.0f;
        for (int64_t c = 0; c < cols; ++c)
            for (int64_t e = 0; e < d; ++e) {
                rows[c * d + e] -= shift[e];
                max_abs = std::max(max_abs, std::fabs(rows[c * d + e]));
            }
        const float sc = scale_for(max_abs);
        out.scale[kb] = sc;
        const float inv = sc > 0.0f ? 1.0f / sc : 0.0f;
        uint8_t *dst = out.packed.data() + kb * half;
        for (int64_t c = 0; c < cols; ++c) {
            int32_t sum = 0;
            for (int64_t e = 0; e < d; ++e) {
                const int v = quantize(rows[c * d + e], inv);
                sum += v;
                const int64_t idx = (e / 4) * 4 * block_k + 4 * c + e % 4;
                uint8_t &byte = dst[idx % half];
                const uint8_t nib = static_cast<uint8_t>(v + 8);
                byte = idx < half ? static_cast<uint8_t>((byte & 0xF0) | nib) : static_cast<uint8_t>((byte & 0x0F) | (nib << 4));
            }
            out.corr[j0 + c] = 8 * sum;
        }
    }
}

void prepare_queries(const FlashProblem &p, QuantizedQueries &out) {
    out.len = p.len_q;
    out.dp = round4(p.dim);
    out.packed.assign(static_cast<size_t>(p.len_q * out.dp / 2), 0x88);
    out.scale.assign(static_cast<size_t>(p.len_q), 0.0f);
}

// Query rows [i0, i1) of a head.
void quantize_query_rows(const FlashProblem &p, int64_t b, int64_t hq, int64_t i0, int64_t i1, QuantizedQueries &out) {
    const int64_t d = p.dim, half = out.dp / 2;
    const void *base = advance(p.q, p.in_dtype, b * p.sq[0] + hq * p.sq[1]);
    std::vector<float> row(static_cast<size_t>(d));
    for (int64_t i = i0; i < i1; ++i) {
        load_tile(advance(base, p.in_dtype, i * p.sq[2]), p.in_dtype, 1, d, 0, p.sq[3], row.data());
        float max_abs = 0.0f;
        for (float x : row) max_abs = std::max(max_abs, std::fabs(x));
        const float s = scale_for(max_abs), inv = s > 0.0f ? 1.0f / s : 0.0f;
        out.scale[i] = s;
        uint8_t *dst = out.packed.data() + i * half;
        for (int64_t e = 0; e < d; ++e) {
            const uint8_t nib = static_cast<uint8_t>(quantize(row[e], inv) + 8);
            uint8_t &byte = dst[e % half];
            byte = e < half ? static_cast<uint8_t>((byte & 0xF0) | nib) : static_cast<uint8_t>((byte & 0x0F) | (nib << 4));
        }
    }
}

// Quantizes every head's queries and keys, in parallel over row and block ranges (one head's work
// alone would leave most threads idle on single-head calls).
bool quantize_all(const FlashProblem &p, int64_t block_k, std::vector<QuantizedQueries> &q, std::vector<QuantizedKeys> &k) {
    const int64_t nq = p.batch * p.heads_q, nk = p.batch * p.heads_kv;
    for (auto &x : q) prepare_queries(p, x);
    for (auto &x : k) prepare_keys(p, block_k, x);
    // Key means from sums over ranges of keys (in parallel), then the quantization of every range.
    const int64_t k_chunks = k.empty() ? 0 : (k[0].blocks + kKeyBlocksPerTask - 1) / kKeyBlocksPerTask;
    std::vector<double> partial(static_cast<size_t>(nk * k_chunks * p.dim), 0.0);
    if (!parallel_for(nk * k_chunks, p.threads, [&](int64_t t) {
            const int64_t h = t / k_chunks, c = t % k_chunks;
            key_partial_sums(p, h / p.heads_kv, h % p.heads_kv, block_k, c, c + 1, partial.data() + h * k_chunks * p.dim);
        }))
        return false;
    std::vector<std::vector<double>> means(static_cast<size_t>(nk));
    for (int64_t h = 0; h < nk; ++h) means[h] = mean_of(p, partial.data() + h * k_chunks * p.dim, k_chunks);
    const int64_t q_chunks = (p.len_q + kQueryRowsPerTask - 1) / kQueryRowsPerTask;
    return parallel_for(nq * q_chunks + nk * k_chunks, p.threads, [&](int64_t t) {
        if (t < nq * q_chunks) {
            const int64_t h = t / q_chunks, c = t % q_chunks;
            quantize_query_rows(p, h / p.heads_q, h % p.heads_q, c * kQueryRowsPerTask,
                                std::min(p.len_q, (c + 1) * kQueryRowsPerTask), q[h]);
        } else {
            const int64_t u = t - nq * q_chunks, h = u / k_chunks, c = u % k_chunks;
            quantize_key_blocks(p, h / p.heads_kv, h % p.heads_kv, means[h], c * kKeyBlocksPerTask,
                                std::min(k[h].blocks, (c + 1) * kKeyBlocksPerTask), k[h]);
        }
    });
}

}  // namespace

void quantize_keys(const FlashProblem &p, int64_t b, int64_t hkv, int64_t block_k, QuantizedKeys &out) {
    prepare_keys(p, block_k, out);
    const int64_t ranges = (out.blocks + kKeyBlocksPerTask - 1) / kKeyBlocksPerTask;
    std::vector<double> partial(static_cast<size_t>(ranges * p.dim), 0.0);
    key_partial_sums(p, b, hkv, block_k, 0, ranges, partial.data());  // as quantize_all does, in one thread
    quantize_key_blocks(p, b, hkv, mean_of(p, partial.data(), ranges), 0, out.blocks, out);
}

void quantize_queries(const FlashProblem &p, int64_t b, int64_t hq, QuantizedQueries &out) {
    prepare_queries(p, out);
    quantize_query_rows(p, b, hq, 0, p.len_q, out);
}

void sale_block_scores(const FlashProblem &p, const QuantizedQueries &q, const QuantizedKeys &k, int64_t qb,
                       int64_t block_q, int64_t kb, float *rowmax) {
    const int64_t i0 = qb * block_q;
    BlockScorer scorer(p, q, k, i0, std::min(block_q, p.len_q - i0));
    scorer.scores(kb, rowmax);
}

bool sale_estimate(const FlashProblem &p, const SaleConfig &c, const BlockMask &m) {
    std::vector<QuantizedQueries> q(static_cast<size_t>(p.batch * p.heads_q));
    std::vector<QuantizedKeys> k(static_cast<size_t>(p.batch * p.heads_kv));
    bool dense = true;
    for (int64_t h = 0; h < p.heads_q; ++h) dense = dense && c.tau[h] <= 0.0f;
    if (!dense && !quantize_all(p, c.block_k, q, k)) return false;
    EstimateTask task{&p, &c, &m, &q, &k};
    const int64_t rows = p.batch * p.heads_q * m.q_blocks;
    const int64_t bh_count = p.batch * p.heads_q;
    // Longest rows (latest query blocks) first: causal rows grow with qb.
    return parallel_for(rows, p.threads, [&](int64_t t) {
        const int64_t qb = m.q_blocks - 1 - t / bh_count, bh = t % bh_count;
        estimate_row(task, bh / p.heads_q, bh % p.heads_q, qb);
    });
}

}  // namespace attn4j::cpu
