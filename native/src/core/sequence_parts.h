// A call over sequences of different lengths (FlashProblem::seqs, host arrays) as one problem per
// sequence: a batch of one over its own query rows and keys, pointers moved to its first row and
// key, so that any kernel runs it unchanged. The padded form's padded query rows get problems of
// their own that see all of their sequence's valid keys, unmasked.
#pragma once
#include <cstdint>
#include <vector>

#include "core/flash_problem.h"

namespace attn4j::core {

struct SequencePart {
    FlashProblem problem;
    int64_t seq;   // the sequence (batch entry of the padded form, index of the packed form)
    bool padding;  // padded query rows of the padded form
};

// In sequence order; sequences without query rows have no part.
std::vector<SequencePart> sequence_parts(const FlashProblem &p);

}  // namespace attn4j::core
