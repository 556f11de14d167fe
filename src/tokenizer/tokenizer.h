// A Hugging Face tokenizer.json, loaded and run as huggingface/tokenizers runs it: added tokens
// split first, then per stretch of text the normalizer, the pre-tokenizer and the model, then
// the post-processor; decode maps ids back through the decoder. Supported components are
// listed in normalizers.h, pre_tokenizers.h, model.h, post_processors.h and decoders.h; a file
// using anything else fails to load with a message that names the component.
//
// A Tokenizer is immutable after loading, cheap to copy and move (it shares its state), and
// safe to use from several threads at once.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace duo::tokenizer {

class Tokenizer {
 public:
  // Loads `file_or_dir` (a directory means dir/tokenizer.json). A tokenizer_config.json next
  // to the file, when present, supplies bos_token / eos_token.
  static Tokenizer load(const std::filesystem::path& file_or_dir);
  // Parses tokenizer.json text; `source_name` names it in error messages.
  static Tokenizer from_json_string(const std::string& json, const std::string& source_name);

  // Token ids of `text` (UTF-8; invalid sequences are read as U+FFFD). With
  // `add_special_tokens`, the post-processor's template (e.g. BOS) is applied.
  std::vector<int32_t> encode(std::string_view text, bool add_special_tokens = false) const;
  // The text of `ids`; with `skip_special_tokens`, added tokens marked special are dropped.
  // Throws for an id that has no token.
  std::string decode(const std::vector<int32_t>& ids, bool skip_special_tokens = false) const;

  std::optional<int32_t> token_to_id(std::string_view token) const;
  // Throws for an id that has no token.
  std::string id_to_token(int32_t id) const;
  // Model vocabulary plus added tokens: largest id + 1.
  int64_t vocab_size() const;
  // From the post-processor's template, else tokenizer_config.json, else a well-known added
  // token (<s>, <|begin_of_text|>, <bos> / </s>, <|end_of_text|>, <|endoftext|>, <eos>).
  std::optional<int32_t> bos_id() const;
  std::optional<int32_t> eos_id() const;
  // Whether `id` is an added token marked special.
  bool is_special(int32_t id) const;
  // The file (or source name) this tokenizer came from.
  const std::string& source() const;

  struct Impl;

 private:
  explicit Tokenizer(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<const Impl> impl_;
};

}  // namespace duo::tokenizer
