// How a batch's sequences lie in their tensors when they differ in length (attn4j_flash_params):
// the padded form (valid rows and keys of each batch entry) or the packed form (prefix sums over
// one long batch entry). Arrays live in host memory, or (CUDA tensors, on_device) in the tensors'
// device memory, where the host cannot read them; every pointer null: no lengths.
#pragma once
#include <cstdint>

namespace attn4j::core {

struct Sequences {
    const int32_t *q_lens = nullptr, *kv_lens = nullptr, *q_starts = nullptr, *kv_starts = nullptr;
    const int32_t *cu_q = nullptr, *cu_k = nullptr;
    int64_t num_seqs = 0;           // packed: sequences (0: not packed)
    int64_t max_q = 0, max_k = 0;   // the longest sequence's (valid) queries and keys
    bool on_device = false;         // the arrays are device memory (CUDA): not read on the host

    bool packed() const { return num_seqs > 0; }
    bool any() const { return packed() || q_lens || kv_lens || q_starts || kv_starts; }
};

}  // namespace attn4j::core
