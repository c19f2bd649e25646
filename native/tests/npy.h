// Minimal .npy (format 1.0) writer for the cross-language parity vectors.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace attn4j::test {

bool write_npy(const std::string &path, const std::vector<float> &data, const std::vector<int64_t> &shape);
bool write_npy(const std::string &path, const std::vector<double> &data, const std::vector<int64_t> &shape);

}  // namespace attn4j::test
