// Tokenizer: loading tokenizer.json and running the pipeline (see tokenizer.h).
#include "tokenizer/tokenizer.h"

#include "core/error.h"
#include "tokenizer/added_tokens.h"
#include "tokenizer/decoders.h"
#include "tokenizer/json_load.h"
#include "tokenizer/model.h"
#include "tokenizer/normalizers.h"
#include "tokenizer/post_processors.h"
#include "tokenizer/pre_tokenizers.h"
#include "tokenizer/unicode.h"

#include <fstream>
#include <sstream>
#include "core/printable.h"

namespace duo::tokenizer {

struct Tokenizer::Impl {
  std::string source;
  std::unique_ptr<Normalizer> normalizer;
  std::unique_ptr<PreTokenizer> pre_tokenizer;
  std::unique_ptr<TokenModel> model;
  std::unique_ptr<PostProcessor> post_processor;
  std::unique_ptr<TokenDecoder> decoder;
  AddedVocabulary added;
  int64_t vocab_size = 0;
  std::optional<int32_t> bos, eos;

  // Normalizes, pre-tokenizes and runs the model on one stretch of plain text.
  void encode_text(const std::string& text, bool at_start, std::vector<int32_t>& ids) const {
    if (text.empty()) return;
    std::string s = normalizer ? normalizer->normalize(text) : text;
    if (s.empty()) return;
    std::vector<Segment> parts;
    if (added.has_normalized_tokens()) {
      added.split_normalized(s, parts);
    } else {
      parts.push_back({std::move(s), -1});
    }
    std::vector<std::string> pieces;
    for (size_t k = 0; k < parts.size(); ++k) {
      if (parts[k].id >= 0) {
        ids.push_back(parts[k].id);
        continue;
      }
      if (parts[k].text.empty()) continue;
      pieces.clear();
      pieces.push_back(std::move(parts[k].text));
      if (pre_tokenizer) pre_tokenizer->pre_tokenize(pieces, at_start && k == 0);
      for (const std::string& p : pieces) model->tokenize(p, ids);
    }
  }
};

namespace {

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  DUO_CHECK(in.good(), "tokenizer: cannot open '{}'", path.string());
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// bos_token / eos_token of a tokenizer_config.json: a string or {"content": ...}.
std::optional<std::string> config_token(const Json& config, const char* key) {
  auto it = config.find(key);
  if (it == config.end()) return std::nullopt;
  if (it->is_string()) return it->get<std::string>();
  if (it->is_object() && it->contains("content") && (*it)["content"].is_string())
    return (*it)["content"].get<std::string>();
  return std::nullopt;
}

std::shared_ptr<Tokenizer::Impl> parse(const std::string& text, const std::string& source) {
  ModelTables tables;
  Json j = parse_tokenizer_json(text, source, tables);
  DUO_CHECK(j.is_object(), "{}: expected a JSON object at the top level", source);
  auto impl = std::make_shared<Tokenizer::Impl>();
  impl->source = source;
  if (auto it = j.find("truncation"); it != j.end() && !it->is_null())
    fail("{}: truncation is not supported (expected null, got {})", source, core::printable(it->dump().substr(0, 80)));
  if (auto it = j.find("padding"); it != j.end() && !it->is_null()) {
    bool longest = it->is_object() && it->contains("strategy") && (*it)["strategy"] == "BatchLongest";
    DUO_CHECK(longest, "{}: padding {} is not supported (expected null or strategy BatchLongest)", source,
              core::printable(it->dump().substr(0, 80)));
  }
  auto component = [&](const char* key) -> const Json* {
    auto it = j.find(key);
    return it == j.end() || it->is_null() ? nullptr : &*it;
  };
  if (const Json* n = component("normalizer")) impl->normalizer = make_normalizer(*n, source + ": normalizer");
  if (const Json* p = component("pre_tokenizer"))
    impl->pre_tokenizer = make_pre_tokenizer(*p, source + ": pre_tokenizer");
  const Json* m = component("model");
  DUO_CHECK(m != nullptr, "{}: missing field 'model'", source);
  if (!tables.has_vocab && !tables.has_merges) tables = tables_from_json(*m, source + ": model");
  impl->model = make_token_model(*m, std::move(tables), source + ": model");
  if (const Json* p = component("post_processor"))
    impl->post_processor = make_post_processor(*p, source + ": post_processor");
  if (const Json* d = component("decoder")) impl->decoder = make_token_decoder(*d, source + ": decoder");
  if (const Json* a = component("added_tokens"))
    impl->added.load(*a, source + ": added_tokens", impl->normalizer.get());

  impl->vocab_size = impl->model->vocab_size();
  for (const AddedToken& t : impl->added.tokens()) impl->vocab_size = std::max<int64_t>(impl->vocab_size, t.id + 1);
  if (impl->post_processor) {
    // Every id the template adds must be a token of this tokenizer (Hugging Face does not check;
    // an unknown id would reach the model's embedding, or fail only when decoded).
    for (int32_t id : impl->post_processor->special_ids()) {
      DUO_CHECK(impl->added.by_id(id) != nullptr || impl->model->id_to_token(id) != nullptr,
                "{}: post_processor adds token id {}, which is neither in the model's vocabulary nor an added token; "
                "expected a token of this tokenizer (ids 0..{})",
                source, id, impl->vocab_size - 1);
    }
    impl->bos = impl->post_processor->bos_id();
    impl->eos = impl->post_processor->eos_id();
  }
  return impl;
}

std::optional<int32_t> lookup(const Tokenizer::Impl& impl, std::string_view token) {
  if (const AddedToken* a = impl.added.by_content(token)) return a->id;
  int32_t id = impl.model->token_to_id(token);
  return id >= 0 ? std::optional<int32_t>(id) : std::nullopt;
}

void fill_bos_eos(Tokenizer::Impl& impl, const Json* config) {
  if (config != nullptr) {
    if (!impl.bos)
      if (auto t = config_token(*config, "bos_token")) impl.bos = lookup(impl, *t);
    if (!impl.eos)
      if (auto t = config_token(*config, "eos_token")) impl.eos = lookup(impl, *t);
    return;
  }
  for (const char* name : {"<s>", "<|begin_of_text|>", "<bos>"}) {
    if (impl.bos) break;
    impl.bos = lookup(impl, name);
  }
  for (const char* name : {"</s>", "<|end_of_text|>", "<|endoftext|>", "<eos>"}) {
    if (impl.eos) break;
    impl.eos = lookup(impl, name);
  }
}

}  // namespace

Tokenizer Tokenizer::load(const std::filesystem::path& file_or_dir) {
  std::filesystem::path file = file_or_dir;
  if (std::filesystem::is_directory(file)) file /= "tokenizer.json";
  DUO_CHECK(std::filesystem::is_regular_file(file), "tokenizer: '{}' does not exist (expected a tokenizer.json "
            "file or a model directory holding one)", file.string());
  auto impl = parse(read_file(file), file.string());
  std::filesystem::path config_path = file.parent_path() / "tokenizer_config.json";
  Json config;
  bool have_config = false;
  if (std::filesystem::is_regular_file(config_path)) {
    try {
      config = Json::parse(read_file(config_path));
      have_config = config.is_object();
    } catch (const Json::exception& e) {
      fail("{}: not valid JSON: {}", config_path.string(), core::printable(e.what()));
    }
  }
  fill_bos_eos(*impl, have_config ? &config : nullptr);
  return Tokenizer(std::move(impl));
}

Tokenizer Tokenizer::from_json_string(const std::string& json, const std::string& source_name) {
  auto impl = parse(json, source_name);
  fill_bos_eos(*impl, nullptr);
  return Tokenizer(std::move(impl));
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool add_special_tokens) const {
  std::string repaired;
  if (!is_valid_utf8(text)) {
    repaired = utf8_lossy(text);
    text = repaired;
  }
  std::vector<int32_t> ids;
  ids.reserve(text.size() / 3 + 8);
  std::vector<Segment> segments = impl_->added.split_raw(text);
  for (size_t k = 0; k < segments.size(); ++k) {
    if (segments[k].id >= 0)
      ids.push_back(segments[k].id);
    else
      impl_->encode_text(segments[k].text, k == 0, ids);
  }
  if (impl_->post_processor) impl_->post_processor->process(ids, add_special_tokens);
  return ids;
}

std::string Tokenizer::decode(const std::vector<int32_t>& ids, bool skip_special_tokens) const {
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (int32_t id : ids) {
    if (const AddedToken* a = impl_->added.by_id(id)) {
      if (!(skip_special_tokens && a->special)) tokens.push_back(a->content);
      continue;
    }
    const std::string* t = impl_->model->id_to_token(id);
    DUO_CHECK(t != nullptr, "{}: cannot decode id {}; expected an id of the vocabulary [0, {})", impl_->source, id,
              impl_->vocab_size);
    tokens.push_back(*t);
  }
  std::string out;
  if (impl_->decoder) {
    impl_->decoder->decode_chain(tokens);
    for (const std::string& t : tokens) out += t;
  } else {
    for (size_t i = 0; i < tokens.size(); ++i) {
      if (i > 0) out += ' ';
      out += tokens[i];
    }
  }
  return out;
}

std::optional<int32_t> Tokenizer::token_to_id(std::string_view token) const { return lookup(*impl_, token); }

std::string Tokenizer::id_to_token(int32_t id) const {
  if (const AddedToken* a = impl_->added.by_id(id)) return a->content;
  const std::string* t = impl_->model->id_to_token(id);
  DUO_CHECK(t != nullptr, "{}: id {} has no token; expected an id of the vocabulary [0, {})", impl_->source, id,
            impl_->vocab_size);
  return *t;
}

int64_t Tokenizer::vocab_size() const { return impl_->vocab_size; }
std::optional<int32_t> Tokenizer::bos_id() const { return impl_->bos; }
std::optional<int32_t> Tokenizer::eos_id() const { return impl_->eos; }

bool Tokenizer::is_special(int32_t id) const {
  const AddedToken* a = impl_->added.by_id(id);
  return a != nullptr && a->special;
}

const std::string& Tokenizer::source() const { return impl_->source; }

}  // namespace duo::tokenizer
