// Per-thread, 64-byte aligned scratch memory for kernels. Lives in code built for the baseline ISA,
// so no std:: container code compiled with wider instructions is shared through inline symbols.
#pragma once
#include <cstddef>

namespace attn4j::cpu {

// At least `floats` floats for the calling thread; valid until its next call on this thread.
// Throws std::bad_alloc when memory runs out.
float *thread_scratch(size_t floats);

}  // namespace attn4j::cpu
