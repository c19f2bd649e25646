#include "cpu/isa.h"

#include <atomic>
#include <cstdlib>
#include <cstring>

#if defined(__linux__) && defined(__x86_64__)
#include <cpuid.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

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

bool amx_supported() {
#if defined(__linux__) && defined(__x86_64__)
    static const bool yes = [] {
        // CPUID leaf 7: EDX bit 24 = AMX-TILE, bit 25 = AMX-INT8 (read directly: not every compiler's
        // __builtin_cpu_supports knows the AMX names).
        unsigned a = 0, b = 0, c = 0, d = 0;
        if (!__get_cpuid_count(7, 0, &a, &b, &c, &d) || !((d >> 24) & 1) || !((d >> 25) & 1)) return false;
        // Linux hands out the 8 KiB tile state only on request (ARCH_REQ_XCOMP_PERM, XTILEDATA).
        constexpr long kArchReqXcompPerm = 0x1023, kXfeatureXtiledata = 18;
        return syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) == 0;
    }();
    return yes;
#else
    return false;
#endif
}

namespace {
std::atomic<bool> &amx_flag() {
    static std::atomic<bool> on{[] {
        const char *env = std::getenv("ATTN4J_AMX");
        return !(env != nullptr && std::strcmp(env, "0") == 0) && amx_supported();
    }()};
    return on;
}
}  // namespace

bool amx() { return amx_flag().load(std::memory_order_relaxed); }

void set_amx(bool on) { amx_flag().store(on && amx_supported()); }

const char *isa_name(int32_t isa) {
    switch (isa) {
        case 0: return "scalar";
        case 1: return "avx2";
        case 2: return "avx512";
        default: return "unknown";
    }
}

}  // namespace attn4j::cpu
