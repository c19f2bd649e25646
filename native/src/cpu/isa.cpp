#include "cpu/isa.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>

#include "cpu/kernels.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif
#if defined(__linux__) && defined(__x86_64__)
#include <cpuid.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace attn4j::cpu {

namespace {

// The highest ISA whose kernel table says this CPU runs it.
Isa detect() {
    for (int32_t i = kIsaCount - 1; i > 0; --i)
        if (kIsaTables[i]->supported()) return kIsaTables[i]->isa;
    return Isa::Scalar;
}

Isa from_env(Isa best) {
    const char *s = std::getenv("ATTN4J_ISA");
    if (s == nullptr) return best;
    Isa want = best;
    for (const CpuKernels *k : kIsaTables)
        if (std::strcmp(s, k->name) == 0) want = k->isa;
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
#if defined(__x86_64__)
// Seconds for `iters` rounds of 8 independent vdpbf16ps, or of 8 independent fp32 vfmadd.
template <bool Dot>
__attribute__((target("avx512f,avx512bf16"), noinline)) double time_products(int iters) {
    __m512 acc[8];
    for (int i = 0; i < 8; ++i) acc[i] = _mm512_set1_ps(static_cast<float>(i));
    const __m512 a = _mm512_set1_ps(1e-3f), b = _mm512_set1_ps(0.999f);
    const auto t0 = std::chrono::steady_clock::now();
    for (int it = 0; it < iters; ++it)
        for (int i = 0; i < 8; ++i) {
            if constexpr (Dot) {
                acc[i] = _mm512_dpbf16_ps(acc[i], reinterpret_cast<__m512bh>(a), reinterpret_cast<__m512bh>(b));
            } else {
                acc[i] = _mm512_fmadd_ps(a, b, acc[i]);
            }
            asm volatile("" : "+v"(acc[i]));
        }
    const double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    alignas(64) float lanes[16];
    float sink = 0.0f;
    for (int i = 0; i < 8; ++i) {
        _mm512_store_ps(lanes, acc[i]);
        sink += lanes[0];
    }
    asm volatile("" ::"x"(sink));
    return t;
}
#endif

// vdpbf16ps does twice the multiply-adds of an fp32 FMA: the pair products win where it runs at more
// than about 2/3 of the FMA's rate (AMD Zen 4: the same rate; Sapphire Rapids: half). Best of 5
// short timings, once per process (about 0.1 ms).
bool pairs_measured_faster() {
#if defined(__x86_64__)
    if (!bf16_dot_supported()) return false;
    double dot = 1e30, fma = 1e30;
    for (int round = 0; round < 5; ++round) {
        dot = std::min(dot, time_products<true>(2000));
        fma = std::min(fma, time_products<false>(2000));
    }
    return dot < 1.5 * fma;
#else
    return false;
#endif
}

std::atomic<bool> &bf16_dot_flag() {
    static std::atomic<bool> on{bf16_dot_default()};
    return on;
}
}  // namespace

bool bf16_dot_default() {
    static const bool on = [] {
        const char *env = std::getenv("ATTN4J_BF16_DOT");
        if (env != nullptr && std::strcmp(env, "1") == 0) return bf16_dot_supported();
        if (env != nullptr && std::strcmp(env, "0") == 0) return false;
        return pairs_measured_faster();
    }();
    return on;
}

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

const char *isa_name(int32_t isa) { return isa >= 0 && isa < kIsaCount ? kIsaTables[isa]->name : "unknown"; }

}  // namespace attn4j::cpu
