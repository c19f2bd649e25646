// Turns fuzzer bytes into C ABI arguments over real, exactly-sized buffers (so AddressSanitizer sees
// any access outside a tensor's span), and checks that a successful call wrote only its elements.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <vector>

#include "attn4j.h"

namespace attn4j::fuzz {

class Input {
public:
    Input(const uint8_t *data, size_t size) : p_(data), end_(data + size) {}

    uint8_t byte() { return p_ < end_ ? *p_++ : 0; }
    bool flag(int one_in) { return byte() % one_in == 0; }

    // Mostly small values, sometimes the edges a caller might get wrong.
    int64_t size_value() {
        const uint8_t b = byte();
        switch (b % 16) {
            case 0: return -1 - (byte() % 4);
            case 1: return std::numeric_limits<int64_t>::max() / (1 + byte() % 3);
            case 2: return int64_t(1) << (20 + byte() % 40);
            case 3: return 0;
            default: return b % 20 + (b & 0x80 ? byte() % 80 : 0);
        }
    }

    int32_t int_value() {
        const uint8_t b = byte();
        switch (b % 10) {
            case 0: return -1 - (byte() % 3);
            case 1: return std::numeric_limits<int32_t>::max();
            case 2: return std::numeric_limits<int32_t>::min();
            default: return b % 40;
        }
    }

    float float_value() {
        switch (byte() % 8) {
            case 0: return std::numeric_limits<float>::quiet_NaN();
            case 1: return std::numeric_limits<float>::infinity();
            case 2: return -static_cast<float>(byte());
            case 3: return 0.0f;
            default: return static_cast<float>(byte()) / 16.0f;
        }
    }

private:
    const uint8_t *p_, *end_;
};

// A tensor argument: a descriptor plus, when its span is sane, a buffer of exactly that span.
struct FuzzTensor {
    attn4j_tensor t{};
    std::unique_ptr<unsigned char[]> buf;
    int64_t span_bytes = -1;  // -1: the span overflows int64
    bool null_descriptor = false;

    const attn4j_tensor *arg() const { return null_descriptor ? nullptr : &t; }
};

constexpr int64_t kMaxSpanBytes = 1 << 20;

inline int64_t element_bytes(int32_t dtype) { return dtype == ATTN4J_DTYPE_F32 ? 4 : 2; }

// Span in bytes of a descriptor (0 when empty), -1 if it overflows or has negative parts.
inline int64_t span_of(const attn4j_tensor &t) {
    int64_t last = 0;
    for (int i = 0; i < 4; ++i) {
        if (t.shape[i] < 0 || t.strides[i] < 0) return -1;
        if (t.shape[i] == 0) return 0;
    }
    for (int i = 0; i < 4; ++i) {
        int64_t part;
        if (__builtin_mul_overflow(t.shape[i] - 1, t.strides[i], &part) || __builtin_add_overflow(last, part, &last))
            return -1;
    }
    int64_t bytes;
    if (__builtin_add_overflow(last, 1, &last) || __builtin_mul_overflow(last, element_bytes(t.dtype), &bytes)) return -1;
    return bytes;
}

// a * b, saturated to the int64 range (fuzzed shapes multiply past it).
inline int64_t mul_sat(int64_t a, int64_t b) {
    int64_t r;
    if (!__builtin_mul_overflow(a, b, &r)) return r;
    return (a < 0) != (b < 0) ? std::numeric_limits<int64_t>::min() : std::numeric_limits<int64_t>::max();
}

// shape: either the "expected" dims (a consistent call) or fuzzed ones; strides contiguous or fuzzed.
inline FuzzTensor make_tensor(Input &in, const int64_t (&want)[4], int32_t dtype) {
    FuzzTensor f;
    f.null_descriptor = in.flag(64);
    f.t.dtype = in.flag(32) ? in.int_value() : dtype;
    f.t.device = in.flag(32) ? in.int_value() : ATTN4J_DEVICE_HOST;
    for (int i = 0; i < 4; ++i) f.t.shape[i] = in.flag(12) ? in.size_value() : want[i];
    const bool bnhd = in.flag(3);
    const int64_t *sh = f.t.shape;
    int64_t s[4] = {mul_sat(sh[1], mul_sat(sh[2], sh[3])), mul_sat(sh[2], sh[3]), sh[3], 1};
    if (bnhd) {
        s[1] = sh[3];
        s[2] = mul_sat(sh[1], sh[3]);
    }
    for (int i = 0; i < 4; ++i) f.t.strides[i] = in.flag(10) ? in.size_value() : s[i];
    f.span_bytes = span_of(f.t);
    if (f.span_bytes >= 0 && f.span_bytes <= kMaxSpanBytes && !in.flag(64)) {
        f.buf.reset(new unsigned char[static_cast<size_t>(f.span_bytes > 0 ? f.span_bytes : 1)]);
        // Small finite values (bf16 or f32 bit patterns), sometimes a NaN or Inf.
        for (int64_t b = 0; b < f.span_bytes; ++b) f.buf[b] = static_cast<unsigned char>((b * 37 + in.byte()) & 0x3f);
        f.t.data = f.buf.get();
    } else {
        // A span the harness cannot back: a caller bug the C ABI cannot see unless the span overflows,
        // which it must reject. Point at a tiny buffer; the caller decides whether to call.
        static unsigned char dummy[64];
        f.t.data = in.flag(8) ? nullptr : dummy;
    }
    return f;
}

// Is every tensor argument backed by its full span (or rejected for overflow)?
inline bool callable(const std::vector<const FuzzTensor *> &ts, bool &must_fail) {
    must_fail = false;
    for (const FuzzTensor *f : ts) {
        if (f == nullptr || f->null_descriptor) continue;
        if (f->span_bytes < 0) must_fail = true;
        else if (f->buf == nullptr && f->t.data != nullptr && f->span_bytes > 0) return false;
    }
    return true;
}

// Fills an output with a canary pattern and later checks that bytes outside its elements kept it.
class Canary {
public:
    explicit Canary(FuzzTensor &f) : f_(f) {
        if (f_.buf == nullptr || f_.span_bytes <= 0 || f_.null_descriptor) return;
        std::memset(f_.buf.get(), 0xA5, static_cast<size_t>(f_.span_bytes));
        active_ = f_.span_bytes <= (1 << 16);
    }

    // Returns false if a byte that belongs to no element changed.
    bool untouched_outside_elements() const {
        if (!active_) return true;
        std::vector<char> is_element(static_cast<size_t>(f_.span_bytes), 0);
        const int64_t es = element_bytes(f_.t.dtype);
        const auto &s = f_.t.shape;
        for (int64_t a = 0; a < s[0]; ++a)
            for (int64_t b = 0; b < s[1]; ++b)
                for (int64_t c = 0; c < s[2]; ++c)
                    for (int64_t d = 0; d < s[3]; ++d) {
                        const int64_t off = (a * f_.t.strides[0] + b * f_.t.strides[1] + c * f_.t.strides[2] + d * f_.t.strides[3]) * es;
                        for (int64_t x = 0; x < es; ++x) is_element[static_cast<size_t>(off + x)] = 1;
                    }
        for (int64_t x = 0; x < f_.span_bytes; ++x)
            if (!is_element[static_cast<size_t>(x)] && f_.buf[x] != 0xA5) return false;
        return true;
    }

private:
    FuzzTensor &f_;
    bool active_ = false;
};

// A params struct's size field as callers get it: mostly right, sometimes the first layout's, and
// sometimes 0, negative, garbage or a newer library's (which the call must reject).
template <typename P>
int32_t params_size(Input &in, int32_t v1_size) {
    switch (in.byte() % 8) {
        case 5: return v1_size;
        case 6: return in.int_value();
        case 7: return static_cast<int32_t>(sizeof(P)) + 8 * (1 + in.byte() % 4);
        default: return static_cast<int32_t>(sizeof(P));
    }
}

// A call that succeeded although its params' size is out of range is a bug.
template <typename P>
void require_size_checked(int32_t status, const P *params, int32_t v1_size) {
    if (status != ATTN4J_STATUS_OK || params == nullptr) return;
    if (params->size >= v1_size && params->size <= static_cast<int32_t>(sizeof(P))) return;
    std::fprintf(stderr, "params.size = %d was accepted\n", params->size);
    std::abort();
}

// The *_params_init function: rejects NULL, and writes the size.
template <typename P>
void init_params(int32_t (*init)(P *), P &p) {
    if (init(nullptr) != ATTN4J_STATUS_NULL_ARGUMENT || attn4j_last_error()[0] == '\0') std::abort();
    if (init(&p) != ATTN4J_STATUS_OK || p.size != static_cast<int32_t>(sizeof(P))) std::abort();
}

// Keeps a single call cheap: the fuzzer hunts crashes, not throughput.
inline bool too_much_work(double flops) { return flops > 2e7; }

// Fuzzed sequence lengths (the padded or packed form, or none) for params with attn4j_flash_params'
// fields, in exactly-sized heap arrays, so a read past q's batch (padded) or num_seqs + 1 (packed)
// entries is an ASan report. Sized from the descriptors the call gets (their shapes may be fuzzed too):
// a shorter array would be the caller's own bug, which a C ABI cannot see.
struct LengthArrays {
    std::unique_ptr<int32_t[]> arrays[6];

    template <typename P>
    void fill(Input &in, P &p, const attn4j_tensor &q, const attn4j_tensor &k) {
        const int64_t B = q.shape[0], Nq = std::min<int64_t>(q.shape[2], 1 << 20), Nk = std::min<int64_t>(k.shape[2], 1 << 20);
        if (B < 0 || B > 64 || Nq < 0 || Nk < 0) return;
        auto array = [&](int i, int64_t n, int64_t total, bool prefix) {
            arrays[i].reset(new int32_t[n]);
            for (int64_t x = 0, at = 0; x < n; ++x) {
                if (prefix) at = x == 0 ? 0 : (x == n - 1 && !in.flag(8) ? total : at + in.byte() % (total + 2));
                arrays[i][x] = prefix ? static_cast<int32_t>(at) : (in.flag(8) ? in.int_value() : in.byte() % (total + 2));
            }
            return arrays[i].get();
        };
        if (in.flag(3)) {
            if (in.flag(2)) p.q_lens = array(0, B, Nq, false);
            if (in.flag(2)) p.kv_lens = array(1, B, Nk, false);
            if (in.flag(3)) p.q_starts = array(2, B, Nq, false);
            if (in.flag(3)) p.kv_starts = array(3, B, Nk, false);
        } else if (in.flag(3)) {
            const int64_t n = 1 + in.byte() % 4;
            p.num_seqs = in.flag(8) ? in.int_value() % 8 : static_cast<int32_t>(n);
            if (!in.flag(8)) p.cu_seqlens_q = array(4, n + 1, Nq, true);
            if (!in.flag(8)) p.cu_seqlens_k = array(5, n + 1, Nk, true);
            if (p.num_seqs > n) p.num_seqs = static_cast<int32_t>(n);  // the caller's arrays hold n + 1 entries
        }
        if (in.flag(8)) p.max_seqlen_q = in.int_value();
        if (in.flag(8)) p.max_seqlen_k = in.int_value();
    }
};

}  // namespace attn4j::fuzz
