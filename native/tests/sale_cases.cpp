#include "sale_cases.h"

#include <algorithm>
#include <random>

namespace attn4j::test {

namespace {

std::vector<SaleCase> build() {
    std::vector<SaleCase> c = {
        {"causal_n300", 1, 2, 2, 300, 300, 64, 64, true},
        {"noncausal_n200", 2, 2, 1, 200, 200, 64, 64, false},
        {"gqa_causal", 1, 8, 2, 257, 257, 32, 32, true},
        {"blocks_16x32", 1, 2, 2, 190, 190, 64, 64, true, 16, 32},
        {"blocks_96x128", 1, 2, 2, 400, 400, 64, 64, true, 96, 128},
        {"q_shorter_than_k", 1, 2, 2, 100, 333, 64, 48, true},
        {"odd_dims", 1, 3, 3, 150, 150, 17, 23, true, 32, 16},
        {"bf16", 1, 2, 2, 200, 200, 128, 128, true, 0, 0, ATTN4J_DTYPE_BF16},
    };
    // Shapes the CUDA kernels are built for (bf16 and f16, head dims 64 and 128, 64 x 64 blocks): masks
    // of several densities with empty rows, f32 or 16-bit output.
    struct Gpu {
        const char *name;
        int64_t batch, heads_q, heads_kv, len_q, len_k, dim;
        bool causal, out_f32;
        int kept_eighths;
    };
    const Gpu gpu[] = {
        {"d64_causal_gqa", 1, 4, 2, 700, 700, 64, true, true, 4},
        {"d64_full", 1, 2, 2, 300, 500, 64, false, false, 4},
        {"causal_gqa", 1, 4, 2, 700, 700, 128, true, true, 4},
        {"full", 1, 2, 1, 300, 500, 128, false, false, 4},
        {"sparse_rows_keys_longer", 1, 2, 2, 300, 900, 128, true, true, 1},
        {"queries_longer", 1, 2, 1, 900, 300, 128, true, false, 3},
        {"two_batches_odd_blocks", 2, 2, 1, 130, 130, 128, true, false, 5},
        {"long_ring", 1, 2, 2, 2048, 2048, 128, false, true, 2},
        {"every_block", 1, 2, 2, 333, 333, 128, true, false, 8},
    };
    for (int32_t dtype : {ATTN4J_DTYPE_BF16, ATTN4J_DTYPE_F16})
        for (const Gpu &g : gpu) {
            SaleCase x{std::string(g.name) + (dtype == ATTN4J_DTYPE_BF16 ? "_bf16" : "_f16"), g.batch, g.heads_q, g.heads_kv,
                       g.len_q, g.len_k, g.dim, g.dim, g.causal};
            x.dtype = dtype;
            x.out_dtype = g.out_f32 ? ATTN4J_DTYPE_F32 : dtype;
            x.kept_eighths = g.kept_eighths;
            x.holes = true;
            c.push_back(x);
        }
    return c;
}

}  // namespace

const std::vector<SaleCase> &sale_cases() {
    static const std::vector<SaleCase> cases = build();
    return cases;
}

std::vector<uint8_t> random_mask(const SaleCase &c, int64_t bytes, std::mt19937_64 &rng) {
    std::vector<uint8_t> bits(static_cast<size_t>(bytes), 0);
    for (auto &x : bits)
        for (int bit = 0; bit < 8; ++bit)
            if (static_cast<int>(rng() % 8) < c.kept_eighths) x = static_cast<uint8_t>(x | (1u << bit));
    if (!c.holes) return bits;
    const int64_t q_blocks = (c.len_q + c.bq() - 1) / c.bq(), rows = c.batch * c.heads_q;
    const int64_t row_bytes = bytes / (rows * q_blocks);
    auto clear_row = [&](int64_t bh, int64_t qb) {
        if (qb < q_blocks) std::fill_n(bits.begin() + (bh * q_blocks + qb) * row_bytes, row_bytes, uint8_t{0});
    };
    clear_row(0, 1);
    clear_row(rows - 1, 2);
    clear_row(rows - 1, 3);
    return bits;
}

std::string sale_unsupported(const SaleCase &c, const Backend &b, bool estimation) {
    if (!b.cuda()) return c.dtype == ATTN4J_DTYPE_F16 ? "CPU: f16 storage unsupported" : "";
    if (c.dtype == ATTN4J_DTYPE_F32) return "CUDA: f32 storage unsupported";
    if (c.dim != c.dim_v || (c.dim != 64 && c.dim != 128))
        return "CUDA: head dims " + std::to_string(c.dim) + "/" + std::to_string(c.dim_v) + " (64 or 128, equal)";
    if (c.bq() != 64 || c.bk() != 64)
        return "CUDA: blocks " + std::to_string(c.bq()) + " x " + std::to_string(c.bk()) + " (64 x 64 only)";
    if (estimation && c.heads_q > 256) return "CUDA: more than 256 query heads";
    return "";
}

}  // namespace attn4j::test
