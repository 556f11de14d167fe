// Needle-in-a-haystack prompts on the official essays with the Llama 3 tokenizer: the needle at
// the last sentence end before the depth point, the prompt within the context length, the
// templates when decoded, and the passkey variant.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "core/error.h"
#include "data_gen/niah.h"
#include "test_util.h"

using namespace duo::data_gen;

namespace {

std::string essays() { return std::string(DUO_SHARED_DIR) + "/reference/needle-haystack"; }

bool ends_with_period(const duo::tokenizer::Tokenizer& tok, int32_t id) {
  std::string s = tok.decode({id});
  while (!s.empty() && (s.back() == ' ' || s.back() == '\n')) s.pop_back();
  return !s.empty() && s.back() == '.';
}

}  // namespace

TEST(Niah, NeedleAtLastSentenceEndBeforeDepth) {
  DUO_NEED_LLAMA3();
  if (!std::filesystem::exists(essays())) GTEST_SKIP() << "no " << essays();
  NiahOptions o;
  o.haystack_dir = essays();
  NiahPromptBuilder b(tok, o, 6000);
  auto prefix = tok.encode(o.prompt_prefix, true);
  auto needle = tok.encode(o.needle, false);
  for (int64_t ctx : {1000, 6000}) {
    for (double depth : {0.0, 10.0, 33.3, 50.0, 90.0, 100.0}) {
      SCOPED_TRACE("ctx " + std::to_string(ctx) + " depth " + std::to_string(depth));
      NiahPrompt p = b.build(ctx, depth);
      EXPECT_LE(static_cast<int64_t>(p.ids.size()), ctx);
      EXPECT_EQ(p.haystack_tokens, ctx - 200 - static_cast<int64_t>(needle.size()));  // official cut
      EXPECT_EQ(p.needle_token_end - p.needle_token_start, static_cast<int64_t>(needle.size()));
      EXPECT_EQ(std::vector<int32_t>(p.ids.begin() + p.needle_token_start, p.ids.begin() + p.needle_token_end), needle);
      int64_t point = p.needle_token_start - static_cast<int64_t>(prefix.size());
      auto target = static_cast<int64_t>(std::floor(p.haystack_tokens * depth / 100.0));
      if (depth == 100.0) {
        EXPECT_EQ(point, p.haystack_tokens);
      } else {
        EXPECT_LE(point, target);
        if (point > 0) {
          EXPECT_TRUE(ends_with_period(tok, p.ids[p.needle_token_start - 1]));
        }
        // No sentence ends between the needle and the depth point: it is the last one before it.
        // Haystack token q >= point sits after the needle, at prefix + needle + q.
        for (int64_t q = point; q < target; ++q) {
          EXPECT_FALSE(ends_with_period(tok, p.ids[prefix.size() + needle.size() + q]))
              << "a later sentence end at haystack token " << q;
        }
        if (depth > 0) {
          EXPECT_GT(point, target - 400);  // essays have sentences more often than that
        }
      }
      EXPECT_NEAR(p.actual_depth_percent, 100.0 * point / p.haystack_tokens, 1e-9);
      std::string text = tok.decode(p.ids, true);
      EXPECT_EQ(text.rfind("<|im_start|> This is a very long story book: <book> ", 0), 0u);
      EXPECT_NE(text.find("Remember, the best thing to do in San Francisco is eat a sandwich and sit in Dolores Park on a "
                          "sunny day."),
                std::string::npos);
      const std::string tail =
          " </book>.\n\nQuestion: Based on the content of the book, what is the best thing to do in San Francisco?\n\n"
          "Answer: The best thing to do in San Francisco is";
      ASSERT_GE(text.size(), tail.size());
      EXPECT_EQ(text.substr(text.size() - tail.size()), tail);
      EXPECT_EQ(p.answer, "eat a sandwich and sit in Dolores Park on a sunny day.");
    }
  }
  // Depth 0 puts the needle right after the prompt prefix.
  EXPECT_EQ(b.build(2000, 0.0).needle_token_start, static_cast<int64_t>(prefix.size()));
  // The one-shot function gives the same prompt.
  EXPECT_EQ(build_niah_prompt(tok, o, 2000, 50.0).ids, b.build(2000, 50.0).ids);
  EXPECT_THROW(b.build(6001, 50.0), duo::Error);
  EXPECT_THROW(b.build(2000, 100.5), duo::Error);
  EXPECT_THROW(b.build(220, 50.0), duo::Error);  // no room left for any haystack
}

TEST(Niah, PasskeyVariant) {
  DUO_NEED_LLAMA3();
  NiahOptions o = NiahOptions::passkey_variant();
  o.haystack_dir = "builtin";
  NiahPromptBuilder b(tok, o, 1024);
  NiahPrompt p = b.build(1024, 40.0);
  EXPECT_LE(static_cast<int64_t>(p.ids.size()), 1024);
  EXPECT_GT(static_cast<int64_t>(p.ids.size()), 1000);
  ASSERT_EQ(p.answer.size(), 5u);
  std::string needle = tok.decode(std::vector<int32_t>(p.ids.begin() + p.needle_token_start, p.ids.begin() + p.needle_token_end));
  EXPECT_EQ(needle, " The pass key is " + p.answer + ". Remember it. " + p.answer + " is the pass key. ");
  std::string text = tok.decode(p.ids, true);
  const std::string tail = "\n\nWhat is the pass key? The pass key is ";
  EXPECT_EQ(text.substr(text.size() - tail.size()), tail);
  EXPECT_EQ(b.build(1024, 40.0).ids, p.ids);  // reproducible per (seed, length, depth)
  EXPECT_TRUE(ends_with_period(tok, p.ids[p.needle_token_start - 1]));
  o.passkey_kind = "words";
  o.passkey_length = 3;
  NiahPrompt w = NiahPromptBuilder(tok, o, 512).build(512, 50.0);
  EXPECT_EQ(std::count(w.answer.begin(), w.answer.end(), ' '), 2);
}

TEST(Niah, MissingHaystack) {
  DUO_NEED_LLAMA3();
  NiahOptions o;
  o.haystack_dir = "/nonexistent/essays";
  EXPECT_THROW(NiahPromptBuilder(tok, o, 1000), duo::Error);
  o.haystack_dir = "";
  EXPECT_THROW(NiahPromptBuilder(tok, o, 1000), duo::Error);
}
