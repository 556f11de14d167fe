// TokenModel factory and vocabulary reading (see model.h).
#include "tokenizer/model.h"

#include "tokenizer/bpe.h"
#include "tokenizer/flat_maps.h"
#include "tokenizer/word_level.h"

#include <fmt/format.h>

#include <algorithm>
#include "core/printable.h"

namespace duo::tokenizer {

ModelTables tables_from_json(const Json& model, const std::string& where) {
  ModelTables t;
  auto note = [&](std::string message) {
    if (t.error.empty()) t.error = std::move(message);
  };
  if (auto it = model.find("vocab"); it != model.end() && it->is_object()) {
    t.has_vocab = true;
    for (auto v = it->begin(); v != it->end(); ++v) {
      if (v.value().is_number_integer()) {
        t.vocab.emplace_back(v.key(), v.value().get<int64_t>());
      } else {
        note(fmt::format("{}.vocab: token '{}' has id {}; expected a non-negative integer", where, v.key(),
                         v.value().dump()));
      }
    }
  }
  if (auto it = model.find("merges"); it != model.end() && it->is_array()) {
    t.has_merges = true;
    for (size_t rank = 0; rank < it->size(); ++rank) {
      const Json& m = (*it)[rank];
      if (!add_merge(m, t.merges)) {
        note(fmt::format("{}.merges[{}]: expected \"a b\" or [\"a\", \"b\"], got {}", where, rank,
                         core::printable(m.dump().substr(0, 80))));
        t.merges.emplace_back();
      }
    }
  }
  return t;
}

bool add_merge(const Json& m, std::vector<std::pair<std::string, std::string>>& merges) {
  if (m.is_string()) {
    const std::string& s = m.get_ref<const std::string&>();
    size_t space = s.find(' ');
    if (space == std::string::npos) return false;
    merges.emplace_back(s.substr(0, space), s.substr(space + 1));
    return true;
  }
  if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
    merges.emplace_back(m[0].get<std::string>(), m[1].get<std::string>());
    return true;
  }
  return false;
}

void read_vocab(const ModelTables& tables, const std::string& where, StringIdMap& ids,
                std::vector<std::string>& tokens) {
  DUO_CHECK(tables.has_vocab, "{}: missing field 'vocab' (expected an object {{\"token\": id}})", where);
  DUO_CHECK(tables.error.empty(), "{}", tables.error);
  ids.reserve(tables.vocab.size());
  int64_t max_id = -1;
  for (const auto& [token, id] : tables.vocab) {
    DUO_CHECK(id >= 0 && id < (int64_t{1} << 31), "{}.vocab: token '{}' has id {}; expected a non-negative integer",
              where, core::printable(token), id);
    max_id = std::max(max_id, id);
  }
  // The id -> token table has max_id + 1 slots: ids may leave holes, but not so many that a
  // handful of entries asks for gigabytes (an id of 2^31 - 1 in a tiny file; the fuzzer found it).
  const auto n = static_cast<int64_t>(tables.vocab.size());
  DUO_CHECK(max_id < 2 * n + 65536,
            "{}.vocab: the largest id is {} but the vocabulary has {} entries; expected ids below {} (2 x entries + "
            "65536)",
            where, max_id, n, 2 * n + 65536);
  tokens.assign(static_cast<size_t>(max_id + 1), std::string());
  for (const auto& [token, id] : tables.vocab) {
    ids.set(token, static_cast<int32_t>(id));
    tokens[id] = token;
  }
}

std::unique_ptr<TokenModel> make_token_model(const Json& j, ModelTables tables, const std::string& where) {
  std::string type = type_of(j, where);
  if (type == "BPE") return std::make_unique<BpeModel>(j, std::move(tables), where);
  if (type == "WordLevel") return std::make_unique<WordLevelModel>(j, std::move(tables), where);
  unsupported(where, "model", type, "BPE, WordLevel");
}

}  // namespace duo::tokenizer
