#include "common/thread_pool.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace attn4j {

namespace {

struct Job {
    const std::function<void(int64_t)> *body;
    int64_t n;
    std::atomic<int64_t> next{0};
    std::atomic<int64_t> finished{0};
    std::atomic<int> helper_slots{0};
    std::atomic<bool> failed{false};
    std::mutex mu;
    std::condition_variable done_cv;
};

// Claims indices until none are left; returns how many this thread finished.
void run_indices(Job &job) {
    int64_t done = 0;
    for (;;) {
        int64_t i = job.next.fetch_add(1, std::memory_order_relaxed);
        if (i >= job.n) break;
        try {
            (*job.body)(i);
        } catch (...) {
            job.failed.store(true);
        }
        ++done;
    }
    if (done > 0 && job.finished.fetch_add(done) + done == job.n) {
        std::lock_guard<std::mutex> lock(job.mu);
        job.done_cv.notify_all();
    }
}

class Pool {
public:
    static Pool &instance() {
        // Leaked on purpose: workers must outlive static destructors of callers at exit.
        static Pool *pool = new Pool(std::max(1, default_threads() - 1));
        return *pool;
    }

    void submit(const std::shared_ptr<Job> &job) {
        {
            std::lock_guard<std::mutex> lock(mu_);
            queue_.push_back(job);
        }
        cv_.notify_all();
    }

    void retire(const std::shared_ptr<Job> &job) {
        std::lock_guard<std::mutex> lock(mu_);
        auto it = std::find(queue_.begin(), queue_.end(), job);
        if (it != queue_.end()) queue_.erase(it);
    }

private:
    explicit Pool(int workers) {
        for (int w = 0; w < workers; ++w) std::thread([this] { work(); }).detach();
    }

    void work() {
        for (;;) {
            std::shared_ptr<Job> job;
            {
                std::unique_lock<std::mutex> lock(mu_);
                cv_.wait(lock, [this] { return !queue_.empty(); });
                for (auto it = queue_.begin(); it != queue_.end();) {
                    Job &j = **it;
                    if (j.next.load() >= j.n || j.helper_slots.load() <= 0) {
                        if (j.next.load() >= j.n) { it = queue_.erase(it); continue; }
                        ++it;
                        continue;
                    }
                    j.helper_slots.fetch_sub(1);
                    job = *it;
                    break;
                }
                if (!job) {
                    // Every queued job is saturated with helpers: wait for a change.
                    cv_.wait(lock);
                    continue;
                }
            }
            run_indices(*job);
        }
    }

    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<std::shared_ptr<Job>> queue_;
};

int env_threads() {
    const char *s = std::getenv("ATTN4J_NUM_THREADS");
    if (s == nullptr) return 0;
    int v = std::atoi(s);
    return v > 0 ? v : 0;
}

}  // namespace

int default_threads() {
    static const int n = [] {
        int e = env_threads();
        if (e > 0) return e;
        unsigned hw = std::thread::hardware_concurrency();
        return hw == 0 ? 1 : static_cast<int>(hw);
    }();
    return n;
}

int resolve_threads(int requested) {
    int def = default_threads();
    if (requested <= 0) return def;
    return std::min(requested, def);
}

bool parallel_for(int64_t n, int threads, const std::function<void(int64_t)> &body) {
    if (n <= 0) return true;
    threads = static_cast<int>(std::min<int64_t>(std::max(threads, 1), n));
    if (threads == 1) {
        try {
            for (int64_t i = 0; i < n; ++i) body(i);
        } catch (...) {
            return false;
        }
        return true;
    }
    auto job = std::make_shared<Job>();
    job->body = &body;
    job->n = n;
    job->helper_slots.store(threads - 1);
    Pool &pool = Pool::instance();
    pool.submit(job);
    run_indices(*job);
    {
        std::unique_lock<std::mutex> lock(job->mu);
        job->done_cv.wait(lock, [&] { return job->finished.load() == job->n; });
    }
    pool.retire(job);
    return !job->failed.load();
}

bool parallel_for(int64_t n, int threads, void (*body)(void *ctx, int64_t i), void *ctx) {
    return parallel_for(n, threads, std::function<void(int64_t)>([body, ctx](int64_t i) { body(ctx, i); }));
}

}  // namespace attn4j
