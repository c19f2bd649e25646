#include "flash_cases.h"

namespace attn4j::test {

namespace {

FlashCase mha(std::string name, int64_t n, int64_t d) { return FlashCase{std::move(name), 1, 2, 2, n, n, d, d}; }

std::vector<FlashCase> build() {
    std::vector<FlashCase> c;
    // Odd lengths: N = 1, 7, 63, 65, 1000 (not multiples of any tile).
    for (int64_t n : {1, 7, 63, 65, 1000}) c.push_back(mha("mha_n" + std::to_string(n), n, 64));
    for (int64_t n : {1, 7, 63, 65, 1000}) {
        FlashCase x = mha("causal_n" + std::to_string(n), n, 64);
        x.causal = true;
        c.push_back(x);
    }
    // Head dims 32..256, odd ones, and d != dv.
    for (int64_t d : {1, 32, 48, 80, 128, 256}) c.push_back(mha("dim" + std::to_string(d), 77, d));
    { FlashCase x{"dv_ne_d", 2, 3, 3, 50, 70, 64, 32}; c.push_back(x); }
    { FlashCase x{"dv_gt_d", 1, 2, 1, 33, 90, 32, 96}; x.causal = true; c.push_back(x); }
    // q_len != kv_len: chunked prefill, decode, and more queries than keys (top rows fully masked).
    { FlashCase x{"chunked_prefill_causal", 1, 4, 4, 17, 300, 64, 64}; x.causal = true; c.push_back(x); }
    { FlashCase x{"decode_causal", 2, 4, 2, 1, 1000, 128, 128}; x.causal = true; c.push_back(x); }
    { FlashCase x{"decode_few", 1, 8, 1, 5, 777, 64, 64}; x.causal = true; c.push_back(x); }
    { FlashCase x{"decode_dv96_bf16", 1, 2, 1, 2, 333, 32, 96}; x.dtype = ATTN4J_DTYPE_BF16; c.push_back(x); }
    { FlashCase x{"more_q_than_k_causal", 1, 2, 2, 40, 20, 64, 64}; x.causal = true; c.push_back(x); }
    { FlashCase x{"more_q_than_k", 1, 2, 2, 40, 20, 64, 64}; c.push_back(x); }
    // Decode shapes that split the keys across threads and merge by LSE (flash-decoding); large
    // enough (> 4 MFLOP) to be run on several threads.
    { FlashCase x{"decode_split", 1, 1, 1, 1, 40000, 64, 64}; x.causal = true; c.push_back(x); }
    { FlashCase x{"decode_split_window_bf16", 1, 2, 1, 3, 2500, 128, 128}; x.causal = true; x.window_left = 700; x.dtype = ATTN4J_DTYPE_BF16; c.push_back(x); }
    { FlashCase x{"decode_split_sparse_rows", 1, 1, 1, 5, 12000, 32, 48}; x.window_left = 0; x.window_right = 0; c.push_back(x); }
    { FlashCase x{"decode_split_noncausal_bnhd", 1, 2, 2, 2, 8193, 64, 64}; x.bnhd = true; x.out_dtype = ATTN4J_DTYPE_BF16; c.push_back(x); }
    // GQA / MQA.
    { FlashCase x{"gqa_8_2", 2, 8, 2, 70, 70, 64, 64}; c.push_back(x); }
    { FlashCase x{"mqa_causal", 1, 6, 1, 129, 129, 64, 64}; x.causal = true; c.push_back(x); }
    // Sliding windows, alone and with causal; a window that leaves some rows with no key.
    { FlashCase x = mha("window_16_0", 200, 64); x.window_left = 16; x.window_right = 0; c.push_back(x); }
    { FlashCase x = mha("window_8_8", 150, 64); x.window_left = 8; x.window_right = 8; c.push_back(x); }
    { FlashCase x = mha("window_left_causal", 300, 64); x.window_left = 40; x.causal = true; c.push_back(x); }
    { FlashCase x = mha("window_right_only", 100, 32); x.window_right = 3; c.push_back(x); }
    { FlashCase x{"window_empty_rows", 1, 2, 2, 60, 10, 32, 32}; x.window_left = 0; x.window_right = 0; c.push_back(x); }
    // Scale, soft-capping, large logits.
    { FlashCase x = mha("scale_custom", 90, 64); x.scale = 0.37f; c.push_back(x); }
    { FlashCase x = mha("softcap", 90, 64); x.softcap = 5.0f; x.input_std = 3.0f; c.push_back(x); }
    { FlashCase x = mha("large_logits", 130, 64); x.scale = 1.0f; x.input_std = 4.0f; c.push_back(x); }
    { FlashCase x = mha("large_logits_causal", 130, 64); x.scale = 1.0f; x.input_std = 4.0f; x.causal = true; c.push_back(x); }
    // Storage types, layouts, LSE off, threads.
    { FlashCase x = mha("bf16_in_f32_out", 100, 64); x.dtype = ATTN4J_DTYPE_BF16; c.push_back(x); }
    { FlashCase x = mha("bf16_in_bf16_out", 100, 128); x.dtype = x.out_dtype = ATTN4J_DTYPE_BF16; x.causal = true; c.push_back(x); }
    { FlashCase x = mha("f32_in_bf16_out", 100, 64); x.out_dtype = ATTN4J_DTYPE_BF16; c.push_back(x); }
    { FlashCase x{"bf16_gqa_window", 1, 4, 2, 120, 160, 64, 64}; x.dtype = ATTN4J_DTYPE_BF16; x.window_left = 30; x.causal = true; c.push_back(x); }
    { FlashCase x{"bnhd", 2, 4, 2, 65, 65, 64, 64}; x.bnhd = true; c.push_back(x); }
    // Several query tiles and no left window: K^T packed once per head (a partial last key tile).
    { FlashCase x{"prefill_bf16_gqa_packed_once", 2, 4, 2, 200, 333, 64, 96}; x.dtype = ATTN4J_DTYPE_BF16; c.push_back(x); }
    { FlashCase x{"prefill_bnhd_causal_packed_once", 1, 2, 2, 150, 170, 48, 48}; x.bnhd = true; x.causal = true; c.push_back(x); }
    { FlashCase x{"bnhd_causal_bf16", 1, 4, 4, 65, 80, 64, 64}; x.bnhd = true; x.causal = true; x.dtype = ATTN4J_DTYPE_BF16; c.push_back(x); }
    { FlashCase x = mha("no_lse", 70, 64); x.lse = false; c.push_back(x); }
    { FlashCase x{"single_thread", 3, 2, 2, 100, 100, 64, 64}; x.threads = 1; x.causal = true; c.push_back(x); }
    { FlashCase x{"batch3_threads2", 3, 2, 1, 100, 100, 64, 64}; x.threads = 2; c.push_back(x); }
    // Empty sequences: zero-length keys make every row fully masked; zero queries write nothing.
    { FlashCase x{"no_keys", 1, 2, 2, 5, 0, 32, 32}; c.push_back(x); }
    { FlashCase x{"no_queries", 1, 2, 2, 0, 5, 32, 32}; c.push_back(x); }
    { FlashCase x{"empty_batch", 0, 2, 2, 5, 5, 32, 32}; c.push_back(x); }
    // Shapes the CUDA kernels are built for (bf16 and f16, head dims 64, 128 and 256): long sequences,
    // decode that splits the keys, windows, masked rows, f32 output in BNHD.
    for (int32_t dtype : {ATTN4J_DTYPE_BF16, ATTN4J_DTYPE_F16}) {
        const std::string t = dtype == ATTN4J_DTYPE_BF16 ? "_bf16" : "_f16";
        auto gpu = [&](std::string name, int64_t b, int64_t hq, int64_t hkv, int64_t nq, int64_t nk, int64_t d) {
            FlashCase x{name + t, b, hq, hkv, nq, nk, d, d};
            x.dtype = x.out_dtype = dtype;
            return x;
        };
        for (int64_t d : {64, 128}) {
            const std::string s = "_d" + std::to_string(d);
            c.push_back(gpu("full" + s, 2, 4, 4, 1000, 1000, d));
            { FlashCase x = gpu("causal" + s, 1, 4, 4, 777, 777, d); x.causal = true; c.push_back(x); }
            { FlashCase x = gpu("gqa" + s, 1, 8, 2, 300, 300, d); x.causal = true; c.push_back(x); }
            { FlashCase x = gpu("window" + s, 1, 2, 2, 500, 500, d); x.window_left = 64; x.window_right = 0; c.push_back(x); }
            { FlashCase x = gpu("decode" + s, 2, 4, 1, 1, 3000, d); x.causal = true; c.push_back(x); }
            c.push_back(gpu("decode_split_keys" + s, 1, 8, 2, 4, 20000, d));
            { FlashCase x = gpu("decode_window" + s, 1, 4, 2, 2, 5000, d); x.window_left = 700; x.window_right = 0; c.push_back(x); }
            // Grouped heads sharing a block (32 batch x kv heads or more): a full block of rows (8 heads x 8
            // tokens), BNHD, f32 out; masked rows.
            { FlashCase x = gpu("decode_group8_bnhd" + s, 16, 16, 2, 8, 1500, d); x.causal = true; x.bnhd = true; x.out_dtype = ATTN4J_DTYPE_F32; c.push_back(x); }
            { FlashCase x = gpu("decode_group4_masked" + s, 16, 8, 2, 6, 4, d); x.causal = true; c.push_back(x); }
            { FlashCase x = gpu("chunk" + s, 1, 2, 2, 100, 1300, d); x.causal = true; c.push_back(x); }
            { FlashCase x = gpu("masked_rows" + s, 1, 2, 2, 100, 30, d); x.causal = true; c.push_back(x); }
            { FlashCase x = gpu("softcap_scale" + s, 1, 2, 2, 257, 257, d); x.softcap = 20.0f; x.scale = 0.3f; c.push_back(x); }
            { FlashCase x = gpu("f32_out_bnhd" + s, 2, 2, 2, 65, 129, d); x.out_dtype = ATTN4J_DTYPE_F32; x.bnhd = true; c.push_back(x); }
            c.push_back(gpu("tiny" + s, 1, 1, 1, 1, 1, d));
        }
        // d = 256 (the mma.sync kernel only): dense, causal with GQA, split-key decode, f32 output.
        c.push_back(gpu("full_d256", 1, 2, 2, 300, 300, 256));
        { FlashCase x = gpu("gqa_causal_d256", 1, 4, 2, 333, 333, 256); x.causal = true; c.push_back(x); }
        c.push_back(gpu("decode_split_keys_d256", 1, 4, 1, 2, 9000, 256));
        { FlashCase x = gpu("f32_out_bnhd_d256", 1, 2, 2, 65, 129, 256); x.out_dtype = ATTN4J_DTYPE_F32; x.bnhd = true; c.push_back(x); }
    }
    return c;
}

}  // namespace

const std::vector<FlashCase> &flash_cases() {
    static const std::vector<FlashCase> cases = build();
    return cases;
}

std::string flash_unsupported(const FlashCase &c, const Backend &b) {
    if (!b.cuda()) return c.dtype == ATTN4J_DTYPE_F16 ? "CPU: f16 storage unsupported" : "";
    if (c.dtype == ATTN4J_DTYPE_F32) return "CUDA: f32 storage unsupported";
    if (c.dim != c.dim_v || (c.dim != 64 && c.dim != 128 && c.dim != 256))
        return "CUDA: head dims " + std::to_string(c.dim) + "/" + std::to_string(c.dim_v) + " (64, 128 or 256, equal)";
    return "";
}

}  // namespace attn4j::test
