#include "test_support.h"

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>

#include <sys/stat.h>

#include "common/bf16.h"

namespace attn4j::test {

uint64_t run_seed() {
    static const uint64_t seed = [] {
        if (const char *s = std::getenv("ATTN4J_SEED")) return static_cast<uint64_t>(std::strtoull(s, nullptr, 10));
        return static_cast<uint64_t>(std::random_device{}()) << 32 | std::random_device{}();
    }();
    return seed;
}

HostTensor::HostTensor(int32_t dtype, int64_t b, int64_t h, int64_t n, int64_t d, bool bnhd) {
    const int64_t es = dtype == ATTN4J_DTYPE_F32 ? 4 : 2;
    bytes.assign(static_cast<size_t>(std::max<int64_t>(b * h * n * d, 1) * es), 0);
    t.data = bytes.data();
    t.dtype = dtype;
    t.device = ATTN4J_DEVICE_HOST;
    t.shape[0] = b; t.shape[1] = h; t.shape[2] = n; t.shape[3] = d;
    if (bnhd) {
        t.strides[3] = 1; t.strides[1] = d; t.strides[2] = h * d; t.strides[0] = n * h * d;
    } else {
        t.strides[3] = 1; t.strides[2] = d; t.strides[1] = n * d; t.strides[0] = h * n * d;
    }
}

float HostTensor::get(int64_t b, int64_t h, int64_t n, int64_t d) const {
    const int64_t o = offset(b, h, n, d);
    if (t.dtype == ATTN4J_DTYPE_F32) return reinterpret_cast<const float *>(bytes.data())[o];
    return bf16_to_f32(reinterpret_cast<const uint16_t *>(bytes.data())[o]);
}

void HostTensor::set(int64_t b, int64_t h, int64_t n, int64_t d, float x) {
    const int64_t o = offset(b, h, n, d);
    if (t.dtype == ATTN4J_DTYPE_F32) reinterpret_cast<float *>(bytes.data())[o] = x;
    else reinterpret_cast<uint16_t *>(bytes.data())[o] = f32_to_bf16(x);
}

void HostTensor::fill_normal(std::mt19937_64 &rng, float stddev) {
    std::normal_distribution<float> dist(0.0f, stddev);
    for (int64_t b = 0; b < t.shape[0]; ++b)
        for (int64_t h = 0; h < t.shape[1]; ++h)
            for (int64_t n = 0; n < t.shape[2]; ++n)
                for (int64_t d = 0; d < t.shape[3]; ++d) set(b, h, n, d, dist(rng));
}

void HostTensor::poison() {
    for (int64_t b = 0; b < t.shape[0]; ++b)
        for (int64_t h = 0; h < t.shape[1]; ++h)
            for (int64_t n = 0; n < t.shape[2]; ++n)
                for (int64_t d = 0; d < t.shape[3]; ++d) set(b, h, n, d, std::numeric_limits<float>::quiet_NaN());
}

std::vector<float> dense(const HostTensor &t) {
    std::vector<float> out;
    const auto &s = t.t.shape;
    for (int64_t b = 0; b < s[0]; ++b)
        for (int64_t h = 0; h < s[1]; ++h)
            for (int64_t n = 0; n < s[2]; ++n)
                for (int64_t d = 0; d < s[3]; ++d) out.push_back(t.get(b, h, n, d));
    return out;
}

std::vector<int64_t> shape_of(const HostTensor &t) { return {t.t.shape[0], t.t.shape[1], t.t.shape[2], t.t.shape[3]}; }

std::string parity_dir() {
    const char *env = std::getenv("ATTN4J_PARITY_DIR");
    const std::string dir = env != nullptr ? env : ATTN4J_PARITY_DIR;
    ::mkdir(dir.c_str(), 0755);
    return dir;
}

double rel_l2(const HostTensor &got, const std::vector<double> &ref) {
    const auto &s = got.t.shape;
    double num = 0.0, den = 0.0;
    size_t idx = 0;
    for (int64_t b = 0; b < s[0]; ++b)
        for (int64_t h = 0; h < s[1]; ++h)
            for (int64_t n = 0; n < s[2]; ++n)
                for (int64_t d = 0; d < s[3]; ++d, ++idx) {
                    const double g = got.get(b, h, n, d), r = ref[idx];
                    if (!std::isfinite(g)) return std::numeric_limits<double>::quiet_NaN();
                    num += (g - r) * (g - r);
                    den += r * r;
                }
    if (den == 0.0) return num == 0.0 ? 0.0 : std::numeric_limits<double>::infinity();
    return std::sqrt(num / den);
}

::testing::AssertionResult lse_matches(const HostTensor &lse, const std::vector<double> &ref_lse, double tol,
                                       int64_t *empty_rows) {
    const int64_t batch = lse.t.shape[0], heads = lse.t.shape[1], rows = lse.t.shape[2];
    int64_t empty = 0;
    for (int64_t b = 0; b < batch; ++b)
        for (int64_t h = 0; h < heads; ++h)
            for (int64_t i = 0; i < rows; ++i) {
                const double want = ref_lse[(b * heads + h) * rows + i];
                const float got = lse.get(b, h, i, 0);
                const bool ok = std::isinf(want) ? std::isinf(got) && got < 0 : std::fabs(got - want) <= tol * (1.0 + std::fabs(want));
                if (!ok)
                    return ::testing::AssertionFailure() << "lse of batch " << b << ", head " << h << ", row " << i << " = "
                                                         << got << ", reference " << want;
                empty += std::isinf(want) ? 1 : 0;
            }
    if (empty_rows != nullptr) *empty_rows = empty;
    return ::testing::AssertionSuccess();
}

HostTensor rows_of(const HostTensor &src, int64_t b, int64_t r0, int64_t n) {
    HostTensor t(src.t.dtype, 1, src.t.shape[1], n, src.t.shape[3]);
    for (int64_t h = 0; h < src.t.shape[1]; ++h)
        for (int64_t i = 0; i < n; ++i)
            for (int64_t e = 0; e < src.t.shape[3]; ++e) t.set(0, h, i, e, src.get(b, h, r0 + i, e));
    return t;
}

}  // namespace attn4j::test
