// Normalizers (see normalizers.h). Semantics follow huggingface/tokenizers normalizers/*.rs.
#include "tokenizer/normalizers.h"

#include "tokenizer/nfc.h"

#include <vector>

namespace duo::tokenizer {
namespace {

class SequenceNormalizer : public Normalizer {
 public:
  explicit SequenceNormalizer(std::vector<std::unique_ptr<Normalizer>> parts) : parts_(std::move(parts)) {}
  std::string normalize(std::string s) const override {
    for (const auto& p : parts_) s = p->normalize(std::move(s));
    return s;
  }

 private:
  std::vector<std::unique_ptr<Normalizer>> parts_;
};

// Prepends a string to non-empty input (normalizers/prepend.rs).
class PrependNormalizer : public Normalizer {
 public:
  explicit PrependNormalizer(std::string prefix) : prefix_(std::move(prefix)) {}
  std::string normalize(std::string s) const override { return s.empty() ? s : prefix_ + s; }

 private:
  std::string prefix_;
};

class ReplaceNormalizer : public Normalizer {
 public:
  ReplaceNormalizer(Pattern pattern, std::string content)
      : pattern_(std::move(pattern)), content_(std::move(content)) {}
  std::string normalize(std::string s) const override { return replace_all(pattern_, s, content_); }

 private:
  Pattern pattern_;
  std::string content_;
};

class NfcNormalizer : public Normalizer {
 public:
  std::string normalize(std::string s) const override { return nfc(s); }
};

}  // namespace

std::unique_ptr<Normalizer> make_normalizer(const Json& j, const std::string& where) {
  std::string type = type_of(j, where);
  if (type == "Sequence") {
    const Json& list = require_field(j, "normalizers", where);
    DUO_CHECK(list.is_array(), "{}: 'normalizers' must be a list", where);
    std::vector<std::unique_ptr<Normalizer>> parts;
    for (size_t i = 0; i < list.size(); ++i)
      parts.push_back(make_normalizer(list[i], where + ".normalizers[" + std::to_string(i) + "]"));
    return std::make_unique<SequenceNormalizer>(std::move(parts));
  }
  if (type == "Prepend") return std::make_unique<PrependNormalizer>(require_string(j, "prepend", where));
  if (type == "Replace") {
    return std::make_unique<ReplaceNormalizer>(read_pattern(require_field(j, "pattern", where), where + ".pattern"),
                                               require_string(j, "content", where));
  }
  if (type == "NFC") return std::make_unique<NfcNormalizer>();
  unsupported(where, "normalizer", type, "Sequence, Prepend, Replace, NFC");
}

}  // namespace duo::tokenizer
