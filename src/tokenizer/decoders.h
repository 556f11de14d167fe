// tokenizer.json decoders: ByteLevel, Metaspace, Replace, ByteFallback, Fuse, Strip and
// Sequence of them. Anything else fails to load with a message naming it.
#pragma once

#include "tokenizer/json_fields.h"

#include <memory>
#include <string>
#include <vector>

namespace duo::tokenizer {

class TokenDecoder {
 public:
  virtual ~TokenDecoder() = default;
  // Transforms the token strings in place (decode_chain in huggingface/tokenizers); the
  // decoded text is the concatenation of the result.
  virtual void decode_chain(std::vector<std::string>& tokens) const = 0;
};

std::unique_ptr<TokenDecoder> make_token_decoder(const Json& j, const std::string& where);

}  // namespace duo::tokenizer
