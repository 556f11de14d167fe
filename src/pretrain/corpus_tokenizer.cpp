// The duo-tiny word-level tokenizer: vocabulary from the corpus texts, tokenizer.json writer.
#include "pretrain/corpus_tokenizer.h"

#include <algorithm>
#include <cctype>
#include <set>

#include "core/atomic_file.h"
#include "core/error.h"
#include "data_gen/gen_options.h"
#include "data_gen/haystack.h"
#include "data_gen/niah.h"
#include "data_gen/passkey.h"

namespace duo::pretrain {
namespace {

bool is_word_char(unsigned char c) { return std::isalpha(c) || c == '_'; }

// Every text the data generators can put into a prompt (before "{...}" placeholders are filled).
std::vector<std::string> corpus_texts() {
  std::vector<std::string> texts = {data_gen::kBuiltinFiller};
  auto add_templates = [&](const data_gen::PasskeyTemplates& t) {
    for (const auto& ordinal : data_gen::ordinal_numbers()) {
      texts.push_back(data_gen::fill_ordinal(t.needle, ordinal));
      texts.push_back(data_gen::fill_ordinal(t.question, ordinal));
    }
    texts.push_back(t.prompt_prefix);
    texts.push_back(t.prompt_suffix);
    texts.push_back(t.separator);
  };
  add_templates(data_gen::GenOptions{}.templates);
  add_templates(data_gen::GenOptions::classic().templates);
  for (const auto& n : {data_gen::NiahOptions{}, data_gen::NiahOptions::passkey_variant()}) {
    for (const auto* s : {&n.needle, &n.prompt_prefix, &n.prompt_suffix, &n.question, &n.answer}) texts.push_back(*s);
  }
  for (const auto& w : data_gen::nato_alphabet()) texts.push_back(w);
  for (const auto& w : data_gen::ordinal_numbers()) texts.push_back(w);
  return texts;
}

}  // namespace

std::vector<std::string> split_words(std::string_view text) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (std::isspace(c)) {
      ++i;
    } else if (is_word_char(c)) {
      size_t j = i;
      while (j < text.size() && is_word_char(static_cast<unsigned char>(text[j]))) ++j;
      out.emplace_back(text.substr(i, j - i));
      i = j;
    } else {
      // A digit or a punctuation character (one ASCII byte; the vocabulary is ASCII only).
      DUO_CHECK(c < 0x80, "corpus tokenizer: non-ASCII byte 0x{:02x} in corpus text; expected ASCII", c);
      out.emplace_back(1, static_cast<char>(c));
      ++i;
    }
  }
  return out;
}

std::vector<std::string> corpus_vocabulary() {
  std::vector<std::string> vocab = {"<unk>", "<s>", "</s>", "<pad>"};
  for (char d = '0'; d <= '9'; ++d) vocab.emplace_back(1, d);
  std::set<std::string> pieces;
  for (const auto& t : corpus_texts()) {
    for (auto& w : split_words(t)) pieces.insert(std::move(w));
  }
  // Every printable ASCII punctuation character, so that no symbol of a user's text is <unk>.
  for (int c = 0x21; c < 0x7f; ++c) {
    if (!std::isalnum(c) && c != '_') pieces.insert(std::string(1, static_cast<char>(c)));
  }
  for (const auto& p : pieces) {
    if (std::find(vocab.begin(), vocab.end(), p) == vocab.end()) vocab.push_back(p);
  }
  return vocab;
}

nlohmann::json tokenizer_json(const std::vector<std::string>& vocab) {
  DUO_CHECK(vocab.size() >= 4 && vocab[kUnkId] == "<unk>" && vocab[kBosId] == "<s>" && vocab[kEosId] == "</s>" &&
                vocab[kPadId] == "<pad>",
            "corpus tokenizer: vocabulary must start with <unk>, <s>, </s>, <pad>; got {} entries", vocab.size());
  using nlohmann::json;
  json added = json::array();
  for (int64_t id = 0; id < 4; ++id) {
    added.push_back({{"id", id},
                     {"content", vocab[static_cast<size_t>(id)]},
                     {"single_word", false},
                     {"lstrip", false},
                     {"rstrip", false},
                     {"normalized", false},
                     {"special", true}});
  }
  json v = json::object();
  for (size_t i = 0; i < vocab.size(); ++i) {
    DUO_CHECK(!v.contains(vocab[i]), "corpus tokenizer: duplicate token '{}' at id {}", vocab[i], i);
    v[vocab[i]] = static_cast<int64_t>(i);
  }
  auto split = [](const std::string& regex, const std::string& behavior) {
    return json{{"type", "Split"}, {"pattern", {{"Regex", regex}}}, {"behavior", behavior}, {"invert", false}};
  };
  auto special = [](const char* id, int type_id) { return json{{"SpecialToken", {{"id", id}, {"type_id", type_id}}}}; };
  auto seq = [](const char* id, int type_id) { return json{{"Sequence", {{"id", id}, {"type_id", type_id}}}}; };
  json doc;
  doc["version"] = "1.0";
  doc["truncation"] = nullptr;
  doc["padding"] = nullptr;
  doc["added_tokens"] = added;
  doc["normalizer"] = nullptr;
  doc["pre_tokenizer"] = {
      {"type", "Sequence"},
      {"pretokenizers", json::array({split("\\s+", "Removed"), split("[0-9]|[^0-9A-Za-z_\\s]", "Isolated")})}};
  doc["post_processor"] = {
      {"type", "TemplateProcessing"},
      {"single", json::array({special("<s>", 0), seq("A", 0)})},
      {"pair", json::array({special("<s>", 0), seq("A", 0), special("<s>", 1), seq("B", 1)})},
      {"special_tokens", {{"<s>", {{"id", "<s>"}, {"ids", json::array({kBosId})}, {"tokens", json::array({"<s>"})}}}}}};
  doc["decoder"] = nullptr;
  doc["model"] = {{"type", "WordLevel"}, {"vocab", v}, {"unk_token", "<unk>"}};
  return doc;
}

void write_corpus_tokenizer(const std::filesystem::path& path) {
  core::write_file_atomic(path, tokenizer_json(corpus_vocabulary()).dump(2) + "\n");
}

}  // namespace duo::pretrain
