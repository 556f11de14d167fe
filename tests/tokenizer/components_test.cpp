// Tokenizer components on small hand-written tokenizer.json files: BPE with both merge
// formats, unk_token / fuse_unk, byte_fallback, ignore_merges, continuing_subword_prefix;
// WordLevel; Split behaviors; Metaspace; decoders; added-token options; NFC; the regex
// translation; and the load errors for unsupported components.
#include "core/error.h"
#include "tokenizer/bpe.h"
#include "tokenizer/nfc.h"
#include "tokenizer/pre_tokenizers.h"
#include "tokenizer/regex.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/unicode.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <random>
#include <set>

namespace duo::tokenizer {
namespace {

using Json = nlohmann::json;
using Ids = std::vector<int32_t>;

// A character-level BPE over {a, b, c, d, ab, abc, cd, bc}: merges a+b (rank 0), ab+c (1),
// c+d (2), b+c (3).
Json tiny_bpe(bool pair_merges) {
  Json vocab = {{"<unk>", 0}, {"a", 1}, {"b", 2}, {"c", 3}, {"d", 4}, {"ab", 5}, {"abc", 6}, {"cd", 7}, {"bc", 8}};
  Json merges = pair_merges ? Json::array({{"a", "b"}, {"ab", "c"}, {"c", "d"}, {"b", "c"}})
                            : Json::array({"a b", "ab c", "c d", "b c"});
  return {{"version", "1.0"},
          {"added_tokens", Json::array()},
          {"normalizer", nullptr},
          {"pre_tokenizer", {{"type", "Split"}, {"pattern", {{"String", " "}}}, {"behavior", "Removed"}}},
          {"post_processor", nullptr},
          {"decoder", nullptr},
          {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", merges}, {"unk_token", "<unk>"}}}};
}

Tokenizer make(const Json& j) { return Tokenizer::from_json_string(j.dump(), "test.json"); }

TEST(Bpe, MergesByRankWithStringAndPairMerges) {
  for (bool pairs : {false, true}) {
    Tokenizer t = make(tiny_bpe(pairs));
    // "abcd": a+b (rank 0) first, then ab+c (rank 1) beats c+d (rank 2): [abc, d].
    EXPECT_EQ(t.encode("abcd"), (Ids{6, 4})) << "pairs=" << pairs;
    // "bcd": b+c (rank 3) vs c+d (rank 2): c+d wins: [b, cd].
    EXPECT_EQ(t.encode("bcd"), (Ids{2, 7}));
    EXPECT_EQ(t.encode("abab cd"), (Ids{5, 5, 7}));
    EXPECT_EQ(t.encode(""), Ids{});
  }
}

TEST(Bpe, UnknownCharactersBecomeUnkAndFuse) {
  Json j = tiny_bpe(false);
  EXPECT_EQ(make(j).encode("axxb"), (Ids{1, 0, 0, 2}));
  j["model"]["fuse_unk"] = true;
  EXPECT_EQ(make(j).encode("axxb"), (Ids{1, 0, 2}));
  j["model"]["unk_token"] = nullptr;  // no unk token: unknown characters are dropped
  EXPECT_EQ(make(j).encode("axxb"), (Ids{5}));
}

TEST(Bpe, ByteFallbackSpellsUnknownCharactersAsBytes) {
  Json j = tiny_bpe(false);
  j["model"]["byte_fallback"] = true;
  j["model"]["vocab"]["<0xC3>"] = 9;
  j["model"]["vocab"]["<0xA9>"] = 10;
  // U+00E9 is C3 A9 in UTF-8; both byte tokens exist.
  EXPECT_EQ(make(j).encode("a\xC3\xA9"), (Ids{1, 9, 10}));
  // U+00E8 is C3 A8: <0xA8> is missing, so the character is unk.
  EXPECT_EQ(make(j).encode("a\xC3\xA8"), (Ids{1, 0}));
}

TEST(Bpe, IgnoreMergesTakesWholeWordsFromTheVocabulary) {
  Json j = tiny_bpe(false);
  j["model"]["vocab"]["bcd"] = 9;
  EXPECT_EQ(make(j).encode("bcd"), (Ids{2, 7}));
  j["model"]["ignore_merges"] = true;
  EXPECT_EQ(make(j).encode("bcd"), (Ids{9}));
}

TEST(Bpe, ContinuingSubwordPrefix) {
  Json vocab = {{"a", 0}, {"##b", 1}, {"##c", 2}, {"ab", 3}, {"b", 4}};
  Json j = tiny_bpe(false);
  j["model"] = {{"type", "BPE"}, {"vocab", vocab}, {"merges", {"a ##b"}}, {"continuing_subword_prefix", "##"}};
  EXPECT_EQ(make(j).encode("abc"), (Ids{3, 2}));
  EXPECT_EQ(make(j).encode("b"), (Ids{4}));
}

TEST(Bpe, HeapMergingEqualsAPlainQuadraticReference) {
  // Random words over a random merge table: the heap algorithm against the textbook loop
  // "merge the lowest-ranked adjacent pair, leftmost first, until none applies".
  std::mt19937 rng(7);
  const std::string alphabet = "abcde";
  Json vocab = Json::object();
  std::vector<std::string> tokens;
  for (char c : alphabet) {
    vocab[std::string(1, c)] = static_cast<int>(tokens.size());
    tokens.emplace_back(1, c);
  }
  Json merges = Json::array();
  std::vector<std::pair<std::string, std::string>> merge_list;
  while (merge_list.size() < 60) {
    std::string a = tokens[rng() % tokens.size()], b = tokens[rng() % tokens.size()];
    if (a.size() + b.size() > 6 || vocab.contains(a + b)) continue;
    vocab[a + b] = static_cast<int>(tokens.size());
    tokens.push_back(a + b);
    merges.push_back(a + " " + b);
    merge_list.emplace_back(a, b);
  }
  Json j = {{"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", merges}}}};
  BpeModel model(j["model"], "test");
  for (int trial = 0; trial < 300; ++trial) {
    std::string word;
    for (int k = 0, n = 1 + rng() % 20; k < n; ++k) word += alphabet[rng() % alphabet.size()];
    std::vector<std::string> sym;
    for (char c : word) sym.emplace_back(1, c);
    for (;;) {
      size_t best = SIZE_MAX, at = 0;
      for (size_t i = 0; i + 1 < sym.size(); ++i) {
        for (size_t r = 0; r < merge_list.size() && r < best; ++r) {
          if (merge_list[r].first == sym[i] && merge_list[r].second == sym[i + 1]) {
            best = r;
            at = i;
          }
        }
      }
      if (best == SIZE_MAX) break;
      sym[at] += sym[at + 1];
      sym.erase(sym.begin() + at + 1);
    }
    Ids expected;
    for (const auto& s : sym) expected.push_back(vocab[s].get<int32_t>());
    Ids got, cached;
    model.tokenize_uncached(word, got);
    model.tokenize(word, cached);
    model.tokenize(word, cached);  // second call comes from the cache
    EXPECT_EQ(got, expected) << word;
    Ids twice = expected;
    twice.insert(twice.end(), expected.begin(), expected.end());
    EXPECT_EQ(cached, twice) << word;
  }
}

TEST(Bpe, BadMergesFailToLoad) {
  Json j = tiny_bpe(false);
  j["model"]["merges"] = {"a b", "a zz"};
  try {
    make(j);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("merges[1]"), std::string::npos) << e.what();
  }
  j["model"]["merges"] = {"ab"};
  EXPECT_THROW(make(j), Error);
}

TEST(WordLevel, LooksUpWholePiecesWithUnk) {
  Json j = {{"pre_tokenizer", {{"type", "Split"}, {"pattern", {{"Regex", "\\s+"}}}, {"behavior", "Removed"}}},
            {"model", {{"type", "WordLevel"}, {"vocab", {{"[UNK]", 0}, {"hello", 1}, {"world", 2}}}, {"unk_token", "[UNK]"}}}};
  Tokenizer t = make(j);
  EXPECT_EQ(t.encode("hello  world\nfoo hello"), (Ids{1, 2, 0, 1}));
  EXPECT_EQ(t.decode({1, 2}), "hello world");  // no decoder: tokens joined by spaces
  EXPECT_EQ(t.vocab_size(), 3);
  j["model"]["unk_token"] = "<missing>";
  EXPECT_THROW(make(j).encode("foo"), Error);
}

TEST(Unsupported, LoadFailsNamingTheComponent) {
  struct Case {
    const char* key;
    Json value;
    const char* name;
  };
  std::vector<Case> cases = {
      {"normalizer", {{"type", "NFKC"}}, "NFKC"},
      {"normalizer", {{"type", "Sequence"}, {"normalizers", {{{"type", "Lowercase"}}}}}, "Lowercase"},
      {"pre_tokenizer", {{"type", "Whitespace"}}, "Whitespace"},
      {"post_processor", {{"type", "RobertaProcessing"}}, "RobertaProcessing"},
      {"decoder", {{"type", "WordPiece"}}, "WordPiece"},
      {"model", {{"type", "Unigram"}, {"vocab", Json::array()}}, "Unigram"},
  };
  for (const Case& c : cases) {
    Json j = tiny_bpe(false);
    j[c.key] = c.value;
    try {
      make(j);
      ADD_FAILURE() << c.name << ": expected a load error";
    } catch (const Error& e) {
      std::string msg = e.what();
      EXPECT_NE(msg.find(std::string("'") + c.name + "'"), std::string::npos) << msg;
      EXPECT_NE(msg.find("not supported"), std::string::npos) << msg;
      EXPECT_NE(msg.find("test.json"), std::string::npos) << msg;
    }
  }
  Json j = tiny_bpe(false);
  j["model"]["dropout"] = 0.1;
  EXPECT_THROW(make(j), Error);
  EXPECT_THROW(Tokenizer::from_json_string("{not json", "bad.json"), Error);
  EXPECT_THROW(Tokenizer::load("/nonexistent/dir/tokenizer.json"), Error);
}

std::vector<std::string> split(const std::string& s, const std::vector<std::pair<size_t, size_t>>& m,
                               SplitBehavior b, bool invert = false) {
  std::vector<std::string> out;
  split_by_matches(s, m, b, invert, out);
  return out;
}

TEST(Split, EveryBehaviorAsHuggingFaceDocumentsIt) {
  // "the-final--countdown" split on '-' (the examples of SplitDelimiterBehavior's docs).
  std::string s = "the-final--countdown";
  std::vector<std::pair<size_t, size_t>> m = {{3, 4}, {9, 10}, {10, 11}};
  using V = std::vector<std::string>;
  EXPECT_EQ(split(s, m, SplitBehavior::kRemoved), (V{"the", "final", "countdown"}));
  EXPECT_EQ(split(s, m, SplitBehavior::kIsolated), (V{"the", "-", "final", "-", "-", "countdown"}));
  EXPECT_EQ(split(s, m, SplitBehavior::kMergedWithPrevious), (V{"the-", "final-", "-", "countdown"}));
  EXPECT_EQ(split(s, m, SplitBehavior::kMergedWithNext), (V{"the", "-final", "-", "-countdown"}));
  EXPECT_EQ(split(s, m, SplitBehavior::kContiguous), (V{"the", "-", "final", "--", "countdown"}));
  // invert: the matches are the pieces kept.
  EXPECT_EQ(split(s, m, SplitBehavior::kRemoved, true), (V{"-", "-", "-"}));
}

TEST(ByteLevel, Gpt2RegexPrefixSpaceAndByteAlphabet) {
  // "Ġ" is the byte-level character of ' ', "Ċ" of '\n'.
  Json vocab = {{"<unk>", 0}, {"\xC4\xA0hello", 1}, {"\xC4\xA0world", 2}, {"!", 3}, {"\xC4\x8A", 4}, {"'s", 5}};
  Json j = {{"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"use_regex", true}}},
            {"decoder", {{"type", "ByteLevel"}}},
            {"model", {{"type", "WordLevel"}, {"vocab", vocab}, {"unk_token", "<unk>"}}}};
  Tokenizer t = make(j);
  EXPECT_EQ(t.encode("hello world!\n"), (Ids{1, 2, 3, 4}));
  EXPECT_EQ(t.encode(" hello's"), (Ids{1, 5}));  // already starts with a space: no second one
  EXPECT_EQ(t.decode({1, 2, 3}), " hello world!");
  j["pre_tokenizer"]["use_regex"] = false;
  j["pre_tokenizer"]["add_prefix_space"] = false;
  EXPECT_EQ(make(j).encode("hello world"), (Ids{0}));  // one piece, "helloĠworld": not a word
}

TEST(Metaspace, ReplacesSpacesPrependsAndSplits) {
  Json j = {{"pre_tokenizer", {{"type", "Metaspace"}, {"replacement", "\xE2\x96\x81"}, {"prepend_scheme", "always"}}},
            {"decoder", {{"type", "Metaspace"}, {"replacement", "\xE2\x96\x81"}, {"prepend_scheme", "always"}}},
            {"model", {{"type", "WordLevel"},
                       {"vocab", {{"<unk>", 0}, {"\xE2\x96\x81Hey", 1}, {"\xE2\x96\x81", 2}, {"\xE2\x96\x81" "friend!", 3}}},
                       {"unk_token", "<unk>"}}}};
  Tokenizer t = make(j);
  EXPECT_EQ(t.encode("Hey   friend!"), (Ids{1, 2, 2, 3}));
  EXPECT_EQ(t.decode({1, 2, 2, 3}), "Hey   friend!");
  j["pre_tokenizer"]["prepend_scheme"] = "never";
  EXPECT_EQ(make(j).encode("Hey friend!"), (Ids{0, 3}));
}

TEST(Decoders, SentencePieceChainAndByteLevel) {
  Json j = tiny_bpe(false);
  j["decoder"] = {{"type", "Sequence"},
                  {"decoders",
                   {{{"type", "Replace"}, {"pattern", {{"String", "a"}}}, {"content", " "}},
                    {{"type", "ByteFallback"}},
                    {{"type", "Fuse"}},
                    {{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}}}}};
  j["model"]["vocab"]["<0xC3>"] = 9;
  j["model"]["vocab"]["<0xA9>"] = 10;
  j["model"]["vocab"]["<0xFF>"] = 11;
  Tokenizer t = make(j);
  // a -> " ", leading space stripped once; C3 A9 -> U+00E9; a lone FF -> U+FFFD.
  EXPECT_EQ(t.decode({1, 2, 9, 10, 1, 1, 3}), "b\xC3\xA9  c");
  EXPECT_EQ(t.decode({2, 11, 3}), "b\xEF\xBF\xBD" "c");

  Json b = tiny_bpe(false);
  b["decoder"] = {{"type", "ByteLevel"}};
  b["model"]["vocab"] = {{"\xC4\xA0", 0}, {"h", 1}, {"\xC3\x83", 2}, {"\xC2\xA9", 3}};  // "Ġ", "h", "Ã", "©"
  b["model"]["merges"] = Json::array();
  b["model"].erase("unk_token");
  // Ġ = space; Ã © = bytes C3 A9 = U+00E9.
  EXPECT_EQ(make(b).decode({1, 0, 2, 3}), "h \xC3\xA9");
}

TEST(AddedTokens, StripSingleWordNormalizedAndSpecial) {
  Json j = tiny_bpe(false);
  j["pre_tokenizer"] = nullptr;
  j["model"]["vocab"]["A"] = 9;
  j["normalizer"] = {{"type", "Replace"}, {"pattern", {{"String", "A"}}}, {"content", "a"}};
  j["added_tokens"] = {
      {{"id", 20}, {"content", "[L]"}, {"lstrip", true}, {"special", true}},
      {{"id", 21}, {"content", "[R]"}, {"rstrip", true}, {"special", true}},
      {{"id", 22}, {"content", "cd"}, {"single_word", true}},
      {{"id", 23}, {"content", "bA"}, {"normalized", true}},
      {{"id", 24}, {"content", "[L]]"}},
  };
  Tokenizer t = make(j);
  EXPECT_EQ(t.encode("a  [L]b"), (Ids{1, 20, 2}));        // spaces before [L] dropped
  EXPECT_EQ(t.encode("a[R] \t b"), (Ids{1, 21, 2}));      // whitespace after [R] dropped
  EXPECT_EQ(t.encode("a [L]]b"), (Ids{1, 0, 24, 2}));     // longest match wins; no lstrip on [L]]
  EXPECT_EQ(t.encode("cd"), (Ids{22}));
  EXPECT_EQ(t.encode("acd"), (Ids{1, 7}));                // inside a word: not the added token
  EXPECT_EQ(t.encode("ba"), (Ids{23}));                   // matched after normalization
  EXPECT_EQ(t.vocab_size(), 25);
  EXPECT_EQ(t.decode({1, 20, 2, 21}, /*skip_special_tokens=*/true), "a b");
  EXPECT_EQ(t.token_to_id("[R]"), 21);
  EXPECT_EQ(t.id_to_token(24), "[L]]");
}

TEST(TemplateProcessing, AddsBosAndEosOnlyWhenAsked) {
  Json j = tiny_bpe(false);
  j["model"]["vocab"]["<s>"] = 9;
  j["model"]["vocab"]["</s>"] = 10;
  j["post_processor"] = {
      {"type", "TemplateProcessing"},
      {"single", {{{"SpecialToken", {{"id", "<s>"}, {"type_id", 0}}}}, {{"Sequence", {{"id", "A"}, {"type_id", 0}}}},
                  {{"SpecialToken", {{"id", "</s>"}, {"type_id", 0}}}}}},
      {"pair", Json::array()},
      {"special_tokens", {{"<s>", {{"id", "<s>"}, {"ids", {9}}, {"tokens", {"<s>"}}}},
                          {"</s>", {{"id", "</s>"}, {"ids", {10}}, {"tokens", {"</s>"}}}}}}};
  Tokenizer t = make(j);
  EXPECT_EQ(t.encode("ab"), (Ids{5}));
  EXPECT_EQ(t.encode("ab", true), (Ids{9, 5, 10}));
  EXPECT_EQ(t.bos_id(), 9);
  EXPECT_EQ(t.eos_id(), 10);

  // An id that is no token of this tokenizer (the fuzzer made one from a misspelled
  // "added_tokens") is refused at load, not encoded.
  j["post_processor"]["special_tokens"]["</s>"]["ids"] = {103};
  try {
    make(j);
    FAIL() << "a template id outside the vocabulary was accepted";
  } catch (const duo::Error& e) {
    EXPECT_NE(std::string(e.what()).find("post_processor adds token id 103, which is neither in the model's "
                                         "vocabulary nor an added token"),
              std::string::npos)
        << e.what();
  }
  j["post_processor"]["special_tokens"]["</s>"]["ids"] = {int64_t{1} << 33};
  EXPECT_THROW(make(j), duo::Error);
}

// A vocabulary id far past the number of entries would size the id -> token table by it (an id of
// 2^31 - 1 asked for 64 GiB); holes are allowed up to 2 x entries + 65536.
TEST(Vocab, IdsFarPastTheEntriesAreRefused) {
  Json j = tiny_bpe(false);
  j["model"]["vocab"]["zz"] = 65536 + 2 * 10 - 1;  // 10 entries: holes, but within the bound
  EXPECT_NO_THROW(make(j));
  j["model"]["vocab"]["zz"] = 2147483647;
  try {
    make(j);
    FAIL() << "accepted an id of 2^31 - 1 in a tiny vocabulary";
  } catch (const duo::Error& e) {
    EXPECT_NE(std::string(e.what()).find("the largest id is 2147483647 but the vocabulary has"), std::string::npos)
        << e.what();
  }
}

TEST(Nfc, ComposesReordersAndLeavesComposedTextAlone) {
  EXPECT_EQ(nfc("Cafe\xCC\x81"), "Caf\xC3\xA9");                          // e + U+0301 -> U+00E9
  EXPECT_EQ(nfc("Caf\xC3\xA9"), "Caf\xC3\xA9");
  EXPECT_EQ(nfc("\xE1\x84\x80\xE1\x85\xA1\xE1\x86\xA8"), "\xEA\xB0\x81");  // jamo -> U+AC01
  // q + U+0307 (ccc 230) + U+0323 (ccc 220): reordered, no composite: q U+0323 U+0307.
  EXPECT_EQ(nfc("q\xCC\x87\xCC\xA3"), "q\xCC\xA3\xCC\x87");
  // e + U+0323 + U+0302 -> U+1EC7 (e with dot below and circumflex).
  EXPECT_EQ(nfc("e\xCC\xA3\xCC\x82"), "\xE1\xBB\x87");
  // Singleton U+212B (Angstrom sign) -> U+00C5.
  EXPECT_EQ(nfc("\xE2\x84\xAB"), "\xC3\x85");
  EXPECT_EQ(nfc("plain ascii"), "plain ascii");
}

TEST(Regex, TranslationUsesTheReferenceClasses) {
  std::string p = translate_pattern("(?i:'s|'t|'re|'ve|'m|'ll|'d)|\\p{L}+|[^\\s\\p{N}]|\\s+(?!\\S)");
  EXPECT_EQ(p.find("(?i:"), std::string::npos) << p;
  EXPECT_NE(p.find("[sS]"), std::string::npos) << p;
  EXPECT_EQ(p.find("\\s"), std::string::npos) << p;
  EXPECT_NE(p.find("\\x{feff}"), std::string::npos) << p;
  auto matches = [](const char* pattern, const std::string& text) {
    Regex re(pattern, "test");
    std::vector<std::pair<size_t, size_t>> m;
    re.find_all(text, m);
    std::vector<std::string> out;
    for (auto [a, b] : m) out.push_back(text.substr(a, b - a));
    return out;
  };
  using V = std::vector<std::string>;
  // U+FEFF is whitespace for the reference; U+0085 is not.
  EXPECT_EQ(matches("\\s+", "a\xEF\xBB\xBF" "b\xC2\x85" "c"), (V{"\xEF\xBB\xBF"}));
  // U+017F (long s) does not match the case-insensitive contraction group.
  EXPECT_EQ(matches("(?i:'s|'t|'re|'ve|'m|'ll|'d)", "'S '\xC5\xBF"), (V{"'S"}));
  // A letter newer than PCRE2's Unicode tables (U+31350, CJK Extension H) is a letter.
  EXPECT_EQ(matches("\\p{L}+", "x\xF0\xB1\x8D\x90y"), (V{"x\xF0\xB1\x8D\x90y"}));
  // Empty matches are skipped and the search moves on.
  EXPECT_EQ(matches("a*", "baab"), (V{"aa"}));
}

TEST(Unicode, ByteLevelAlphabetIsABijection) {
  std::set<uint32_t> seen;
  for (int b = 0; b < 256; ++b) {
    uint32_t c = byte_to_char(static_cast<uint8_t>(b));
    EXPECT_TRUE(seen.insert(c).second);
    EXPECT_EQ(char_to_byte(c), b);
  }
  EXPECT_EQ(byte_to_char(' '), 0x120u);  // "Ġ"
  EXPECT_EQ(byte_to_char('\n'), 0x10Au);  // "Ċ"
  EXPECT_EQ(byte_to_char('A'), 'A');
  EXPECT_EQ(utf8_lossy("a\xF0\x9F" "b"), "a\xEF\xBF\xBD" "b");  // truncated 4-byte sequence: one U+FFFD
  EXPECT_FALSE(is_valid_utf8("\xED\xA0\x80"));                  // a surrogate
}

}  // namespace
}  // namespace duo::tokenizer
