// Replays the committed fuzz corpus (tests/fuzz/corpus/<target>/) through the same entry points the
// libFuzzer harnesses use (targets.h), in the normal suite and with any compiler. A bug aborts the
// test binary with "fuzz: BUG in <target>: ..."; the checks here make sure the corpus is there and
// still reaches the parsers' accepting paths (files named valid-* must be accepted).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "fuzz/targets.h"

namespace duo::fuzz {
namespace {
namespace fs = std::filesystem;

const fs::path kCorpus = fs::path(DUO_SOURCE_DIR) / "tests" / "fuzz" / "corpus";

std::vector<uint8_t> read_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void PrintTo(const Target& t, std::ostream* os) { *os << t.name; }

class CorpusReplay : public ::testing::TestWithParam<Target> {};

TEST_P(CorpusReplay, EveryFileIsAcceptedOrCleanlyRejected) {
  const Target t = GetParam();
  const fs::path dir = kCorpus / t.name;
  ASSERT_TRUE(fs::is_directory(dir)) << dir << " is missing";
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.is_regular_file()) files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  ASSERT_FALSE(files.empty()) << dir << " holds no inputs";
  int accepted = 0, valid_seeds = 0;
  for (const auto& f : files) {
    const auto bytes = read_bytes(f);
    const Outcome o = t.fn(bytes.data(), bytes.size());
    accepted += o == Outcome::kAccepted;
    if (f.filename().string().rfind("valid-", 0) == 0) {
      ++valid_seeds;
      EXPECT_EQ(o, Outcome::kAccepted) << f << " is a valid seed but was rejected";
    }
  }
  EXPECT_GT(valid_seeds, 0) << dir << " has no valid-* seed";
  EXPECT_GT(accepted, 0) << "nothing in " << dir << " reaches the accepting path";
  RecordProperty("files", static_cast<int>(files.size()));
}

INSTANTIATE_TEST_SUITE_P(Targets, CorpusReplay, ::testing::ValuesIn(all_targets()),
                         [](const ::testing::TestParamInfo<Target>& info) { return std::string(info.param.name); });

// A known-bad input of each kind is rejected, not accepted (guards against a target that
// swallows everything).
TEST(CorpusReplay, GarbageIsRejectedByEveryTarget) {
  static const char kJunk[] = "\xff\x00 not a file of any kind \x01";
  const std::string junk(kJunk, sizeof(kJunk) - 1);
  for (const auto& t : all_targets()) {
    EXPECT_EQ(t.fn(reinterpret_cast<const uint8_t*>(junk.data()), junk.size()), Outcome::kRejected) << t.name;
  }
}

}  // namespace
}  // namespace duo::fuzz
