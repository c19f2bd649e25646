#include "lightning_cases.h"

namespace attn4j::test {

namespace {

std::vector<LightningCase> build() {
    std::vector<LightningCase> c;
    for (int64_t n : {1, 7, 63, 65, 200, 1000}) c.push_back({"decay_n" + std::to_string(n), 1, 2, 2, n, 64, 64});
    { LightningCase x{"no_decay", 2, 2, 2, 150, 64, 64}; x.slopes = 0; c.push_back(x); }
    { LightningCase x{"heavy_decay", 1, 4, 4, 300, 32, 32}; x.slopes = 2; c.push_back(x); }
    { LightningCase x{"huge_decay", 1, 2, 2, 100, 32, 32}; x.slopes = 3; x.state_in = true; c.push_back(x); }
    { LightningCase x{"gqa", 1, 8, 2, 130, 64, 64}; c.push_back(x); }
    { LightningCase x{"d_ne_dv", 1, 2, 1, 99, 32, 96}; c.push_back(x); }
    { LightningCase x{"dim128_value_split", 1, 1, 1, 257, 128, 128}; c.push_back(x); }
    { LightningCase x{"odd_dims", 1, 3, 3, 70, 17, 23}; c.push_back(x); }
    for (int32_t blk : {1, 16, 100, 256}) {
        LightningCase x{"block" + std::to_string(blk), 1, 2, 2, 333, 64, 64};
        x.block = blk;
        c.push_back(x);
    }
    { LightningCase x{"initial_state", 2, 2, 2, 90, 64, 48}; x.state_in = true; c.push_back(x); }
    { LightningCase x{"initial_state_no_decay", 1, 2, 1, 50, 32, 32}; x.state_in = true; x.slopes = 0; c.push_back(x); }
    { LightningCase x{"bf16_in", 1, 2, 2, 200, 64, 64}; x.dtype = ATTN4J_DTYPE_BF16; c.push_back(x); }
    { LightningCase x{"bf16_in_out", 1, 4, 2, 120, 128, 128}; x.dtype = x.out_dtype = ATTN4J_DTYPE_BF16; c.push_back(x); }
    { LightningCase x{"bnhd", 2, 4, 2, 77, 64, 64}; x.bnhd = true; x.state_in = true; c.push_back(x); }
    { LightningCase x{"single_thread", 2, 2, 2, 100, 64, 64}; x.threads = 1; c.push_back(x); }
    { LightningCase x{"empty_sequence", 1, 2, 2, 0, 16, 16}; x.state_in = true; c.push_back(x); }
    // Shapes the CUDA kernels are built for (bf16 and f16, head dims 64 and 128): lengths that are not
    // whole chunks, lengths across several segments, runs of several chunks per block.
    for (int32_t dtype : {ATTN4J_DTYPE_BF16, ATTN4J_DTYPE_F16}) {
        const std::string t = dtype == ATTN4J_DTYPE_BF16 ? "_bf16" : "_f16";
        auto gpu = [&](std::string name, int64_t b, int64_t hq, int64_t hkv, int64_t n, int64_t d, int slopes,
                       bool state_in) {
            LightningCase x{name + t, b, hq, hkv, n, d, d, slopes, 0, state_in};
            x.dtype = x.out_dtype = dtype;
            return x;
        };
        for (int64_t d : {64, 128}) {
            const std::string s = "_d" + std::to_string(d);
            c.push_back(gpu("decay" + s, 1, 4, 4, 1000, d, 1, false));
            c.push_back(gpu("no_decay" + s, 2, 2, 2, 300, d, 0, false));
            c.push_back(gpu("heavy_decay_state" + s, 1, 2, 2, 257, d, 4, true));
            { LightningCase x = gpu("gqa_f32_out" + s, 1, 8, 2, 129, d, 1, true); x.out_dtype = ATTN4J_DTYPE_F32; c.push_back(x); }
            c.push_back(gpu("tiny" + s, 1, 1, 1, 1, d, 1, true));
        }
        c.push_back(gpu("two_segments_d64", 1, 2, 2, 70000, 64, 1, true));
        c.push_back(gpu("two_segments_gqa_d128", 1, 4, 2, 70000, 128, 1, true));
        // Enough heads and chunks that each block walks a run of several chunks (about eight blocks per
        // SM on an H100: runs of 3 and 2 chunks here, the last one shorter).
        c.push_back(gpu("runs_of_chunks_gqa_d64", 2, 8, 4, 20000, 64, 1, true));
        { LightningCase x = gpu("runs_of_chunks_heavy_d128", 1, 16, 16, 12000, 128, 4, true); x.out_dtype = ATTN4J_DTYPE_F32; c.push_back(x); }
        c.push_back(gpu("runs_of_chunks_no_decay_d128", 2, 8, 8, 9000, 128, 0, false));
        { LightningCase x = gpu("no_final_state_d128", 1, 4, 4, 1000, 128, 1, false); x.state_out = false; c.push_back(x); }
        { LightningCase x = gpu("two_segments_no_final_state_d128", 1, 2, 2, 70000, 128, 1, true); x.state_out = false; c.push_back(x); }
    }
    return c;
}

}  // namespace

const std::vector<LightningCase> &lightning_cases() {
    static const std::vector<LightningCase> cases = build();
    return cases;
}

std::vector<float> lightning_slopes(int kind, int64_t heads) {
    std::vector<float> s(static_cast<size_t>(heads), 0.0f);
    if (kind == 1 || kind == 4) attn4j_lightning_slopes(static_cast<int32_t>(heads), 0, 1, s.data());
    for (size_t h = 0; h < s.size(); ++h) {
        if (kind == 2) s[h] = 5.0f + 20.0f * h;  // lambda^2 already ~1e-4
        if (kind == 3) s[h] = 1e4f;              // every power past the first underflows to 0
        if (kind == 4) s[h] *= 20.0f;
    }
    return s;
}

std::string lightning_unsupported(const LightningCase &c, const Backend &b) {
    if (!b.cuda()) {
        if (c.dtype == ATTN4J_DTYPE_F16) return "CPU: f16 storage unsupported";
        if (c.len > kLightningReferenceMaxLen)
            return "CPU: more tokens than the quadratic fp64 reference reaches (" +
                   std::to_string(kLightningReferenceMaxLen) + ")";
        return "";
    }
    if (c.dtype == ATTN4J_DTYPE_F32) return "CUDA: f32 storage unsupported";
    if (c.dim != c.dim_v || (c.dim != 64 && c.dim != 128))
        return "CUDA: head dims " + std::to_string(c.dim) + "/" + std::to_string(c.dim_v) + " (64 or 128, equal)";
    return "";
}

}  // namespace attn4j::test
