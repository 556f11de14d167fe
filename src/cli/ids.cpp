// Token-id list parsing shared by forward, decode and tokenize (see ids.h).
#include "cli/ids.h"

#include "core/error.h"

namespace duo::cli {

std::vector<int64_t> parse_id_list(const std::string& text, const std::string& flag) {
  auto is_sep = [](char c) { return c == ',' || c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  std::vector<int64_t> ids;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && is_sep(text[i])) ++i;
    if (i == text.size()) break;
    size_t j = i;
    while (j < text.size() && !is_sep(text[j])) ++j;
    const std::string item = text.substr(i, j - i);
    size_t used = 0;
    long long v = 0;
    try {
      v = std::stoll(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    DUO_CHECK(used == item.size(), "{}: item {} ('{}') is not an integer; expected e.g. 1,2,3", flag, ids.size() + 1,
              item);
    ids.push_back(v);
    i = j;
  }
  return ids;
}

}  // namespace duo::cli
