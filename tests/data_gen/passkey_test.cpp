// Passkeys, ordinals, the portable RNG helpers and linspace against LibTorch's own linspace.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <sstream>

#include "core/error.h"
#include "data_gen/passkey.h"
#include "data_gen/passkey_samples.h"

using namespace duo::data_gen;

TEST(Passkey, WordsAreNatoWords) {
  std::mt19937_64 rng(7);
  std::string key = make_passkey("words", 32, rng);
  std::istringstream in(key);
  std::vector<std::string> words;
  for (std::string w; in >> w;) words.push_back(w);
  ASSERT_EQ(words.size(), 32u);
  EXPECT_EQ(key.find("  "), std::string::npos);
  const auto& nato = nato_alphabet();
  ASSERT_EQ(nato.size(), 26u);
  EXPECT_EQ(nato[9], "juliett");
  EXPECT_EQ(nato[23], "xray");
  for (const auto& w : words) EXPECT_NE(std::find(nato.begin(), nato.end(), w), nato.end()) << w;
  EXPECT_GT(std::set<std::string>(words.begin(), words.end()).size(), 10u);
}

TEST(Passkey, DigitsHaveNoLeadingZero) {
  std::mt19937_64 rng(1);
  for (int i = 0; i < 200; ++i) {
    std::string key = make_passkey("digits", 5, rng);
    ASSERT_EQ(key.size(), 5u);
    EXPECT_NE(key[0], '0');
    for (char c : key) EXPECT_TRUE(c >= '0' && c <= '9');
  }
  EXPECT_THROW(make_passkey("hex", 5, rng), duo::Error);
  EXPECT_THROW(make_passkey("digits", 0, rng), duo::Error);
}

TEST(Passkey, DeterministicPerSeed) {
  std::mt19937_64 a(123), b(123), c(124);
  std::string ka = make_passkey("words", 16, a);
  EXPECT_EQ(ka, make_passkey("words", 16, b));
  EXPECT_NE(ka, make_passkey("words", 16, c));
  EXPECT_NE(mix_seed(1, 0), mix_seed(1, 1));
  EXPECT_NE(mix_seed(1, 0), mix_seed(2, 0));
  EXPECT_EQ(mix_seed(5, 9), mix_seed(5, 9));
}

TEST(Passkey, UniformIndexIsUniform) {
  std::mt19937_64 rng(99);
  std::vector<int> counts(26, 0);
  for (int i = 0; i < 26000; ++i) counts[uniform_index(rng, 26)]++;
  for (int c : counts) {
    EXPECT_GT(c, 800);
    EXPECT_LT(c, 1200);
  }
  EXPECT_EQ(uniform_index(rng, 1), 0u);
  EXPECT_THROW(uniform_index(rng, 0), duo::Error);
}

TEST(Passkey, OrdinalsAndTemplates) {
  ASSERT_EQ(ordinal_numbers().size(), 20u);
  EXPECT_EQ(ordinal_numbers()[0], "first");
  EXPECT_EQ(ordinal_numbers()[19], "twentieth");
  EXPECT_EQ(fill_ordinal("the {ordinal} key, {ordinal}!", "third"), "the third key, third!");
  EXPECT_EQ(render_template("vault: ", "alpha bravo"), "vault: alpha bravo");
  EXPECT_EQ(render_template("is {passkey}. Remember {passkey}.", "123"), "is 123. Remember 123.");
}

TEST(Linspace, IntegerMatchesTorchScalarDefinition) {
  struct Case {
    int64_t a, b, n;
  };
  for (auto c : {Case{1000, 32000, 50}, Case{1000, 32000, 20}, Case{0, 7, 5}, Case{256, 1024, 16}, Case{5, 5, 3},
                 Case{1000, 128000, 37}, Case{3, 100, 2}}) {
    // torch's scalar definition: double values from both ends, truncated. (Its int32 kernel's
    // vectorized path rounds the step to an integer inside each SIMD chunk, so at::linspace(...,
    // kInt) itself can differ by one depending on the CPU; that is not reproduced.)
    auto ref = at::linspace(static_cast<double>(c.a), static_cast<double>(c.b), c.n, at::kDouble).trunc();
    auto got = linspace_int(c.a, c.b, c.n);
    ASSERT_EQ(static_cast<int64_t>(got.size()), c.n);
    for (int64_t i = 0; i < c.n; ++i) {
      EXPECT_EQ(got[i], static_cast<int64_t>(ref[i].item<double>())) << c.a << ".." << c.b << " n=" << c.n << " i=" << i;
    }
  }
  EXPECT_EQ(linspace_int(3, 100, 1), std::vector<int64_t>{3});
}

TEST(Linspace, DoubleMatchesTorch) {
  auto ref = at::linspace(0.05, 0.95, 1000, at::kDouble);
  auto got = linspace(0.05, 0.95, 1000);
  ASSERT_EQ(got.size(), 1000u);
  EXPECT_DOUBLE_EQ(got.front(), 0.05);
  EXPECT_DOUBLE_EQ(got.back(), 0.95);
  for (int i = 0; i < 1000; ++i) EXPECT_NEAR(got[i], ref[i].item<double>(), 1e-12);
}
