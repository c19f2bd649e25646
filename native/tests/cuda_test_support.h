// Tensors on a CUDA device for the GPU tests: device memory plus the stored values as a host f32
// tensor (rounded to bf16 or f16 first, so references see exactly what the kernels read).
#pragma once
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "attn4j.h"
#include "common/bf16.h"
#include "test_support.h"

namespace attn4j::test {

inline uint16_t f32_to_f16(float f) {
    uint32_t x;
    std::memcpy(&x, &f, 4);
    const uint32_t sign = (x >> 16) & 0x8000u, mant = x & 0x7fffffu;
    const int32_t e = static_cast<int32_t>((x >> 23) & 0xff) - 127 + 15;
    if (((x >> 23) & 0xff) == 0xff) return static_cast<uint16_t>(sign | 0x7c00u | (mant ? 0x200u : 0u));
    if (e >= 31) return static_cast<uint16_t>(sign | 0x7c00u);
    if (e <= 0) {
        if (e < -10) return static_cast<uint16_t>(sign);
        const uint32_t m = mant | 0x800000u;
        const int shift = 14 - e;
        uint32_t h = m >> shift;
        const uint32_t rem = m & ((1u << shift) - 1), mid = 1u << (shift - 1);
        if (rem > mid || (rem == mid && (h & 1))) ++h;
        return static_cast<uint16_t>(sign | h);
    }
    uint32_t h = sign | (static_cast<uint32_t>(e) << 10) | (mant >> 13);
    const uint32_t rem = mant & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (h & 1))) ++h;
    return static_cast<uint16_t>(h);
}

inline float f16_to_f32(uint16_t h) {
    const uint32_t sign = (h & 0x8000u) << 16, e = (h >> 10) & 0x1f, m = h & 0x3ffu;
    uint32_t x;
    if (e == 0) {
        if (m == 0) {
            x = sign;
        } else {  // subnormal
            float f = std::ldexp(static_cast<float>(m), -24);
            return sign ? -f : f;
        }
    } else if (e == 31) {
        x = sign | 0x7f800000u | (m << 13);
    } else {
        x = sign | ((e - 15 + 127) << 23) | (m << 13);
    }
    float f;
    std::memcpy(&f, &x, 4);
    return f;
}

inline uint16_t to_storage(float f, int32_t dtype) { return dtype == ATTN4J_DTYPE_BF16 ? f32_to_bf16(f) : f32_to_f16(f); }
inline float from_storage(uint16_t h, int32_t dtype) { return dtype == ATTN4J_DTYPE_BF16 ? bf16_to_f32(h) : f16_to_f32(h); }

// A tensor on the GPU plus its values (already rounded to the storage type) as a host f32 tensor.
struct DeviceTensor {
    HostTensor host;  // f32, same shape and strides
    attn4j_tensor t{};
    void *ptr = nullptr;
    int64_t bytes = 0;

    DeviceTensor(int32_t dtype, int64_t b, int64_t h, int64_t n, int64_t d, bool bnhd)
        : host(ATTN4J_DTYPE_F32, b, h, n, d, bnhd) {
        t = host.t;
        t.dtype = dtype;
        t.device = 0;
        bytes = std::max<int64_t>(b * h * n * d, 1) * (dtype == ATTN4J_DTYPE_F32 ? 4 : 2);
        EXPECT_EQ(attn4j_cuda_malloc(0, bytes, &ptr), ATTN4J_STATUS_OK) << attn4j_last_error();
        t.data = ptr;
    }
    ~DeviceTensor() { attn4j_cuda_free(0, ptr); }

    void fill_normal(std::mt19937_64 &rng, float std) {
        host.fill_normal(rng, std);
        if (t.dtype == ATTN4J_DTYPE_F32) {
            EXPECT_EQ(attn4j_cuda_memcpy(ptr, host.bytes.data(), bytes, ATTN4J_COPY_HOST_TO_DEVICE), ATTN4J_STATUS_OK);
            return;
        }
        const int64_t n = bytes / 2;
        std::vector<uint16_t> raw(static_cast<size_t>(n));
        auto *h = reinterpret_cast<float *>(host.bytes.data());
        for (int64_t i = 0; i < n; ++i) {
            raw[i] = to_storage(h[i], t.dtype);
            h[i] = from_storage(raw[i], t.dtype);  // the reference sees exactly the stored values
        }
        EXPECT_EQ(attn4j_cuda_memcpy(ptr, raw.data(), bytes, ATTN4J_COPY_HOST_TO_DEVICE), ATTN4J_STATUS_OK);
    }

    void poison() {
        std::vector<unsigned char> nan(static_cast<size_t>(bytes), 0xFF);  // NaN in every format
        EXPECT_EQ(attn4j_cuda_memcpy(ptr, nan.data(), bytes, ATTN4J_COPY_HOST_TO_DEVICE), ATTN4J_STATUS_OK);
    }

    // Device contents into `host` as f32.
    void download() {
        std::vector<unsigned char> raw(static_cast<size_t>(bytes));
        ASSERT_EQ(attn4j_cuda_memcpy(raw.data(), ptr, bytes, ATTN4J_COPY_DEVICE_TO_HOST), ATTN4J_STATUS_OK);
        auto *h = reinterpret_cast<float *>(host.bytes.data());
        for (int64_t i = 0; i < static_cast<int64_t>(host.bytes.size() / 4); ++i)
            h[i] = t.dtype == ATTN4J_DTYPE_F32 ? reinterpret_cast<const float *>(raw.data())[i]
                                               : from_storage(reinterpret_cast<const uint16_t *>(raw.data())[i], t.dtype);
    }
};

// One attention call's tensors on the GPU: q, k and v filled with N(0, 1) values (in that order from
// rng), out (the input dtype or f32) and lse poisoned.
struct AttentionTensors {
    DeviceTensor q, k, v, out, lse;
    AttentionTensors(int32_t dtype, int64_t batch, int64_t heads_q, int64_t heads_kv, int64_t len_q, int64_t len_k,
                     int64_t dim, bool bnhd, bool out_f32, std::mt19937_64 &rng)
        : q(dtype, batch, heads_q, len_q, dim, bnhd), k(dtype, batch, heads_kv, len_k, dim, bnhd),
          v(dtype, batch, heads_kv, len_k, dim, bnhd),
          out(out_f32 ? ATTN4J_DTYPE_F32 : dtype, batch, heads_q, len_q, dim, bnhd),
          lse(ATTN4J_DTYPE_F32, batch, heads_q, len_q, 1, false) {
        q.fill_normal(rng, 1.0f);
        k.fill_normal(rng, 1.0f);
        v.fill_normal(rng, 1.0f);
        out.poison();
        lse.poison();
    }
};

// A host tensor's bytes on the first CUDA device, same dtype and strides (null data: the copy failed).
struct OnDevice {
    attn4j_tensor t{};
    void *ptr = nullptr;
    int64_t bytes = 0;
    explicit OnDevice(const HostTensor &h) : t(h.t), bytes(static_cast<int64_t>(std::max<size_t>(h.bytes.size(), 1))) {
        EXPECT_EQ(attn4j_cuda_malloc(0, bytes, &ptr), ATTN4J_STATUS_OK) << attn4j_last_error();
        EXPECT_EQ(attn4j_cuda_memcpy(ptr, h.bytes.data(), static_cast<int64_t>(h.bytes.size()), ATTN4J_COPY_HOST_TO_DEVICE),
                  ATTN4J_STATUS_OK);
        t.data = ptr;
        t.device = 0;
    }
    explicit OnDevice(const std::vector<int32_t> &a) : bytes(static_cast<int64_t>(std::max<size_t>(a.size(), 1) * 4)) {
        EXPECT_EQ(attn4j_cuda_malloc(0, bytes, &ptr), ATTN4J_STATUS_OK) << attn4j_last_error();
        EXPECT_EQ(attn4j_cuda_memcpy(ptr, a.data(), static_cast<int64_t>(a.size() * 4), ATTN4J_COPY_HOST_TO_DEVICE),
                  ATTN4J_STATUS_OK);
    }
    OnDevice(const OnDevice &) = delete;
    OnDevice &operator=(const OnDevice &) = delete;
    ~OnDevice() { attn4j_cuda_free(0, ptr); }
    const int32_t *ints() const { return static_cast<const int32_t *>(ptr); }
    // Device contents into h (same layout), after the device is idle.
    void download(HostTensor &h) const {
        ASSERT_EQ(attn4j_cuda_synchronize(0), ATTN4J_STATUS_OK) << attn4j_last_error();
        ASSERT_EQ(attn4j_cuda_memcpy(h.bytes.data(), ptr, static_cast<int64_t>(h.bytes.size()), ATTN4J_COPY_DEVICE_TO_HOST),
                  ATTN4J_STATUS_OK);
    }
};

}  // namespace attn4j::test
