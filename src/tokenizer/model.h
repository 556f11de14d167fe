// The model stage of a tokenizer: turns one pre-tokenized piece into ids. Implementations:
// BPE (bpe.h) and WordLevel (word_level.h); make_token_model picks one from tokenizer.json's "model".
#pragma once

#include "tokenizer/json_fields.h"

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace duo::tokenizer {

class TokenModel {
 public:
  virtual ~TokenModel() = default;
  // Appends the ids of `piece` to `out`. Safe to call from several threads at once.
  virtual void tokenize(std::string_view piece, std::vector<int32_t>& out) const = 0;
  // -1 when absent.
  virtual int32_t token_to_id(std::string_view token) const = 0;
  // nullptr when `id` has no token.
  virtual const std::string* id_to_token(int32_t id) const = 0;
  // Largest id + 1.
  virtual int64_t vocab_size() const = 0;
};

// A model's two large tables, "vocab" ({"token": id}) and "merges" ("a b" or ["a", "b"]).
// parse_tokenizer_json (json_load.h) reads them straight from the text so the JSON tree never
// holds them; tables_from_json reads them from a tree instead.
struct ModelTables {
  bool has_vocab = false;
  std::vector<std::pair<std::string, int64_t>> vocab;
  bool has_merges = false;
  std::vector<std::pair<std::string, std::string>> merges;
  std::string error;  // the first malformed entry, as a message; thrown when the model is built
};
ModelTables tables_from_json(const Json& model, const std::string& where);
// Appends merge `m` ("a b" or ["a", "b"]) to `merges`; false when malformed.
bool add_merge(const Json& m, std::vector<std::pair<std::string, std::string>>& merges);

// The model described by `j` ("type": BPE or WordLevel) and its tables; `where` names it in
// errors.
std::unique_ptr<TokenModel> make_token_model(const Json& j, ModelTables tables, const std::string& where);

// Reads the vocabulary into `ids` (token -> id) and `tokens` (id -> token).
class StringIdMap;
void read_vocab(const ModelTables& tables, const std::string& where, StringIdMap& ids,
                std::vector<std::string>& tokens);

}  // namespace duo::tokenizer
