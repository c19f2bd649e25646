#include "common/thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace attn4j {
namespace {

TEST(ThreadPool, RunsEveryIndexExactlyOnce) {
    for (int threads : {1, 2, 4, 16}) {
        std::vector<std::atomic<int>> hits(1000);
        ASSERT_TRUE(parallel_for(1000, threads, [&](int64_t i) { hits[i].fetch_add(1); }));
        for (auto &h : hits) ASSERT_EQ(h.load(), 1) << threads << " threads";
    }
}

TEST(ThreadPool, ConcurrentCallersShareThePool) {
    std::vector<std::thread> callers;
    std::atomic<int64_t> total{0};
    for (int c = 0; c < 8; ++c)
        callers.emplace_back([&] {
            for (int rep = 0; rep < 50; ++rep)
                parallel_for(100, 0, [&](int64_t i) { total.fetch_add(i); });
        });
    for (auto &t : callers) t.join();
    EXPECT_EQ(total.load(), 8 * 50 * (99 * 100 / 2));
}

TEST(ThreadPool, ReportsAThrowingBody) {
    EXPECT_FALSE(parallel_for(10, 2, [](int64_t i) {
        if (i == 3) throw std::bad_alloc();
    }));
}

}  // namespace
}  // namespace attn4j
