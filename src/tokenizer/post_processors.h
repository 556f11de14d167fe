// tokenizer.json post-processors: TemplateProcessing (special tokens around the sequence),
// ByteLevel (ids unchanged; it only moves offsets), Sequence. Anything else fails to load with
// a message naming it. Only single sequences are encoded here (no pairs).
#pragma once

#include "tokenizer/json_fields.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace duo::tokenizer {

class PostProcessor {
 public:
  virtual ~PostProcessor() = default;
  // Adds the template's special tokens around `ids` when `add_special_tokens`.
  virtual void process(std::vector<int32_t>& ids, bool add_special_tokens) const = 0;
  // The last special token id placed before / the first placed after the sequence, if any.
  virtual std::optional<int32_t> bos_id() const { return std::nullopt; }
  virtual std::optional<int32_t> eos_id() const { return std::nullopt; }
  // Every id process() can add (the loader checks each is a token of the tokenizer).
  virtual std::vector<int32_t> special_ids() const { return {}; }
};

std::unique_ptr<PostProcessor> make_post_processor(const Json& j, const std::string& where);

}  // namespace duo::tokenizer
