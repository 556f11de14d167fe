// WordLevel model (see word_level.h); models/wordlevel/mod.rs in huggingface/tokenizers.
#include "tokenizer/word_level.h"
#include "core/printable.h"

namespace duo::tokenizer {

WordLevelModel::WordLevelModel(const Json& j, ModelTables tables, const std::string& where) : where_(where) {
  read_vocab(tables, where, vocab_, tokens_);
  unk_token_ = optional_string(j, "unk_token", where).value_or("<unk>");
  unk_id_ = vocab_.find(unk_token_);
}

void WordLevelModel::tokenize(std::string_view piece, std::vector<int32_t>& out) const {
  if (piece.empty()) return;
  int32_t id = vocab_.find(piece);
  if (id < 0) {
    DUO_CHECK(unk_id_ >= 0, "{}: '{}' is not in the vocabulary and unk_token '{}' is not either", where_,
              core::printable(piece), core::printable(unk_token_));
    id = unk_id_;
  }
  out.push_back(id);
}

const std::string* WordLevelModel::id_to_token(int32_t id) const {
  if (id < 0 || static_cast<size_t>(id) >= tokens_.size()) return nullptr;
  const std::string& t = tokens_[id];
  return vocab_.find(t) == id ? &t : nullptr;
}

}  // namespace duo::tokenizer
