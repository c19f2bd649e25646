// A batch of sequences of different lengths (core/sequences.h) as the FlashAttention kernels walk it:
// a list of parts (each one sequence's query rows against its keys, flash_params.cuh) and a list of
// (part, query tile) entries, one block per entry and query head. Host length arrays become both
// lists on the host, heaviest tiles first across all sequences, copied in one transfer; device arrays
// (which a captured CUDA graph may rewrite between replays) become them in a small kernel on the
// stream, in sequence order, with every range clamped to the tensors.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>
#include <string>

#include "core/flash_problem.h"
#include "cuda/flash_params.cuh"

namespace attn4j::cuda::flash {

class SequencePlan {
public:
    SequencePlan(const core::FlashProblem &p, cudaStream_t stream) : p_(p), stream_(stream) {}
    SequencePlan(const SequencePlan &) = delete;
    SequencePlan &operator=(const SequencePlan &) = delete;
    ~SequencePlan();  // frees the lists after the work queued on the stream (stream-ordered)

    // Points k.parts, k.tiles (and k.num_tiles) at the lists for blocks of tile_rows query rows and
    // sets k.tile_entries; once per plan.
    int32_t make(int tile_rows, Params &k, std::string &error);

private:
    int32_t from_host(int tile_rows, Params &k, std::string &error);
    int32_t on_device(int tile_rows, Params &k, std::string &error);

    const core::FlashProblem &p_;
    cudaStream_t stream_;
    void *work_ = nullptr;
};

}  // namespace attn4j::cuda::flash
