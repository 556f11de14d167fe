// Token-id list parsing shared by forward, decode and tokenize (see ids.h).
#include "cli/ids.h"

#include "core/error.h"
#include "core/printable.h"

namespace duo::cli {

std::vector<int64_t> parse_id_list(const std::string& text, const std::string& flag) {
  // Items are separated by one comma and/or whitespace; an empty item ("1,,3", ",1", "1,") is a
  // typo, not a separator, and is refused rather than dropped.
  auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  std::vector<int64_t> ids;
  size_t i = 0;
  bool after_comma = false;  // a comma was read and no item yet follows it
  while (true) {
    while (i < text.size() && is_space(text[i])) ++i;
    if (i == text.size()) {
      DUO_CHECK(!after_comma, "{}: item {} is empty (a trailing comma); expected e.g. 1,2,3", flag, ids.size() + 1);
      break;
    }
    if (text[i] == ',') {
      DUO_CHECK(!after_comma && !ids.empty(), "{}: item {} is empty (two commas or a leading one); expected e.g. 1,2,3",
                flag, ids.size() + 1);
      after_comma = true;
      ++i;
      continue;
    }
    size_t j = i;
    while (j < text.size() && text[j] != ',' && !is_space(text[j])) ++j;
    const std::string item = text.substr(i, j - i);
    size_t used = 0;
    long long v = 0;
    try {
      v = std::stoll(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    DUO_CHECK(used == item.size(), "{}: item {} ('{}') is not an integer; expected e.g. 1,2,3", flag, ids.size() + 1,
              core::printable(item));
    ids.push_back(v);
    after_comma = false;
    i = j;
  }
  return ids;
}

}  // namespace duo::cli
