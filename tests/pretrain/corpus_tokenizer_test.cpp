// The duo-tiny tokenizer.json loads with duo::tokenizer and encodes / decodes the corpus.
#include <gtest/gtest.h>

#include <filesystem>
#include <set>
#include <unistd.h>

#include "data_gen/gen_options.h"
#include "data_gen/haystack.h"
#include "data_gen/passkey_samples.h"
#include "pretrain/corpus_tokenizer.h"
#include "pretrain/passkey_data.h"
#include "tokenizer/tokenizer.h"

namespace duo::pretrain {
namespace {

std::filesystem::path temp_file(const std::string& name) {
  auto d = std::filesystem::temp_directory_path() / ("duo_pretrain_tok_" + std::to_string(::getpid()));
  std::filesystem::create_directories(d);
  return d / name;
}

TEST(CorpusTokenizer, SplitWordsIsolatesDigitsAndPunctuation) {
  EXPECT_EQ(split_words("The pass key is 71432. Remember it's\n\nok"),
            (std::vector<std::string>{"The", "pass", "key", "is", "7", "1", "4", "3", "2", ".", "Remember", "it", "'",
                                      "s", "ok"}));
}

TEST(CorpusTokenizer, VocabularyIsSmallUniqueAndCoversTheCorpus) {
  auto vocab = corpus_vocabulary();
  EXPECT_LT(vocab.size(), 1000u);
  EXPECT_EQ(vocab[0], "<unk>");
  EXPECT_EQ(vocab[1], "<s>");
  EXPECT_EQ(vocab[4], "0");
  EXPECT_EQ(vocab[13], "9");
  std::set<std::string> unique(vocab.begin(), vocab.end());
  EXPECT_EQ(unique.size(), vocab.size());
  for (const char* w : {"grass", "yellow", "pass", "Remember", "What", "vault", "juliett", "twentieth", "?"}) {
    EXPECT_TRUE(unique.count(w)) << w;
  }
}

TEST(CorpusTokenizer, RoundTripsThroughDuoTokenizer) {
  auto path = temp_file("tokenizer.json");
  write_corpus_tokenizer(path);
  auto tok = tokenizer::Tokenizer::load(path);
  const auto vocab = corpus_vocabulary();
  EXPECT_EQ(tok.vocab_size(), static_cast<int64_t>(vocab.size()));
  EXPECT_EQ(tok.bos_id().value_or(-1), kBosId);
  EXPECT_EQ(tok.eos_id().value_or(-1), kEosId);

  // Every id maps to its token and back.
  for (size_t i = 0; i < vocab.size(); ++i) {
    EXPECT_EQ(tok.id_to_token(static_cast<int32_t>(i)), vocab[i]);
    EXPECT_EQ(tok.token_to_id(vocab[i]).value_or(-1), static_cast<int32_t>(i));
  }
  // Encoding equals the vocabulary lookup of split_words, digits one token each, BOS prepended.
  const std::string text = "The grass is green. The pass key is 90210. Remember it. What is the pass key?";
  std::vector<int32_t> want = {static_cast<int32_t>(kBosId)};
  for (const auto& w : split_words(text)) want.push_back(tok.token_to_id(w).value());
  EXPECT_EQ(tok.encode(text, /*add_special_tokens=*/true), want);
  EXPECT_EQ(tok.encode("71432").size(), 5u);
  // Unknown words become <unk>.
  EXPECT_EQ(tok.encode("zebra"), (std::vector<int32_t>{static_cast<int32_t>(kUnkId)}));
  // Decoding gives the pieces back (joined by the tokenizer's decoder).
  const auto ids = tok.encode("The sky is blue .");
  auto decoded = tok.decode(ids);
  EXPECT_NE(decoded.find("sky"), std::string::npos) << decoded;
  EXPECT_EQ(tok.encode(decoded), ids) << decoded;
  std::filesystem::remove_all(path.parent_path());
}

TEST(CorpusTokenizer, ClassicSamplesHaveNoUnknownTokensAndAnAnswerSpan) {
  auto path = temp_file("tokenizer2.json");
  write_corpus_tokenizer(path);
  auto tok = tokenizer::Tokenizer::load(path);
  data_gen::PasskeySampleGenerator gen(tok, classic_options(256, 512, 4, 0.0, 1.0, 11, 8, 3));
  for (int64_t i = 0; i < 8; ++i) {
    auto s = gen.sample(i);
    EXPECT_LE(s.input_ids.size(), 512u);
    for (auto id : s.input_ids) ASSERT_NE(id, kUnkId);
    auto ans = answer_span(tok, s);
    EXPECT_EQ(ans.length, 5);
    EXPECT_EQ(ans.end(), static_cast<int64_t>(s.input_ids.size()));  // the sample ends with the key
    auto hidden = needle_key_span(tok, s);
    EXPECT_TRUE(std::equal(s.input_ids.begin() + hidden.start, s.input_ids.begin() + hidden.end(),
                           s.input_ids.begin() + ans.start));
    auto ts = make_weighted_sequence(tok, s, 4.0, 1.0);
    EXPECT_EQ(ts.weights.size() + 1, ts.ids.size());
    EXPECT_EQ(ts.weights[static_cast<size_t>(ans.start - 1)], 4.0f);
    EXPECT_EQ(ts.weights[static_cast<size_t>(hidden.start - 1)], 0.0f);
    EXPECT_EQ(ts.weights[0], 1.0f);
  }
  // Evaluation cells fill their length almost exactly.
  for (int64_t len : {256, 1024}) {
    data_gen::PasskeySampleGenerator cell(tok, classic_cell_options(tok, len, 0.5, 2, 9));
    auto s = cell.sample(0);
    EXPECT_LE(static_cast<int64_t>(s.input_ids.size()), len);
    EXPECT_GE(static_cast<int64_t>(s.input_ids.size()), len - 16);
  }
  std::filesystem::remove_all(path.parent_path());
}

TEST(CorpusTokenizer, NeedleCopiesRepeatTheNeedleAndWeighTheirKeys) {
  auto path = temp_file("tokenizer3.json");
  write_corpus_tokenizer(path);
  auto tok = tokenizer::Tokenizer::load(path);
  data_gen::PasskeySampleGenerator gen(tok, classic_options(380, 420, 1, 0.1, 0.1, 1, 2, 5));
  const auto s = gen.sample(0);
  const int64_t ns = s.needle_starts[0], ne = s.needle_ends[0], n = ne - ns;
  const std::vector<int64_t> needle(s.input_ids.begin() + ns, s.input_ids.begin() + ne);
  const auto hidden = needle_key_span(tok, s);
  const auto plain = make_weighted_sequence(tok, s, 4.0, 1.0);
  const auto ts = make_weighted_sequence(tok, s, 4.0, 1.0, /*needle_copies=*/3, /*copy_seed=*/42);
  ASSERT_EQ(ts.ids.size(), plain.ids.size() + 3 * static_cast<size_t>(n));
  // The answer moved by the inserted tokens and still holds the key.
  EXPECT_EQ(ts.answer.start, plain.answer.start + 3 * n);
  EXPECT_TRUE(std::equal(ts.ids.begin() + ts.answer.start, ts.ids.end(), s.input_ids.begin() + hidden.start));
  // Everything up to the original needle's end is unchanged; the needle now occurs 4 times, each
  // copy right after a "." and with its first key weighted like an answer.
  EXPECT_TRUE(std::equal(s.input_ids.begin(), s.input_ids.begin() + ne, ts.ids.begin()));
  const int64_t dot = tok.encode(".", false)[0];
  int64_t found = 0;
  for (int64_t p = 0; p + n <= static_cast<int64_t>(ts.ids.size()); ++p) {
    if (!std::equal(needle.begin(), needle.end(), ts.ids.begin() + p)) continue;
    ++found;
    const auto key = static_cast<size_t>(p + hidden.start - ns);
    if (p == ns) {
      EXPECT_EQ(ts.weights[key - 1], 0.0f);  // the original: unpredictable
    } else {
      EXPECT_EQ(ts.ids[static_cast<size_t>(p - 1)], dot);
      for (int64_t k = 0; k < hidden.length; ++k) EXPECT_EQ(ts.weights[key - 1 + static_cast<size_t>(k)], 4.0f);
    }
  }
  EXPECT_EQ(found, 4);
  // Same seed, same sample; another seed, other places.
  EXPECT_EQ(make_weighted_sequence(tok, s, 4.0, 1.0, 3, 42).ids, ts.ids);
  EXPECT_NE(make_weighted_sequence(tok, s, 4.0, 1.0, 3, 43).ids, ts.ids);
  std::filesystem::remove_all(path.parent_path());
}

}  // namespace
}  // namespace duo::pretrain
