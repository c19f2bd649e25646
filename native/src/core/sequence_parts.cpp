#include "core/sequence_parts.h"

namespace attn4j::core {

namespace {

// Rows [r0, r0 + rows) of batch entry b against its keys [k0, k0 + keys). A sequence without keys may
// start at the tensor's end, where the stride of a one-key dim is arbitrary: its pointers stay put.
FlashProblem part(const FlashProblem &p, int64_t b, int64_t r0, int64_t rows, int64_t k0, int64_t keys, bool masked) {
    if (keys == 0) k0 = 0;
    FlashProblem s = p;
    s.q = advance(p.q, p.in_dtype, b * p.sq[0] + r0 * p.sq[2]);
    s.out = advance(p.out, p.out_dtype, b * p.so[0] + r0 * p.so[2]);
    if (p.lse != nullptr) s.lse = p.lse + b * p.sl[0] + r0 * p.sl[2];
    if (p.pages.table != nullptr) {  // the pools stay; the sequence's row of the table moves
        s.pages.table = p.pages.table + b * p.pages.stride;
    } else {
        s.k = advance(p.k, p.in_dtype, b * p.sk[0] + k0 * p.sk[2]);
        s.v = advance(p.v, p.in_dtype, b * p.sv[0] + k0 * p.sv[2]);
    }
    s.batch = 1;
    s.len_q = rows;
    s.len_k = keys;
    if (!masked) s.window_left = s.window_right = -1;
    s.seqs = Sequences{};
    return s;
}

}  // namespace

std::vector<SequencePart> sequence_parts(const FlashProblem &p) {
    std::vector<SequencePart> parts;
    const Sequences &q = p.seqs;
    if (q.packed()) {
        for (int64_t b = 0; b < q.num_seqs; ++b) {
            const int64_t rows = q.cu_q[b + 1] - q.cu_q[b];
            if (rows > 0) parts.push_back({part(p, 0, q.cu_q[b], rows, q.cu_k[b], q.cu_k[b + 1] - q.cu_k[b], true), b, false});
        }
        return parts;
    }
    for (int64_t b = 0; b < p.batch; ++b) {
        const int64_t q0 = q.q_starts ? q.q_starts[b] : 0, lq = q.q_lens ? q.q_lens[b] : p.len_q - q0;
        const int64_t k0 = q.kv_starts ? q.kv_starts[b] : 0, lk = q.kv_lens ? q.kv_lens[b] : p.len_k - k0;
        if (lq > 0) parts.push_back({part(p, b, q0, lq, k0, lk, true), b, false});
        if (q0 > 0) parts.push_back({part(p, b, 0, q0, k0, lk, false), b, true});
        if (q0 + lq < p.len_q) parts.push_back({part(p, b, q0 + lq, p.len_q - q0 - lq, k0, lk, false), b, true});
    }
    return parts;
}

}  // namespace attn4j::core
