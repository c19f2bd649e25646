// Thread-local error state behind attn4j_last_error(): a status plus a message naming the argument.
#pragma once
#include <cstdint>
#include <string>

namespace attn4j {

// Records the message for this thread and returns the status, so checks read `return fail(...)`.
int32_t fail(int32_t status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void clear_error();
const char *last_error();

}  // namespace attn4j
