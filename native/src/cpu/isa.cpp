#include "cpu/isa.h"

#include <atomic>
#include <cstdlib>
#include <cstring>

namespace attn4j::cpu {

namespace {

Isa detect() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq"))
        return Isa::Avx512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return Isa::Avx2;
#endif
    return Isa::Scalar;
}

Isa from_env(Isa best) {
    const char *s = std::getenv("ATTN4J_ISA");
    if (s == nullptr) return best;
    Isa want = best;
    if (std::strcmp(s, "scalar") == 0) want = Isa::Scalar;
    else if (std::strcmp(s, "avx2") == 0) want = Isa::Avx2;
    else if (std::strcmp(s, "avx512") == 0) want = Isa::Avx512;
    return static_cast<int32_t>(want) <= static_cast<int32_t>(best) ? want : best;
}

std::atomic<int32_t> &current() {
    static std::atomic<int32_t> isa{static_cast<int32_t>(from_env(best_isa()))};
    return isa;
}

}  // namespace

Isa best_isa() {
    static const Isa best = detect();
    return best;
}

Isa current_isa() { return static_cast<Isa>(current().load(std::memory_order_relaxed)); }

bool set_isa(Isa isa) {
    if (static_cast<int32_t>(isa) < 0 || static_cast<int32_t>(isa) > static_cast<int32_t>(best_isa()))
        return false;
    current().store(static_cast<int32_t>(isa));
    return true;
}

bool bf16_dot_supported() {
#if defined(__x86_64__) || defined(__i386__)
    static const bool yes = [] {
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx512bf16") != 0;
    }();
    return yes;
#else
    return false;
#endif
}

namespace {
std::atomic<bool> &bf16_dot_flag() {
    static std::atomic<bool> on{[] {
        const char *env = std::getenv("ATTN4J_BF16_DOT");
        return env != nullptr && std::strcmp(env, "1") == 0 && bf16_dot_supported();
    }()};
    return on;
}
}  // namespace

bool bf16_dot() { return bf16_dot_flag().load(std::memory_order_relaxed); }

void set_bf16_dot(bool on) { bf16_dot_flag().store(on && bf16_dot_supported()); }

const char *isa_name(int32_t isa) {
    switch (isa) {
        case 0: return "scalar";
        case 1: return "avx2";
        case 2: return "avx512";
        default: return "unknown";
    }
}

}  // namespace attn4j::cpu
