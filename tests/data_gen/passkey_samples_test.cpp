// Multi-passkey samples with the real Llama 3 tokenizer: needles at the requested depths, labels
// exactly on the question-and-answer tokens, lengths in range, templates in the decoded text,
// determinism, the classic template set, and a context too short for the needles.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "core/error.h"
#include "data_gen/generate.h"
#include "data_gen/haystack.h"
#include "data_gen/passkey_samples.h"
#include "test_util.h"

using namespace duo::data_gen;

namespace {

GenOptions small_options() {
  GenOptions o;
  o.num_samples = 10;
  o.num_passkeys = 3;
  o.passkey_length = 6;
  o.context_min = 300;
  o.context_max = 1500;
  o.context_intervals = 5;
  o.depth_intervals = 50;
  o.buffer_size = 50;
  return o;
}

std::vector<int32_t> slice(const std::vector<int32_t>& v, int64_t b, int64_t e) {
  return std::vector<int32_t>(v.begin() + b, v.begin() + e);
}

std::vector<int32_t> cat(std::vector<int32_t> a, const std::vector<int32_t>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

}  // namespace

TEST(PasskeySamples, OfficialLayoutDepthsAndLabels) {
  DUO_NEED_LLAMA3();
  GenOptions o = small_options();
  PasskeySampleGenerator gen(tok, o);
  const auto& t = o.templates;
  auto prefix = tok.encode(t.prompt_prefix, true);
  auto suffix = tok.encode(t.prompt_suffix, false);
  auto sep = tok.encode(t.separator, false);
  auto sep_n = static_cast<int64_t>(sep.size());
  auto hay = tokenize_haystack(tok, "builtin", o.context_max);
  auto lengths = linspace_int(o.context_min, o.context_max, o.context_intervals);
  auto depth_grid = linspace(o.min_depth, o.max_depth, o.depth_intervals);
  // (This Llama 3 file's post-processor is ByteLevel only, so encode(..., true) adds no BOS here.)
  ASSERT_EQ(prefix, tok.encode("<|im_start|> This is a very long story book: <book> ", true));

  std::set<int64_t> first_pass;
  for (int64_t i = 0; i < o.num_samples; ++i) {
    PasskeySample s = gen.sample(i);
    const auto& ids = s.input_ids;
    const auto T = static_cast<int64_t>(ids.size());
    SCOPED_TRACE("sample " + std::to_string(i));
    // Lengths: within [context_min, context_max], a multiple of 16, context drawn from the linspace.
    EXPECT_LE(T, o.context_max);
    EXPECT_GE(T, o.context_min);
    EXPECT_EQ(T % 16, 0);
    EXPECT_NE(std::find(lengths.begin(), lengths.end(), s.context_length), lengths.end());
    if (i < o.context_intervals) first_pass.insert(s.context_length);
    EXPECT_EQ(s.haystack_length, std::min<int64_t>(s.context_length, gen.haystack_size()));
    EXPECT_TRUE(std::equal(prefix.begin(), prefix.end(), ids.begin()));

    // Depths: distinct grid values, ascending, within [min_depth, max_depth].
    ASSERT_EQ(s.depths.size(), 3u);
    EXPECT_TRUE(std::is_sorted(s.depths.begin(), s.depths.end()));
    EXPECT_EQ(std::set<double>(s.depths.begin(), s.depths.end()).size(), 3u);
    for (double d : s.depths) EXPECT_NE(std::find(depth_grid.begin(), depth_grid.end(), d), depth_grid.end());

    // Walk the sample: hay, sep, needle, sep, ... and check each needle's haystack offset is
    // floor(h * depth) and its tokens are the template's followed by the key's.
    int64_t pos = static_cast<int64_t>(prefix.size());
    int64_t hay_pos = 0;
    for (size_t j = 0; j < 3; ++j) {
      auto point = static_cast<int64_t>(static_cast<double>(s.haystack_length) * s.depths[j]);
      int64_t run = point - hay_pos;
      EXPECT_EQ(slice(ids, pos, pos + run), slice(hay, hay_pos, point));
      pos += run;
      hay_pos = point;
      EXPECT_EQ(slice(ids, pos, pos + sep_n), sep);
      pos += sep_n;
      EXPECT_EQ(s.needle_starts[j], pos) << "needle " << j;
      std::string needle_text = fill_ordinal(t.needle, ordinal_numbers()[j]);
      auto needle = cat(tok.encode(needle_text, false), tok.encode(s.passkeys[j], false));
      EXPECT_EQ(slice(ids, pos, pos + static_cast<int64_t>(needle.size())), needle);
      EXPECT_EQ(tok.decode(needle), needle_text + s.passkeys[j]);
      pos += static_cast<int64_t>(needle.size());
      EXPECT_EQ(s.needle_ends[j], pos);
      EXPECT_EQ(slice(ids, pos, pos + sep_n), sep);
      pos += sep_n;
      EXPECT_EQ(std::count(s.passkeys[j].begin(), s.passkeys[j].end(), ' '), 5);
    }
    EXPECT_EQ(slice(ids, pos, pos + s.haystack_length - hay_pos), slice(hay, hay_pos, s.haystack_length));
    pos += s.haystack_length - hay_pos;

    // Then the pad (1..16 haystack tail tokens, official), the suffix and the labelled QA block.
    int64_t qa_start = s.question_starts[0];
    int64_t pad = qa_start - static_cast<int64_t>(suffix.size()) - pos;
    EXPECT_GE(pad, 1);
    EXPECT_LE(pad, 16);
    EXPECT_EQ(slice(ids, pos, pos + pad), slice(hay, gen.haystack_size() - pad, gen.haystack_size()));
    EXPECT_EQ(slice(ids, qa_start - static_cast<int64_t>(suffix.size()), qa_start), suffix);
    std::vector<int32_t> qa;
    for (size_t j = 0; j < 3; ++j) {
      EXPECT_EQ(s.question_starts[j], qa_start + static_cast<int64_t>(qa.size()));
      qa = cat(qa, tok.encode(fill_ordinal(t.question, ordinal_numbers()[j]), false));
      qa = cat(qa, tok.encode(s.passkeys[j], false));
      qa = cat(qa, sep);
    }
    EXPECT_EQ(slice(ids, qa_start, T), qa);
    for (int64_t p = 0; p < T; ++p) ASSERT_EQ(s.label_mask[p], p >= qa_start ? 1 : 0) << "position " << p;

    // Templates appear in the decoded text.
    std::string text = tok.decode(ids, /*skip_special_tokens=*/true);
    EXPECT_EQ(text.rfind("<|im_start|> This is a very long story book: <book> The grass is green.", 0), 0u);
    EXPECT_NE(text.find("Remeber this sequence of words, it's the second passkey to the vault: " + s.passkeys[1]),
              std::string::npos);
    EXPECT_NE(text.find(" </book>.\n\nBased on the content of the book, what is the first passkey to the vault?"
                        "\nPasskey: " + s.passkeys[0] + "\n\nBased on the content of the book, what is the second"),
              std::string::npos);
    EXPECT_EQ(s.answer(), s.passkeys[0] + "\n" + s.passkeys[1] + "\n" + s.passkeys[2]);
  }
  // The first pass over the context lengths is a permutation of the linspace.
  EXPECT_EQ(first_pass.size(), lengths.size());
}

TEST(PasskeySamples, LabelsWithoutSeparators) {
  DUO_NEED_LLAMA3();
  GenOptions o = small_options();
  o.label_separators = false;
  PasskeySampleGenerator gen(tok, o);
  auto sep_n = static_cast<int64_t>(tok.encode(o.templates.separator, false).size());
  PasskeySample s = gen.sample(3);
  std::vector<uint8_t> expect(s.input_ids.size(), 0);
  for (size_t j = 0; j < 3; ++j) {
    auto n = tok.encode(fill_ordinal(o.templates.question, ordinal_numbers()[j]), false).size() +
             tok.encode(s.passkeys[j], false).size();
    std::fill_n(expect.begin() + s.question_starts[j], n, 1);
    EXPECT_EQ(s.question_starts[j] + static_cast<int64_t>(n) + sep_n,
              j + 1 < 3 ? s.question_starts[j + 1] : static_cast<int64_t>(s.input_ids.size()));
  }
  EXPECT_EQ(s.label_mask, expect);
}

TEST(PasskeySamples, DeterministicPerSeed) {
  DUO_NEED_LLAMA3();
  GenOptions o = small_options();
  PasskeySampleGenerator a(tok, o), b(tok, o);
  o.seed += 1;
  PasskeySampleGenerator c(tok, o);
  bool differs = false;
  for (int64_t i = 0; i < 5; ++i) {
    EXPECT_EQ(a.sample(i).input_ids, b.sample(i).input_ids);
    EXPECT_EQ(a.sample(i).label_mask, b.sample(i).label_mask);
    differs |= a.sample(i).input_ids != c.sample(i).input_ids;
  }
  EXPECT_TRUE(differs);
  EXPECT_NE(a.sample(0).passkeys, a.sample(1).passkeys);
}

TEST(PasskeySamples, ClassicDigitTemplate) {
  DUO_NEED_LLAMA3();
  GenOptions o = GenOptions::classic();
  o.num_samples = 4;
  PasskeySampleGenerator gen(tok, o);
  for (int64_t i = 0; i < 4; ++i) {
    PasskeySample s = gen.sample(i);
    ASSERT_EQ(s.passkeys.size(), 1u);
    const std::string& k = s.passkeys[0];
    EXPECT_EQ(k.size(), 5u);
    EXPECT_LE(static_cast<int64_t>(s.input_ids.size()), o.context_max);
    std::string text = tok.decode(s.input_ids, true);
    EXPECT_NE(text.find(" The pass key is " + k + ". Remember it. " + k + " is the pass key. "), std::string::npos)
        << text;
    EXPECT_EQ(text.rfind("There is an important info hidden inside a lot of irrelevant text.", 0), 0u);
    auto qa = std::vector<int32_t>(s.input_ids.begin() + s.question_starts[0], s.input_ids.end());
    EXPECT_EQ(tok.decode(qa), "What is the pass key? The pass key is " + k + " ");
    EXPECT_EQ(s.answer(), k);
  }
}

TEST(PasskeySamples, ContextTooShortForTheNeedles) {
  DUO_NEED_LLAMA3();
  GenOptions o;  // 10 passkeys of 32 words: ~1000 tokens of needles and questions
  o.context_min = 200;
  o.context_max = 800;
  try {
    PasskeySampleGenerator gen(tok, o);
    FAIL() << "no error";
  } catch (const duo::Error& e) {
    EXPECT_NE(std::string(e.what()).find("context_max 800 is too short for 10 needles"), std::string::npos) << e.what();
  }
}

TEST(PasskeySamples, BadOptions) {
  GenOptions o;
  o.num_passkeys = 21;
  EXPECT_THROW(validate_options(o), duo::Error);
  o = GenOptions{};
  o.depth_intervals = 5;  // fewer depths than passkeys: cannot draw without replacement
  EXPECT_THROW(validate_options(o), duo::Error);
  o = GenOptions{};
  o.context_max = o.context_min - 1;
  EXPECT_THROW(validate_options(o), duo::Error);
  o = GenOptions{};
  o.passkey_kind = "emoji";
  EXPECT_THROW(validate_options(o), duo::Error);
  EXPECT_NO_THROW(validate_options(GenOptions{}));
  EXPECT_NO_THROW(validate_options(GenOptions::classic()));
}

TEST(PasskeySamples, PreviewMarksNeedlesAndLabels) {
  DUO_NEED_LLAMA3();
  GenOptions o = small_options();
  PasskeySampleGenerator gen(tok, o);
  PasskeySample s = gen.sample(0);
  std::string text = preview_sample(tok, s, 8);
  EXPECT_NE(text.find("[[NEEDLE 2]]Remeber this sequence of words, it's the second passkey to the vault: " + s.passkeys[1] +
                      "[[/NEEDLE]]"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("[[LABEL]]Based on the content of the book, what is the first passkey to the vault?\nPasskey: " +
                      s.passkeys[0]),
            std::string::npos);
  EXPECT_NE(text.find(" tokens ...] "), std::string::npos);  // long haystack runs are shortened
  EXPECT_LT(text.size(), 3000u);
}
