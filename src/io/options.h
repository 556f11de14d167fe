// Task options: plain structs with defaults, filled from YAML then --set flags (defaults < YAML <
// flags), with unknown keys rejected. One visit method per struct serves loading, overrides,
// --help and the resolved config alike:
//
//   struct DataOptions {
//     int64_t num_passkeys = 10;
//     std::string haystack = "builtin";
//     template <class V> void visit(V& v) {
//       v("num_passkeys", num_passkeys, "needles per sample");
//       v("haystack", haystack, "builtin | file | dir | .jsonl[.zst]");
//     }
//   };
//   struct TrainOptions {
//     double lr = 0.02;
//     DataOptions data;
//     template <class V> void visit(V& v) {
//       v("lr", lr, "peak learning rate");
//       v.section("data", data, "data generation");
//     }
//   };
//
// Field types: bool, int, int64_t, double, std::string, std::vector<int64_t>,
// std::vector<double>, std::vector<std::string>, and nested sections. YAML scalars are read by
// the field's type (so `haystack: 123` is the string "123"); doubles must be finite. Loading is
// all-or-nothing: on an error the options are left as they were. yaml-cpp stays in options.cpp.
#pragma once

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace duo::io {

namespace options_detail {

// Parsed option text: YAML scalars stay strings (the field type decides how to read them), plus
// null, arrays and objects. Throws "<source>: invalid YAML at line L, column C: ...".
nlohmann::json parse_yaml_tree(const std::string& text, const std::string& source);
// The tree of one --set "a.b=value" override (a list value "[1, 2]" is parsed as YAML).
nlohmann::json parse_override(const std::string& assignment);

// Reads one field from a tree node; throws "<source>: key 'k' expects a number; got 'abc'".
void read_value(const nlohmann::json& node, bool& out, const std::string& source, const std::string& key);
void read_value(const nlohmann::json& node, int& out, const std::string& source, const std::string& key);
void read_value(const nlohmann::json& node, int64_t& out, const std::string& source, const std::string& key);
void read_value(const nlohmann::json& node, double& out, const std::string& source, const std::string& key);
void read_value(const nlohmann::json& node, std::string& out, const std::string& source, const std::string& key);
void read_value(const nlohmann::json& node, std::vector<int64_t>& out, const std::string& source,
                const std::string& key);
void read_value(const nlohmann::json& node, std::vector<double>& out, const std::string& source,
                const std::string& key);
void read_value(const nlohmann::json& node, std::vector<std::string>& out, const std::string& source,
                const std::string& key);

// A field as YAML flow text: 0.02, true, "text" (always double-quoted), [1000, 32000].
std::string yaml_value(bool v);
std::string yaml_value(int v);
std::string yaml_value(int64_t v);
std::string yaml_value(double v);
std::string yaml_value(const std::string& v);
std::string yaml_value(const std::vector<int64_t>& v);
std::string yaml_value(const std::vector<double>& v);
std::string yaml_value(const std::vector<std::string>& v);

// Throws "<source>: key 'data' expects a mapping; got '5'" unless node is an object (or null).
void check_section(const nlohmann::json& node, const std::string& source, const std::string& key);
// Throws "<source>: unknown key 'data.foo'; expected one of: a, b" for the first key of `node`
// not in `known`.
void check_known_keys(const nlohmann::json& node, const std::vector<std::string>& known, const std::string& source,
                      const std::string& prefix);
// Formats help rows (key = value, help) into aligned lines.
struct HelpRow {
  std::string left;  // "data.num_passkeys = 10" or "[data]"
  std::string help;
};
std::string format_help(const std::vector<HelpRow>& rows);

// Fills a struct's fields from a tree node (an object), then rejects keys no field claimed.
class LoadVisitor {
 public:
  LoadVisitor(const nlohmann::json& node, const std::string& source, std::string prefix)
      : node_(node), source_(source), prefix_(std::move(prefix)) {}
  template <class F>
  void operator()(std::string_view name, F& field, std::string_view /*help*/) {
    known_.emplace_back(name);
    auto it = node_.find(std::string(name));
    if (it != node_.end()) read_value(*it, field, source_, prefix_ + std::string(name));
  }
  template <class S>
  void section(std::string_view name, S& sub, std::string_view /*help*/) {
    known_.emplace_back(name);
    auto it = node_.find(std::string(name));
    if (it == node_.end() || it->is_null()) return;
    const std::string key = prefix_ + std::string(name);
    check_section(*it, source_, key);
    LoadVisitor child(*it, source_, key + ".");
    sub.visit(child);
    child.finish();
  }
  void finish() const { check_known_keys(node_, known_, source_, prefix_); }

 private:
  const nlohmann::json& node_;
  const std::string& source_;
  std::string prefix_;
  std::vector<std::string> known_;
};

template <class Json>
class JsonVisitor {
 public:
  explicit JsonVisitor(Json& out) : out_(out) {}
  template <class F>
  void operator()(std::string_view name, F& field, std::string_view /*help*/) {
    out_[std::string(name)] = field;
  }
  template <class S>
  void section(std::string_view name, S& sub, std::string_view /*help*/) {
    Json child = Json::object();
    JsonVisitor v(child);
    sub.visit(v);
    out_[std::string(name)] = std::move(child);
  }

 private:
  Json& out_;
};

class YamlVisitor {
 public:
  YamlVisitor(std::string& out, int indent) : out_(out), indent_(indent) {}
  template <class F>
  void operator()(std::string_view name, F& field, std::string_view help) {
    line(name, " " + yaml_value(field), help);
  }
  template <class S>
  void section(std::string_view name, S& sub, std::string_view help) {
    const size_t mark = out_.size();
    line(name, "", help);
    const size_t before = out_.size();
    YamlVisitor v(out_, indent_ + 2);
    sub.visit(v);
    if (out_.size() == before) {  // an empty section
      out_.resize(mark);
      line(name, " {}", help);
    }
  }

 private:
  void line(std::string_view name, const std::string& value, std::string_view help) {
    out_.append(static_cast<size_t>(indent_), ' ');
    out_.append(name).append(":").append(value);
    if (!help.empty()) out_.append("  # ").append(help);
    out_.append("\n");
  }
  std::string& out_;
  int indent_;
};

class HelpVisitor {
 public:
  HelpVisitor(std::vector<HelpRow>& rows, std::string prefix) : rows_(rows), prefix_(std::move(prefix)) {}
  template <class F>
  void operator()(std::string_view name, F& field, std::string_view help) {
    rows_.push_back({prefix_ + std::string(name) + " = " + yaml_value(field), std::string(help)});
  }
  template <class S>
  void section(std::string_view name, S& sub, std::string_view help) {
    rows_.push_back({"[" + prefix_ + std::string(name) + "]", std::string(help)});
    HelpVisitor v(rows_, prefix_ + std::string(name) + ".");
    sub.visit(v);
  }

 private:
  std::vector<HelpRow>& rows_;
  std::string prefix_;
};

// Applies a parsed tree (an object) to a copy of opts; assigns only when all of it is valid.
template <class T>
void apply_tree(T& opts, const nlohmann::json& tree, const std::string& source) {
  if (tree.is_null()) return;
  check_section(tree, source, "");
  T copy = opts;
  LoadVisitor v(tree, source, "");
  copy.visit(v);
  v.finish();
  opts = std::move(copy);
}

std::string read_text_file(const std::filesystem::path& path);
void write_text_file_atomic(const std::filesystem::path& path, const std::string& text);

}  // namespace options_detail

// Loads YAML text over opts. Errors name `source_name`, e.g.
// "train.yaml: unknown key 'data.foo'; expected one of: num_passkeys, haystack",
// "train.yaml: key 'lr' expects a number; got 'abc'".
template <class T>
void load_yaml_options_string(T& opts, const std::string& yaml_text, const std::string& source_name) {
  options_detail::apply_tree(opts, options_detail::parse_yaml_tree(yaml_text, source_name), source_name);
}

template <class T>
void load_yaml_options(T& opts, const std::filesystem::path& yaml) {
  load_yaml_options_string(opts, options_detail::read_text_file(yaml), yaml.string());
}

// Applies --set overrides in order: "lr=0.01", "data.num_passkeys=5", "contexts=[1000,2000]" or
// "contexts=1000,2000". Errors read "--set: unknown key 'data.foo'; expected one of: ...".
template <class T>
void apply_overrides(T& opts, const std::vector<std::string>& sets) {
  T copy = opts;
  for (const auto& s : sets) options_detail::apply_tree(copy, options_detail::parse_override(s), "--set");
  opts = std::move(copy);
}

// Defaults < YAML file (when config is non-empty) < overrides.
template <class T>
void resolve_options(T& opts, const std::filesystem::path& config, const std::vector<std::string>& sets) {
  T copy = opts;
  if (!config.empty()) load_yaml_options(copy, config);
  apply_overrides(copy, sets);
  opts = std::move(copy);
}

// The resolved config as YAML, one commented field a line; loads back to identical values.
template <class T>
std::string options_to_yaml(T& opts) {
  std::string out;
  options_detail::YamlVisitor v(out, 0);
  opts.visit(v);
  return out;
}

// Writes options_to_yaml(opts) atomically (e.g. config.yaml beside a run's outputs).
template <class T>
void write_options_yaml(const std::filesystem::path& path, T& opts) {
  options_detail::write_text_file_atomic(path, options_to_yaml(opts));
}

template <class T>
nlohmann::json options_to_json(T& opts) {
  nlohmann::json out = nlohmann::json::object();
  options_detail::JsonVisitor<nlohmann::json> v(out);
  opts.visit(v);
  return out;
}

// One line per field, "  data.num_passkeys = 10    needles per sample", with a "[data]" line
// opening each section.
template <class T>
std::string options_help(T& opts) {
  std::vector<options_detail::HelpRow> rows;
  options_detail::HelpVisitor v(rows, "");
  opts.visit(v);
  return options_detail::format_help(rows);
}

}  // namespace duo::io
