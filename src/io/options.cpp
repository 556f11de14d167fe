// Task options (see options.h): the non-template half, YAML parsing and scalar conversion.
#include "io/options.h"

#include <yaml-cpp/yaml.h>

#include <charconv>
#include <cmath>
#include <set>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/printable.h"

namespace duo::io::options_detail {
namespace {

nlohmann::json to_tree(const YAML::Node& node, const std::string& source, const std::string& key) {
  switch (node.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return nullptr;
    case YAML::NodeType::Scalar:
      return node.Scalar();
    case YAML::NodeType::Sequence: {
      nlohmann::json arr = nlohmann::json::array();
      for (size_t i = 0; i < node.size(); ++i) arr.push_back(to_tree(node[i], source, fmt::format("{}[{}]", key, i)));
      return arr;
    }
    case YAML::NodeType::Map: {
      nlohmann::json obj = nlohmann::json::object();
      for (auto it = node.begin(); it != node.end(); ++it) {
        DUO_CHECK(it->first.IsScalar(), "{}: under '{}': keys must be plain names (line {})", source,
                  key.empty() ? "the top" : key, it->first.Mark().line + 1);
        const std::string k = it->first.Scalar();
        const std::string path = key.empty() ? core::printable(k) : key + "." + core::printable(k);
        DUO_CHECK(!obj.contains(k), "{}: key '{}' appears twice", source, path);
        obj[k] = to_tree(it->second, source, path);
      }
      return obj;
    }
  }
  return nullptr;
}

// How a node looks in an error message: 'abc', a list, a mapping, null.
std::string shown(const nlohmann::json& node) {
  if (node.is_string()) return "'" + core::printable(node.get<std::string>()) + "'";
  if (node.is_array()) return "a list";
  if (node.is_object()) return "a mapping";
  if (node.is_null()) return "nothing (null)";
  return node.dump();
}

std::string trimmed(const std::string& s) {
  const size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  const size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

// The scalar text of a node, or an error saying what the key expects.
std::string scalar_text(const nlohmann::json& node, const char* expects, const std::string& source,
                        const std::string& key) {
  DUO_CHECK(node.is_string(), "{}: key '{}' expects {}; got {}", source, key, expects, shown(node));
  return node.get<std::string>();
}

bool parse_int64(const std::string& text, int64_t& out) {
  std::string t = trimmed(text);
  if (!t.empty() && t[0] == '+') t.erase(0, 1);
  if (t.empty()) return false;
  auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), out);
  return ec == std::errc() && p == t.data() + t.size();
}

int64_t to_int64(const nlohmann::json& node, const std::string& source, const std::string& key) {
  const std::string text = scalar_text(node, "an integer", source, key);
  int64_t v = 0;
  DUO_CHECK(parse_int64(text, v), "{}: key '{}' expects an integer; got '{}'", source, key,
            core::printable(text));
  return v;
}

double to_double(const nlohmann::json& node, const std::string& source, const std::string& key) {
  const std::string text = scalar_text(node, "a number", source, key);
  std::string t = trimmed(text);
  if (!t.empty() && t[0] == '+') t.erase(0, 1);
  double v = 0;
  auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  DUO_CHECK(!t.empty() && ec == std::errc() && p == t.data() + t.size(), "{}: key '{}' expects a number; got '{}'",
            source, key, core::printable(text));
  DUO_CHECK(std::isfinite(v), "{}: key '{}' expects a finite number; got '{}'", source, key, text);
  return v;
}

// A list field: a YAML list, or one scalar with comma-separated items ("1000,2000"), or null.
std::vector<nlohmann::json> list_items(const nlohmann::json& node, const char* expects, const std::string& source,
                                       const std::string& key) {
  std::vector<nlohmann::json> items;
  if (node.is_null()) return items;
  if (node.is_array()) {
    for (const auto& x : node) items.push_back(x);
    return items;
  }
  const std::string text = scalar_text(node, expects, source, key);
  if (trimmed(text).empty()) return items;
  size_t start = 0;
  while (true) {
    const size_t comma = text.find(',', start);
    items.push_back(trimmed(text.substr(start, comma == std::string::npos ? std::string::npos : comma - start)));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return items;
}

}  // namespace

nlohmann::json parse_yaml_tree(const std::string& text, const std::string& source) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::ParserException& e) {
    fail("{}: invalid YAML at line {}, column {}: {}", source, e.mark.line + 1, e.mark.column + 1,
         core::printable(e.msg));
  } catch (const YAML::Exception& e) {
    fail("{}: invalid YAML: {}", source, core::printable(e.what()));
  }
  return to_tree(root, source, "");
}

nlohmann::json parse_override(const std::string& assignment) {
  const size_t eq = assignment.find('=');
  DUO_CHECK(eq != std::string::npos && eq > 0, "--set: expected key=value; got '{}'", assignment);
  const std::string key = trimmed(assignment.substr(0, eq));
  const std::string value = assignment.substr(eq + 1);
  nlohmann::json leaf;
  if (trimmed(value).rfind('[', 0) == 0) {
    leaf = parse_yaml_tree(value, "--set " + key);
    DUO_CHECK(leaf.is_array(), "--set: key '{}' has a malformed list; got '{}'", key, value);
  } else {
    leaf = value;
  }
  // "a.b.c" -> {"a": {"b": {"c": leaf}}}
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    const size_t dot = key.find('.', start);
    parts.push_back(key.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  for (const auto& p : parts) DUO_CHECK(!p.empty(), "--set: malformed key '{}' in '{}'", key, assignment);
  nlohmann::json tree = std::move(leaf);
  for (auto it = parts.rbegin(); it != parts.rend(); ++it) tree = nlohmann::json{{*it, std::move(tree)}};
  return tree;
}

void read_value(const nlohmann::json& node, bool& out, const std::string& source, const std::string& key) {
  const std::string text = scalar_text(node, "true or false", source, key);
  std::string t = trimmed(text);
  std::transform(t.begin(), t.end(), t.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (t == "true" || t == "yes" || t == "on" || t == "1") {
    out = true;
  } else if (t == "false" || t == "no" || t == "off" || t == "0") {
    out = false;
  } else {
    fail("{}: key '{}' expects true or false; got '{}'", source, key, core::printable(text));
  }
}

void read_value(const nlohmann::json& node, int& out, const std::string& source, const std::string& key) {
  const int64_t v = to_int64(node, source, key);
  DUO_CHECK(v >= INT32_MIN && v <= INT32_MAX, "{}: key '{}' expects an integer in [{}, {}]; got {}", source, key,
            INT32_MIN, INT32_MAX, v);
  out = static_cast<int>(v);
}

void read_value(const nlohmann::json& node, int64_t& out, const std::string& source, const std::string& key) {
  out = to_int64(node, source, key);
}

void read_value(const nlohmann::json& node, double& out, const std::string& source, const std::string& key) {
  out = to_double(node, source, key);
}

void read_value(const nlohmann::json& node, std::string& out, const std::string& source, const std::string& key) {
  std::string text = node.is_null() ? std::string() : scalar_text(node, "a string", source, key);
  // YAML is UTF-8 text; a string that is not would be written back (config.yaml, config.json)
  // differently from how it was read.
  const size_t bad = core::first_invalid_utf8(text);
  DUO_CHECK(bad == text.size(), "{}: key '{}' expects UTF-8 text; got the byte 0x{:02X} at byte {} of '{}'", source, key,
            static_cast<unsigned char>(text[bad]), bad, core::printable(text));
  out = std::move(text);
}

void read_value(const nlohmann::json& node, std::vector<int64_t>& out, const std::string& source,
                const std::string& key) {
  std::vector<int64_t> v;
  const auto items = list_items(node, "a list of integers", source, key);
  for (size_t i = 0; i < items.size(); ++i) v.push_back(to_int64(items[i], source, fmt::format("{}[{}]", key, i)));
  out = std::move(v);
}

void read_value(const nlohmann::json& node, std::vector<double>& out, const std::string& source,
                const std::string& key) {
  std::vector<double> v;
  const auto items = list_items(node, "a list of numbers", source, key);
  for (size_t i = 0; i < items.size(); ++i) v.push_back(to_double(items[i], source, fmt::format("{}[{}]", key, i)));
  out = std::move(v);
}

void read_value(const nlohmann::json& node, std::vector<std::string>& out, const std::string& source,
                const std::string& key) {
  std::vector<std::string> v;
  const auto items = list_items(node, "a list of strings", source, key);
  for (size_t i = 0; i < items.size(); ++i) {
    std::string s;
    read_value(items[i], s, source, fmt::format("{}[{}]", key, i));
    v.push_back(std::move(s));
  }
  out = std::move(v);
}

std::string yaml_value(bool v) { return v ? "true" : "false"; }
std::string yaml_value(int v) { return std::to_string(v); }
std::string yaml_value(int64_t v) { return std::to_string(v); }
std::string yaml_value(double v) {
  if (std::isnan(v)) return ".nan";
  if (std::isinf(v)) return v > 0 ? ".inf" : "-.inf";
  std::string s = fmt::format("{}", v);  // shortest text that reads back to the same double
  if (s.find_first_of(".e") == std::string::npos) s += ".0";  // 1.0, not 1: reads as a float
  return s;
}
// A JSON string literal is a valid YAML double-quoted scalar with the same value.
std::string yaml_value(const std::string& v) { return nlohmann::json(v).dump(); }

template <class T>
static std::string yaml_list(const std::vector<T>& v) {
  std::string out = "[";
  for (size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + yaml_value(v[i]);
  return out + "]";
}
std::string yaml_value(const std::vector<int64_t>& v) { return yaml_list(v); }
std::string yaml_value(const std::vector<double>& v) { return yaml_list(v); }
std::string yaml_value(const std::vector<std::string>& v) { return yaml_list(v); }

void check_section(const nlohmann::json& node, const std::string& source, const std::string& key) {
  if (key.empty()) {
    DUO_CHECK(node.is_object(), "{}: expected a mapping of options (key: value lines); got {}", source, shown(node));
  } else {
    DUO_CHECK(node.is_object(), "{}: key '{}' expects a mapping; got {}", source, key, shown(node));
  }
}

void check_known_keys(const nlohmann::json& node, const std::vector<std::string>& known, const std::string& source,
                      const std::string& prefix) {
  for (auto it = node.begin(); it != node.end(); ++it) {
    if (std::find(known.begin(), known.end(), it.key()) == known.end()) {
      fail("{}: unknown key '{}{}'; expected one of: {}", source, prefix, core::printable(it.key()),
           fmt::join(known, ", "));
    }
  }
}

std::string format_help(const std::vector<HelpRow>& rows) {
  size_t width = 0;
  for (const auto& r : rows) width = std::max(width, r.left.size());
  width = std::min<size_t>(width, 44);
  std::string out;
  for (const auto& r : rows) {
    std::string line = "  " + r.left;
    if (!r.help.empty()) {
      line.append(r.left.size() < width ? width - r.left.size() : 0, ' ');
      line += "    " + r.help;
    }
    out += line + "\n";
  }
  return out;
}

std::string read_text_file(const std::filesystem::path& path) { return core::read_file(path); }

void write_text_file_atomic(const std::filesystem::path& path, const std::string& text) {
  core::write_file_atomic(path, text);
}

}  // namespace duo::io::options_detail
