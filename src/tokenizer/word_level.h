// WordLevel model (tokenizer.json "model": {"type": "WordLevel"}): each pre-tokenized piece is
// looked up whole; pieces not in the vocabulary become unk_token.
#pragma once

#include "tokenizer/flat_maps.h"
#include "tokenizer/model.h"

namespace duo::tokenizer {

class WordLevelModel : public TokenModel {
 public:
  WordLevelModel(const Json& j, ModelTables tables, const std::string& where);
  void tokenize(std::string_view piece, std::vector<int32_t>& out) const override;
  int32_t token_to_id(std::string_view token) const override { return vocab_.find(token); }
  const std::string* id_to_token(int32_t id) const override;
  int64_t vocab_size() const override { return static_cast<int64_t>(tokens_.size()); }

 private:
  StringIdMap vocab_;
  std::vector<std::string> tokens_;
  std::string unk_token_;
  int32_t unk_id_ = -1;
  std::string where_;
};

}  // namespace duo::tokenizer
