// tokenizer.json parsing with model.vocab / model.merges captured on the fly (see json_load.h).
// nlohmann's parser callback sees every key and value with its depth: the top-level object's
// keys are at depth 1, model's keys at 2, the entries of model.vocab / model.merges at 3.
// Returning false from the callback drops an entry from the tree after we have taken it.
#include "tokenizer/json_load.h"

#include <fmt/format.h>
#include "core/printable.h"

namespace duo::tokenizer {

Json parse_tokenizer_json(const std::string& text, const std::string& source, ModelTables& tables) {
  using Event = Json::parse_event_t;
  std::string top_key, model_key, pending_key;
  bool in_vocab = false, in_merges = false;
  auto note = [&](std::string message) {
    if (tables.error.empty()) tables.error = std::move(message);
  };
  auto callback = [&](int depth, Event event, Json& parsed) -> bool {
    switch (event) {
      case Event::key:
        if (in_vocab && depth == 3) {
          pending_key = std::move(parsed.get_ref<std::string&>());
          return false;
        }
        if (depth == 1) top_key = parsed.get<std::string>();
        if (depth == 2) model_key = top_key == "model" ? parsed.get<std::string>() : std::string();
        return true;
      case Event::object_start:
        if (depth == 2 && top_key == "model" && model_key == "vocab") {
          in_vocab = true;
          tables.has_vocab = true;
        }
        return true;
      case Event::array_start:
        if (depth == 2 && top_key == "model" && model_key == "merges") {
          in_merges = true;
          tables.has_merges = true;
        }
        return true;
      case Event::object_end:
        if (depth == 2) in_vocab = false;
        return true;
      case Event::array_end:
        if (in_merges && depth == 3) {  // a ["a", "b"] merge, complete
          if (!add_merge(parsed, tables.merges)) {
            note(fmt::format("{}: model.merges[{}]: expected \"a b\" or [\"a\", \"b\"], got {}", source,
                             tables.merges.size(), core::printable(parsed.dump().substr(0, 80))));
            tables.merges.emplace_back();
          }
          return false;
        }
        if (depth == 2) in_merges = false;
        return true;
      case Event::value:
        if (in_vocab && depth == 3) {
          if (parsed.is_number_integer()) {
            tables.vocab.emplace_back(std::move(pending_key), parsed.get<int64_t>());
          } else {
            note(fmt::format("{}: model.vocab: token '{}' has id {}; expected a non-negative integer", source,
                             pending_key, core::printable(parsed.dump().substr(0, 40))));
          }
          return false;
        }
        if (in_merges && depth == 3) {
          if (!add_merge(parsed, tables.merges)) {
            note(fmt::format("{}: model.merges[{}]: expected \"a b\" or [\"a\", \"b\"], got {}", source,
                             tables.merges.size(), core::printable(parsed.dump().substr(0, 80))));
            tables.merges.emplace_back();
          }
          return false;
        }
        return true;
    }
    return true;
  };
  try {
    return Json::parse(text, callback);
  } catch (const Json::exception& e) {
    fail("{}: not valid JSON: {}", source, core::printable(e.what()));
  }
}

}  // namespace duo::tokenizer
