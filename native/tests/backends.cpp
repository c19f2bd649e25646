#include "backends.h"

#include <cstdio>
#include <map>
#include <set>

#include "cpu/isa.h"

namespace attn4j::test {

namespace {

struct Tally {
    int ran = 0, skipped = 0;
    std::set<std::string> reasons;
};

// (family, backend) -> what ran and what was skipped, in table order of the families' first use.
std::map<std::pair<std::string, std::string>, Tally> &tallies() {
    static std::map<std::pair<std::string, std::string>, Tally> t;
    return t;
}

// Prints the tallies after the last test (also when run through a filter, for what it ran).
class CoverageReport : public ::testing::Environment {
public:
    void TearDown() override {
        if (tallies().empty()) return;
        std::printf("[ backends ] case tables per family and backend:\n");
        for (const auto &[key, t] : tallies()) {
            std::printf("[ backends ] %-10s %-7s %4d ran, %4d skipped", key.first.c_str(), key.second.c_str(), t.ran,
                        t.skipped);
            const char *sep = ": ";
            for (const std::string &r : t.reasons) {
                std::printf("%s%s", sep, r.c_str());
                sep = "; ";
            }
            std::printf("\n");
        }
    }
};

::testing::Environment *const kReport = ::testing::AddGlobalTestEnvironment(new CoverageReport);

}  // namespace

std::string Backend::id() const {
    std::string s;
    for (char ch : name)
        if (ch != ':') s += ch;
    return s;
}

std::string Backend::absent() const {
    if (cuda()) {
        if (attn4j_cuda_available() == 0) return "attn4j built without CUDA";
        if (attn4j_cuda_device_count() == 0) return "no CUDA device";
        return "";
    }
    if (isa > attn4j_cpu_isa_best()) return std::string("this CPU has no ") + name;
    return "";
}

const std::vector<Backend> &backends() {
    static const std::vector<Backend> all = [] {
        std::vector<Backend> b;
        for (int32_t isa = 0; isa < cpu::kIsaCount; ++isa) b.push_back({attn4j_isa_name(isa), isa});
        b.push_back({"cuda:0", -1});
        return b;
    }();
    return all;
}

std::string skip_reason(const char *family, const Backend &b, const std::string &unsupported) {
    const std::string why = unsupported.empty() ? b.absent() : unsupported;
    Tally &t = tallies()[{family, b.name}];
    if (why.empty()) {
        ++t.ran;
    } else {
        ++t.skipped;
        t.reasons.insert(why);
    }
    return why;
}

UseIsa::UseIsa(const Backend &b) : saved_(attn4j_cpu_isa()) { EXPECT_EQ(attn4j_set_cpu_isa(b.isa), ATTN4J_STATUS_OK); }

UseIsa::~UseIsa() { attn4j_set_cpu_isa(saved_); }

}  // namespace attn4j::test
