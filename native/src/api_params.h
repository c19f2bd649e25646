// The params structs' growth rule (attn4j.h): the caller's `size` says how much of the struct it
// knows; the rest takes the defaults. Written once here for every params struct.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "attn4j.h"
#include "common/error.h"

namespace attn4j {

// Each params struct's name (for messages) and first layout's size.
template <typename P>
struct ParamsInfo;
template <>
struct ParamsInfo<attn4j_flash_params> {
    static constexpr const char *name = "attn4j_flash_params";
    static constexpr int32_t v1_size = ATTN4J_FLASH_PARAMS_SIZE_V1;
};
template <>
struct ParamsInfo<attn4j_lightning_params> {
    static constexpr const char *name = "attn4j_lightning_params";
    static constexpr int32_t v1_size = ATTN4J_LIGHTNING_PARAMS_SIZE_V1;
};
template <>
struct ParamsInfo<attn4j_sale_params> {
    static constexpr const char *name = "attn4j_sale_params";
    static constexpr int32_t v1_size = ATTN4J_SALE_PARAMS_SIZE_V1;
};

template <>
struct ParamsInfo<attn4j_kv_append_params> {
    static constexpr const char *name = "attn4j_kv_append_params";
    static constexpr int32_t v1_size = ATTN4J_KV_APPEND_PARAMS_SIZE_V1;
};

// The defaults (what the *_params_init functions write): zero or NULL, but where a struct says otherwise.
template <typename P>
P default_params() {
    P p{};
    p.size = sizeof p;
    return p;
}
template <>
inline attn4j_flash_params default_params() {
    attn4j_flash_params p{};
    p.size = sizeof p;
    p.window_left = p.window_right = -1;
    return p;
}

// The first layouts end with cuda_stream; appended fields must not move it.
static_assert(offsetof(attn4j_flash_params, cuda_stream) + sizeof(void *) == ATTN4J_FLASH_PARAMS_SIZE_V1);
static_assert(offsetof(attn4j_lightning_params, cuda_stream) + sizeof(void *) == ATTN4J_LIGHTNING_PARAMS_SIZE_V1);
static_assert(offsetof(attn4j_sale_params, cuda_stream) + sizeof(void *) == ATTN4J_SALE_PARAMS_SIZE_V1);
static_assert(sizeof(attn4j_kv_append_params) == ATTN4J_KV_APPEND_PARAMS_SIZE_V1);

// `out` = the defaults overlaid with the first given->size bytes of *given (NULL: the defaults).
template <typename P>
int32_t read_params(const P *given, P &out) {
    using Info = ParamsInfo<P>;
    out = default_params<P>();
    if (given == nullptr) return ATTN4J_STATUS_OK;
    const int32_t size = given->size;  // the first field: inside every layout the caller may have
    const int32_t ours = static_cast<int32_t>(sizeof(P));
    if (size > ours)
        return fail(ATTN4J_STATUS_INVALID_PARAM,
                    "params.size = %d is larger than this library's %s (%d bytes): built against a newer attn4j.h, "
                    "or params.size was never set",
                    size, Info::name, ours);
    if (size < Info::v1_size)
        return fail(ATTN4J_STATUS_INVALID_PARAM,
                    "params.size = %d is smaller than the first %s layout (%d bytes): set params.size = sizeof(%s), "
                    "or fill params with %s_init",
                    size, Info::name, Info::v1_size, Info::name, Info::name);
    std::memcpy(static_cast<void *>(&out), given, static_cast<size_t>(size));
    out.size = ours;
    return ATTN4J_STATUS_OK;
}

// The *_params_init entry points.
template <typename P>
int32_t init_params(P *p) {
    clear_error();
    if (p == nullptr) return fail(ATTN4J_STATUS_NULL_ARGUMENT, "p is NULL");
    *p = default_params<P>();
    return ATTN4J_STATUS_OK;
}

}  // namespace attn4j
