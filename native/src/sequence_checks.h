// The sequence-length arrays of attn4j_flash_params (padded or packed form) checked against q and k.
#pragma once
#include <cstdint>

#include "attn4j.h"
#include "core/flash_problem.h"
#include "core/sequences.h"

namespace attn4j {

// Packed form: cu[0] = 0, never decreasing, cu[seqs] = total; `longest` gets the longest sequence.
int32_t check_prefix_sums(const char *name, const int32_t *cu, int64_t seqs, int64_t total, const char *what,
                          int64_t &longest);

// q, k and v are valid already. Fills `seqs` (the longest lengths resolved) or fails naming the field.
// host_only: the kernels (named for the message) that take no device arrays; null: CUDA tensors may.
// pages: where a paged cache's layout goes (params.block_table); null: the caller takes none.
int32_t check_sequences(const attn4j_tensor *q, const attn4j_tensor *k, const attn4j_flash_params &params,
                        core::Sequences &seqs, const char *host_only = nullptr, core::KeyPages *pages = nullptr);

}  // namespace attn4j
