// Haystack sources and the one-shot tokenization (see haystack.h).
#include "data_gen/haystack.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/log.h"
#include "data_gen/zstd_lines.h"
#include "tokenizer/tokenizer.h"

namespace fs = std::filesystem;

namespace duo::data_gen {

const char* const kBuiltinFiller =
    "The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again.";

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// The filler, endlessly: each document is 64 copies joined by spaces (the classic generator joins
// its repetitions with " ").
class BuiltinSource : public DocumentSource {
 public:
  bool next(std::string& doc) override {
    doc.clear();
    for (int i = 0; i < 64; ++i) {
      if (!first_) doc += ' ';
      first_ = false;
      doc += kBuiltinFiller;
    }
    return true;
  }
  std::string describe() const override { return "builtin filler"; }

 private:
  bool first_ = true;
};

class FilesSource : public DocumentSource {
 public:
  FilesSource(std::vector<fs::path> files, std::string what) : files_(std::move(files)), what_(std::move(what)) {}
  bool next(std::string& doc) override {
    if (next_ >= files_.size()) return false;
    doc = core::read_file(files_[next_++]);
    return true;
  }
  std::string describe() const override { return what_; }

 private:
  std::vector<fs::path> files_;
  std::string what_;
  size_t next_ = 0;
};

class JsonlSource : public DocumentSource {
 public:
  explicit JsonlSource(const fs::path& path) : path_(path), lines_(path) {}
  bool next(std::string& doc) override {
    std::string line;
    while (lines_.next(line)) {
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;  // blank lines
      nlohmann::json j;
      try {
        j = nlohmann::json::parse(line);
      } catch (const nlohmann::json::exception& e) {
        fail("{} line {}: expected a JSON object, got invalid JSON ({})", path_.string(), lines_.line_number(), e.what());
      }
      auto it = j.is_object() ? j.find("text") : j.end();
      DUO_CHECK(j.is_object() && it != j.end() && it->is_string(),
                "{} line {}: expected a string field 'text', got {}", path_.string(), lines_.line_number(),
                j.is_object() ? (it == j.end() ? std::string("no such field") : std::string(it->type_name()))
                              : std::string(j.type_name()));
      doc = it->get<std::string>();
      return true;
    }
    return false;
  }
  std::string describe() const override { return path_.string(); }

 private:
  fs::path path_;
  LineReader lines_;
};

}  // namespace

std::unique_ptr<DocumentSource> open_haystack(const std::string& spec) {
  if (spec == "builtin") return std::make_unique<BuiltinSource>();
  DUO_CHECK(!spec.empty(), "haystack: expected 'builtin' or a path, got an empty string");
  fs::path path(spec);
  std::error_code ec;
  auto status = fs::status(path, ec);
  DUO_CHECK(fs::exists(status), "haystack: '{}' does not exist; expected 'builtin', a text file, a folder, "
            "or a .jsonl / .jsonl.zst file", spec);
  if (fs::is_directory(status)) {
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(path)) {
      if (e.is_regular_file() && e.path().filename().string().front() != '.') files.push_back(e.path());
    }
    std::sort(files.begin(), files.end());
    DUO_CHECK(!files.empty(), "haystack: folder '{}' holds no files; expected text files", spec);
    std::string what = fmt::format("{} ({} files)", spec, files.size());
    return std::make_unique<FilesSource>(std::move(files), what);
  }
  std::string name = path.filename().string();
  if (ends_with(name, ".jsonl") || ends_with(name, ".jsonl.zst") || ends_with(name, ".json.zst")) {
    return std::make_unique<JsonlSource>(path);
  }
  return std::make_unique<FilesSource>(std::vector<fs::path>{path}, spec);
}

std::vector<int32_t> tokenize_haystack(const tokenizer::Tokenizer& tok, const std::string& spec, int64_t min_tokens) {
  auto source = open_haystack(spec);
  // Gather about 5 characters per wanted token (English BPE averages ~4), tokenize once; if that
  // falls short, gather more by the observed ratio and tokenize again (rare).
  std::string text;
  std::string doc;
  bool exhausted = false;
  size_t want_chars = static_cast<size_t>(std::max<int64_t>(min_tokens, 1)) * 5;
  std::vector<int32_t> tokens;
  for (int attempt = 0;; ++attempt) {
    while (!exhausted && text.size() < want_chars) {
      if (source->next(doc)) {
        text += doc;
      } else {
        exhausted = true;
      }
    }
    DUO_CHECK(!text.empty(), "haystack: {} is empty; expected some text", source->describe());
    if (exhausted && attempt == 0) {
      // The whole source is shorter than wanted: repeat it (see haystack.h).
      std::string once = text;
      while (text.size() < want_chars) text += once;
    }
    tokens = tok.encode(text, /*add_special_tokens=*/false);
    DUO_CHECK(!tokens.empty(), "haystack: {} gives no tokens; expected some text", source->describe());
    if (static_cast<int64_t>(tokens.size()) >= min_tokens) break;
    double chars_per_token = static_cast<double>(text.size()) / static_cast<double>(tokens.size());
    want_chars = static_cast<size_t>(chars_per_token * static_cast<double>(min_tokens) * 1.2) + 1024;
    if (exhausted) {
      std::string once = text;
      while (text.size() < want_chars) text += once;
    }
  }
  if (exhausted) core::log_debug("haystack: {} repeated to reach {} tokens", source->describe(), min_tokens);
  tokens.resize(static_cast<size_t>(min_tokens));
  return tokens;
}

}  // namespace duo::data_gen
