// The backends every case table runs on (ggml's test-backend-ops shape): each CPU ISA (cpu/kernels.h)
// and the first CUDA device. A (case, backend) pair runs when the backend is present here and supports the case;
// otherwise it skips and says why. At the end the binary prints, per family and backend, how many
// pairs ran, how many were skipped and the distinct reasons.
#pragma once
#include <gtest/gtest.h>

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "attn4j.h"

namespace attn4j::test {

struct Backend {
    std::string name;  // "scalar", "avx2", "avx512", "cuda:0"
    int32_t isa;       // ATTN4J_ISA_* of a CPU backend, -1 for CUDA

    bool cuda() const { return isa < 0; }
    std::string id() const;      // the name as a test name may spell it ("cuda0")
    std::string absent() const;  // why it cannot run on this machine, "" when it can
};

const std::vector<Backend> &backends();

// One case of a family's table on one backend: the parameter of the shared tests.
template <class Case>
struct OnBackend {
    Case c;
    Backend backend;
};

template <class Case>
std::vector<OnBackend<Case>> on_every_backend(const std::vector<Case> &cases) {
    std::vector<OnBackend<Case>> all;
    for (const Case &c : cases)
        for (const Backend &b : backends()) all.push_back({c, b});
    return all;
}

template <class Case>
std::string pair_name(const ::testing::TestParamInfo<OnBackend<Case>> &info) {
    return info.param.c.name + "__" + info.param.backend.id();
}

template <class Case>
void PrintTo(const OnBackend<Case> &p, std::ostream *os) {
    *os << p.c.name << " on " << p.backend.name;
}

// Why a pair does not run ("" when it does): the backend's `unsupported` reason for the case, else its
// absence from this machine. Recorded under `family` for the report either way.
std::string skip_reason(const char *family, const Backend &b, const std::string &unsupported);

#define ATTN4J_SKIP_UNLESS_RUNS(family, backend, unsupported)                                      \
    do {                                                                                           \
        const std::string why_ = ::attn4j::test::skip_reason(family, backend, unsupported);        \
        if (!why_.empty()) GTEST_SKIP() << why_;                                                   \
    } while (0)

// A CPU backend's ISA for the scope (the previous one restored after).
class UseIsa {
public:
    explicit UseIsa(const Backend &b);
    ~UseIsa();
    UseIsa(const UseIsa &) = delete;
    UseIsa &operator=(const UseIsa &) = delete;

private:
    int32_t saved_;
};

// The kernels a CUDA backend has for a call: the wgmma ones (Hopper, where they apply) and the
// portable mma.sync ones, chosen through ATTN4J_CUDA_WGMMA; f(label) runs once per choice.
template <class F>
void for_each_cuda_kernel(F &&f) {
    for (const char *wgmma : {"1", "0"}) {
        setenv("ATTN4J_CUDA_WGMMA", wgmma, 1);
        f(std::string("ATTN4J_CUDA_WGMMA=") + wgmma);
    }
    unsetenv("ATTN4J_CUDA_WGMMA");
}

}  // namespace attn4j::test
