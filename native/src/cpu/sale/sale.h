// SALE (arXiv 2505.24179): a cheap 4-bit estimate of Q K^T picks the (query block, key block) pairs
// worth computing, then FlashAttention runs over those blocks only.
//
// Estimation, per head (choices fixed here where the paper leaves room; see each file):
//   K' = K - mean_j K_j               (smoothing: a per-row shift of every score, softmax ignores it)
//   Kq = round(K' / sk_B) in [-7, 7]  sk_B = max |K'| over key block B / 7     (one scale per block)
//   Qq = round(Q / sq_i)  in [-7, 7]  sq_i = max |Q_i| / 7                     (one scale per token)
//   s~_ij = scale * sq_i * sk_B * (Qq_i . Kq_j)                                (integer dot products)
//   Relative Attention Score of block B for row i: exp(max_{j in B} s~_ij - m_i), m_i the running
//   row maximum over the blocks estimated before B. Block (qb, B) is kept when the score exceeds the
//   head's threshold tau for some row of qb, i.e. max_j s~_ij > m_i + ln(tau).
// Order: sink and local blocks first (always kept; they set m_i), then the rest nearest first, so
// m_i is close to the true row maximum early. tau = 0 keeps every visible block (dense).
#pragma once
#include <cstdint>
#include <vector>

#include "core/sale_problem.h"
#include "cpu/flash.h"

namespace attn4j::cpu {

using core::sale_mask_bytes;
using core::sale_mask_layout;
using core::sale_visible_blocks;
using core::SaleConfig;
using core::SaleProblem;

// SALE on the host: estimation into `mask` (its layout; null bits: a mask of its own), then the
// block-sparse pass. Returns false when a worker ran out of memory.
bool sale_forward(const SaleProblem &p, const BlockMask &mask, double *density);

// Writes the mask (every row of it). Returns false when a worker ran out of memory.
bool sale_estimate(const FlashProblem &p, const SaleConfig &c, const BlockMask &m);

// FlashAttention over the blocks set in p.mask's bitmap (order computed here). Returns the
// fraction of visible blocks computed through `density` (may be null).
bool block_sparse_forward(const FlashProblem &p, double *density);

// Per head h of q: the largest tau on the grid t0, t0/2, ... (down to 1e-4, then 0) whose output has
// relative L2 error <= target against dense attention on the given inputs. p.out is scratch.
bool sale_calibrate(const FlashProblem &p, const SaleConfig &c, float target, float *tau_out);

// One estimation kernel per ISA (cpu/<isa>/sale_rowmax_<isa>.cpp; AMX tiles as a variant of the AVX-512
// table, cpu/kernels.h): unpacks a key block (QuantizedKeys' packed form, `cols` keys) into
// `kt` (signed bytes in groups of four along the head dim), then for every row r < rows:
//   rowmax[r] = max_{c < valid[r]} (sum_e qu[r * dp + e] * kt[(e / 4) * 4 * cols + 4 * c + e % 4] - corr[c])
// or INT32_MIN when valid[r] <= 0. qu: unsigned bytes (Qq + 8); cols a multiple of 16; dp a multiple
// of 4 (<= 512: int16 pair sums cannot overflow).
using SaleRowmaxFn = void (*)(const uint8_t *qu, int64_t rows, int64_t dp, const uint8_t *kpacked, int8_t *kt,
                              int64_t cols, const int32_t *corr, const int32_t *valid, int32_t *rowmax);

// 4-bit keys of one (batch, kv head), two values a byte. Block kb's int8 layout is [dp / 4][block_k][4]
// (four head-dim values of one key together, as the dot-product instructions read them); byte t of
// the block's packed form holds layout element t in its low nibble and element t + half in its high
// one, each stored + 8.
struct QuantizedKeys {
    int64_t len = 0, dp = 0, block_k = 0, blocks = 0;
    std::vector<uint8_t> packed;
    std::vector<float> scale;    // per block
    std::vector<int32_t> corr;   // per key (padded to whole blocks): 8 * sum_e Kq_je, the unsigned-Q offset

    int64_t block_bytes() const { return dp * block_k / 2; }
    int k_int(int64_t j, int64_t e) const;  // Kq_je
};

// 4-bit queries of one (batch, head): row i's dp values, byte t holding e = t (low) and t + dp/2 (high), + 8.
struct QuantizedQueries {
    int64_t len = 0, dp = 0;
    std::vector<uint8_t> packed;
    std::vector<float> scale;  // per token

    int q_int(int64_t i, int64_t e) const;  // Qq_ie
};

void quantize_keys(const FlashProblem &p, int64_t b, int64_t hkv, int64_t block_k, QuantizedKeys &out);
void quantize_queries(const FlashProblem &p, int64_t b, int64_t hq, QuantizedQueries &out);

// Estimated row maxima (score units, -inf where a row sees no key of the block) of query block qb
// against key block kb, on the current ISA's kernel: what the mask decisions are made of.
void sale_block_scores(const FlashProblem &p, const QuantizedQueries &q, const QuantizedKeys &k, int64_t qb,
                       int64_t block_q, int64_t kb, float *rowmax);

}  // namespace attn4j::cpu
