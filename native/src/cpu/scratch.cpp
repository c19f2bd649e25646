#include "cpu/scratch.h"

#include <cstdlib>
#include <new>

namespace attn4j::cpu {

namespace {
struct Buffer {
    float *data = nullptr;
    size_t size = 0;
    ~Buffer() { std::free(data); }
};
thread_local Buffer t_buffer;
}  // namespace

float *thread_scratch(size_t floats) {
    if (floats > t_buffer.size) {
        const size_t bytes = ((floats * sizeof(float) + 63) / 64) * 64;
        void *p = std::aligned_alloc(64, bytes);
        if (p == nullptr) throw std::bad_alloc();
        std::free(t_buffer.data);
        t_buffer.data = static_cast<float *>(p);
        t_buffer.size = bytes / sizeof(float);
    }
    return t_buffer.data;
}

}  // namespace attn4j::cpu
