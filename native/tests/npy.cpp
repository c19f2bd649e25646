#include "npy.h"

#include <cstdio>

namespace attn4j::test {

namespace {

template <typename T>
bool write(const std::string &path, const char *descr, const std::vector<T> &data, const std::vector<int64_t> &shape) {
    std::string dims;
    for (int64_t s : shape) dims += std::to_string(s) + ", ";
    std::string header = std::string("{'descr': '") + descr + "', 'fortran_order': False, 'shape': (" + dims + "), }";
    const size_t preamble = 10;  // magic (6) + version (2) + header length (2)
    header.append((64 - (preamble + header.size() + 1) % 64) % 64, ' ');
    header += '\n';
    std::FILE *f = std::fopen(path.c_str(), "wb");
    if (f == nullptr) return false;
    const unsigned char magic[8] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0};
    const uint16_t len = static_cast<uint16_t>(header.size());
    const unsigned char len_le[2] = {static_cast<unsigned char>(len & 0xff), static_cast<unsigned char>(len >> 8)};
    bool ok = std::fwrite(magic, 1, 8, f) == 8 && std::fwrite(len_le, 1, 2, f) == 2 &&
              std::fwrite(header.data(), 1, header.size(), f) == header.size() &&
              std::fwrite(data.data(), sizeof(T), data.size(), f) == data.size();
    return std::fclose(f) == 0 && ok;
}

}  // namespace

bool write_npy(const std::string &path, const std::vector<float> &data, const std::vector<int64_t> &shape) {
    return write(path, "<f4", data, shape);
}

bool write_npy(const std::string &path, const std::vector<double> &data, const std::vector<int64_t> &shape) {
    return write(path, "<f8", data, shape);
}

}  // namespace attn4j::test
