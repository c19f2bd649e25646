// Writes the cross-language parity vectors: for a few cases of the table, the inputs, the fp64
// reference and what the C++ call produced, as .npy plus a case.properties of the options.
// The Java suite (FlashParityTest) reads them, runs the same inputs through Java -> native and
// requires the same bytes as C++ and the reference's answer within tolerance.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "attn4j.h"
#include "cpu/reference/flash_reference.h"
#include "flash_cases.h"
#include "fill_problem.h"
#include "npy.h"
#include "test_support.h"

namespace attn4j::test {
namespace {

TEST(FlashParityVectors, WritesInputsReferenceAndCppOutput) {
    const std::string root = parity_dir();
    const char *wanted[] = {"mha_n65", "causal_n63", "gqa_8_2", "window_8_8", "softcap", "decode_causal",
                            "bf16_in_f32_out", "more_q_than_k_causal", "dv_ne_d"};
    int written = 0;
    for (const FlashCase &c : flash_cases()) {
        bool take = false;
        for (const char *w : wanted) take |= c.name == w;
        if (!take) continue;
        SCOPED_TRACE(c.name);
        std::mt19937_64 rng(run_seed() ^ 0x5eed);
        HostTensor q(c.dtype, c.batch, c.heads_q, c.len_q, c.dim), k(c.dtype, c.batch, c.heads_kv, c.len_k, c.dim);
        HostTensor v(c.dtype, c.batch, c.heads_kv, c.len_k, c.dim_v), out(ATTN4J_DTYPE_F32, c.batch, c.heads_q, c.len_q, c.dim_v);
        HostTensor lse(ATTN4J_DTYPE_F32, c.batch, c.heads_q, c.len_q, 1);
        q.fill_normal(rng, c.input_std);
        k.fill_normal(rng, c.input_std);
        v.fill_normal(rng, 1.0f);
        out.poison();
        const attn4j_flash_params p = c.params();
        ASSERT_EQ(attn4j_flash_forward(&q.t, &k.t, &v.t, &out.t, &lse.t, &p), ATTN4J_STATUS_OK) << attn4j_last_error();
        std::vector<double> ref_out, ref_lse;
        cpu::flash_reference(make_flash_problem(&q.t, &k.t, &v.t, &out.t, &lse.t, p), ref_out, ref_lse);
        ASSERT_LE(rel_l2(out, ref_out), c.tolerance());

        const std::string dir = root + "/flash_" + c.name;
        ::mkdir(dir.c_str(), 0755);
        ASSERT_TRUE(write_npy(dir + "/q.npy", dense(q), shape_of(q)));
        ASSERT_TRUE(write_npy(dir + "/k.npy", dense(k), shape_of(k)));
        ASSERT_TRUE(write_npy(dir + "/v.npy", dense(v), shape_of(v)));
        ASSERT_TRUE(write_npy(dir + "/out_cpp.npy", dense(out), shape_of(out)));
        ASSERT_TRUE(write_npy(dir + "/lse_cpp.npy", dense(lse), shape_of(lse)));
        ASSERT_TRUE(write_npy(dir + "/out_ref.npy", ref_out, shape_of(out)));
        ASSERT_TRUE(write_npy(dir + "/lse_ref.npy", ref_lse, shape_of(lse)));
        std::ofstream props(dir + "/case.properties");
        props << "dtype=" << (c.dtype == ATTN4J_DTYPE_BF16 ? "bf16" : "f32") << "\n"
              << "causal=" << (c.causal ? "true" : "false") << "\n"
              << "window_left=" << c.window_left << "\nwindow_right=" << c.window_right << "\n"
              << "scale=" << c.scale << "\nsoftcap=" << c.softcap << "\n"
              << "isa=" << attn4j_isa_name(attn4j_cpu_isa()) << "\n";
        ASSERT_TRUE(props.good());
        ++written;
    }
    EXPECT_EQ(written, static_cast<int>(sizeof wanted / sizeof wanted[0]));
}

}  // namespace
}  // namespace attn4j::test
