// The official NIAH word-overlap score and the passkey exact match on hand-computed cases
// (eval/niah_score.h).
#include <gtest/gtest.h>

#include "eval/niah_score.h"

namespace duo::eval {
namespace {

TEST(NiahScore, OfficialWordOverlap) {
  const std::string answer = "eat a sandwich and sit in Dolores Park on a sunny day.";
  // 12 answer words, 11 distinct ("a" twice): a perfect answer scores 11/12, as in visualize.py.
  EXPECT_DOUBLE_EQ(needle_word_score(answer, answer), 11.0 / 12.0);
  EXPECT_DOUBLE_EQ(needle_word_score(" EAT A Sandwich\nand sit in dolores park on a sunny day.", answer), 11.0 / 12.0);
  // "day" without the period is another word; "sandwich," too.
  EXPECT_DOUBLE_EQ(needle_word_score("eat a sandwich, sunny day", answer), 3.0 / 12.0);  // eat, a, sunny
  EXPECT_DOUBLE_EQ(needle_word_score("", answer), 0.0);
  EXPECT_DOUBLE_EQ(needle_word_score("Dolores Dolores Dolores", answer), 1.0 / 12.0);
  EXPECT_DOUBLE_EQ(needle_word_score("x", "a b"), 0.0);
  EXPECT_DOUBLE_EQ(needle_word_score("b", "a b"), 0.5);
  EXPECT_EQ(split_words("  a\tb\n\nc "), (std::vector<std::string>{"a", "b", "c"}));
}

TEST(NiahScore, PasskeyExactMatch) {
  EXPECT_EQ(passkey_exact_score(" 71432. Remember", "71432"), 1.0);
  EXPECT_EQ(passkey_exact_score("71432", "71432"), 1.0);
  EXPECT_EQ(passkey_exact_score("714325", "71432"), 0.0);
  EXPECT_EQ(passkey_exact_score("7143", "71432"), 0.0);
  EXPECT_EQ(passkey_exact_score("The key is 71432", "71432"), 0.0);
  EXPECT_EQ(passkey_exact_score(" alpha bravo charlie", "alpha bravo"), 1.0);
  EXPECT_EQ(passkey_exact_score("anything", ""), 0.0);
  // Word-level tokenizers decode digits spaced out.
  EXPECT_EQ(passkey_exact_score(" 7 1 4 3 2 .", "71432"), 1.0);
  EXPECT_EQ(passkey_exact_score("7 1 4 3 2", "71432"), 1.0);
  EXPECT_EQ(passkey_exact_score("7 1 4 3 2 5", "71432"), 0.0);
  EXPECT_EQ(passkey_exact_score("7 1 4 3", "71432"), 0.0);
  EXPECT_EQ(passkey_exact_score("7 1 4 3 3", "71432"), 0.0);
  EXPECT_EQ(passkey_exact_score("alpha bravo x", "alpha bravo"), 1.0);
  EXPECT_EQ(passkey_exact_score("alpha bravos", "alpha bravo"), 0.0);
}

}  // namespace
}  // namespace duo::eval
