#include "common/error.h"

#include <cstdarg>
#include <cstdio>

namespace attn4j {

namespace {
thread_local std::string t_message;
}

int32_t fail(int32_t status, const char *fmt, ...) {
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    std::vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    t_message.assign(buf);
    return status;
}

void clear_error() { t_message.clear(); }

const char *last_error() { return t_message.c_str(); }

}  // namespace attn4j
