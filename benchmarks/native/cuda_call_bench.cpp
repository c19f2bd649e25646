// The cost of launching FlashAttention on CUDA device tensors from C++ (checks, descriptors, the
// asynchronous launch), synchronizing every 64 calls: the native side of JMH's CudaCallBenchmark, on
// the same shape (B=1, H=1, N=64, d=64, bf16). Skipped without a device.
#include <benchmark/benchmark.h>

#include "attn4j.h"
#include "bench_tensors.h"

namespace attn4j::bench {

namespace {

void flash_cuda_launch(benchmark::State &state) {
    if (attn4j_cuda_device_count() == 0) {
        state.SkipWithError("no CUDA device");
        for (auto _ : state) {}
        return;
    }
    void *buf[4] = {};
    for (void *&b : buf) attn4j_cuda_malloc(0, 64 * 64 * 2, &b);
    attn4j_tensor t[4];
    for (int i = 0; i < 4; ++i) {
        t[i] = host_tensor(buf[i], ATTN4J_DTYPE_BF16, 1, 1, 64, 64);
        t[i].device = 0;
    }
    const attn4j_flash_params p{sizeof(attn4j_flash_params), 0.0f, 0.0f, 0, -1, -1, 0, nullptr};
    int64_t calls = 0;
    for (auto _ : state) {
        if (attn4j_flash_forward(&t[0], &t[1], &t[2], &t[3], nullptr, &p) != ATTN4J_STATUS_OK) {
            state.SkipWithError(attn4j_last_error());
            break;
        }
        if (++calls % 64 == 0) attn4j_cuda_synchronize(0);
    }
    attn4j_cuda_synchronize(0);
    for (void *b : buf) attn4j_cuda_free(0, b);
}

}  // namespace

void register_cuda_call_benchmarks() {
    benchmark::RegisterBenchmark("flash_cuda_launch/bf16/B:1/H:1/N:64/d:64", flash_cuda_launch)->Unit(benchmark::kNanosecond);
}

}  // namespace attn4j::bench
