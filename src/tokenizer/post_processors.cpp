// Post-processors (see post_processors.h); processors/{template,sequence,byte_level}.rs.
#include "tokenizer/post_processors.h"
#include "core/printable.h"

#include <cstdint>

namespace duo::tokenizer {
namespace {

class TemplateProcessor : public PostProcessor {
 public:
  TemplateProcessor(const Json& j, const std::string& where) {
    std::string w = where + ".single";
    const Json& single = require_field(j, "single", where);
    DUO_CHECK(single.is_array(), "{}: expected a list", w);
    const Json* specials = j.contains("special_tokens") ? &j["special_tokens"] : nullptr;
    bool seen_sequence = false;
    for (size_t i = 0; i < single.size(); ++i) {
      const Json& item = single[i];
      std::string wi = w + "[" + std::to_string(i) + "]";
      if (item.contains("Sequence")) {
        std::string id = require_string(item["Sequence"], "id", wi);
        DUO_CHECK(id == "A", "{}: a single-sequence template may only hold sequence A, got '{}'", wi,
                  core::printable(id));
        DUO_CHECK(!seen_sequence, "{}: sequence A appears twice", wi);
        seen_sequence = true;
        continue;
      }
      DUO_CHECK(item.contains("SpecialToken"), "{}: expected SpecialToken or Sequence, got {}", wi,
                core::printable(item.dump().substr(0, 80)));
      std::string name = require_string(item["SpecialToken"], "id", wi);
      DUO_CHECK(specials && specials->contains(name), "{}: special token '{}' is not in {}.special_tokens", wi,
                core::printable(name), where);
      const Json& ids = require_field((*specials)[name], "ids", where + ".special_tokens." + name);
      DUO_CHECK(ids.is_array(), "{}.special_tokens.{}: 'ids' must be a list", where, name);
      auto& target = seen_sequence ? after_ : before_;
      for (const Json& id : ids) {
        DUO_CHECK(id.is_number_integer() && id.get<int64_t>() >= 0 && id.get<int64_t>() <= INT32_MAX,
                  "{}.special_tokens.{}: bad id {}; expected a token id (0..2^31-1)", where, core::printable(name),
                  core::printable(id.dump()));
        target.push_back(static_cast<int32_t>(id.get<int64_t>()));
      }
    }
    DUO_CHECK(seen_sequence, "{}: the template has no sequence A", w);
  }
  void process(std::vector<int32_t>& ids, bool add_special_tokens) const override {
    if (!add_special_tokens) return;
    ids.insert(ids.begin(), before_.begin(), before_.end());
    ids.insert(ids.end(), after_.begin(), after_.end());
  }
  std::optional<int32_t> bos_id() const override {
    return before_.empty() ? std::nullopt : std::optional<int32_t>(before_.back());
  }
  std::optional<int32_t> eos_id() const override {
    return after_.empty() ? std::nullopt : std::optional<int32_t>(after_.front());
  }
  std::vector<int32_t> special_ids() const override {
    std::vector<int32_t> ids = before_;
    ids.insert(ids.end(), after_.begin(), after_.end());
    return ids;
  }

 private:
  std::vector<int32_t> before_, after_;
};

class ByteLevelProcessor : public PostProcessor {
 public:
  void process(std::vector<int32_t>&, bool) const override {}
};

class SequenceProcessor : public PostProcessor {
 public:
  explicit SequenceProcessor(std::vector<std::unique_ptr<PostProcessor>> parts) : parts_(std::move(parts)) {}
  void process(std::vector<int32_t>& ids, bool add_special_tokens) const override {
    for (const auto& p : parts_) p->process(ids, add_special_tokens);
  }
  std::optional<int32_t> bos_id() const override {
    for (const auto& p : parts_)
      if (auto id = p->bos_id()) return id;
    return std::nullopt;
  }
  std::optional<int32_t> eos_id() const override {
    for (const auto& p : parts_)
      if (auto id = p->eos_id()) return id;
    return std::nullopt;
  }
  std::vector<int32_t> special_ids() const override {
    std::vector<int32_t> ids;
    for (const auto& p : parts_) {
      const auto more = p->special_ids();
      ids.insert(ids.end(), more.begin(), more.end());
    }
    return ids;
  }

 private:
  std::vector<std::unique_ptr<PostProcessor>> parts_;
};

}  // namespace

std::unique_ptr<PostProcessor> make_post_processor(const Json& j, const std::string& where) {
  std::string type = type_of(j, where);
  if (type == "TemplateProcessing") return std::make_unique<TemplateProcessor>(j, where);
  if (type == "ByteLevel") return std::make_unique<ByteLevelProcessor>();
  if (type == "Sequence") {
    const Json& list = require_field(j, "processors", where);
    DUO_CHECK(list.is_array(), "{}: 'processors' must be a list", where);
    std::vector<std::unique_ptr<PostProcessor>> parts;
    for (size_t i = 0; i < list.size(); ++i)
      parts.push_back(make_post_processor(list[i], where + ".processors[" + std::to_string(i) + "]"));
    return std::make_unique<SequenceProcessor>(std::move(parts));
  }
  unsupported(where, "post-processor", type, "TemplateProcessing, ByteLevel, Sequence");
}

}  // namespace duo::tokenizer
