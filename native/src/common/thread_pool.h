// One process-wide worker pool shared by every kernel call. Calls from many application threads
// queue their work on the same workers instead of each starting its own team, so the machine is
// never oversubscribed however many Java threads call at once.
#pragma once
#include <cstdint>
#include <functional>

namespace attn4j {

// Runs body(i) for every i in [0, n) on at most `threads` threads (the caller is one of them).
// Returns false if a body threw (e.g. out of memory); all started bodies have finished on return.
bool parallel_for(int64_t n, int threads, const std::function<void(int64_t)> &body);

// The same with a plain function pointer and context: for code built for a wider ISA, so that no
// std::function template code compiled with those instructions is shared with baseline code.
bool parallel_for(int64_t n, int threads, void (*body)(void *ctx, int64_t i), void *ctx);

// Threads used when a call asks for 0: ATTN4J_NUM_THREADS if set, else the hardware's count.
int default_threads();

// Resolves a caller's thread request (0 = default) to a count in [1, default_threads()].
int resolve_threads(int requested);

}  // namespace attn4j
