// Token-id lists on the command line: "1,2,3", "1 2 3" (as `duo tokenize` prints them) or a mix.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace duo::cli {

// Parses the ids; throws "<flag>: item N ('x') is not an integer; expected e.g. 1,2,3", and
// refuses empty items ("1,,3", a leading or trailing comma) instead of dropping them.
std::vector<int64_t> parse_id_list(const std::string& text, const std::string& flag = "--ids");

}  // namespace duo::cli
