// Decoders (see decoders.h); decoders/*.rs and pre_tokenizers/{byte_level,metaspace}.rs in
// huggingface/tokenizers.
#include "tokenizer/decoders.h"

#include "tokenizer/unicode.h"
#include "core/printable.h"

namespace duo::tokenizer {
namespace {

// Maps each byte-level character back to its byte; a token holding any other character is
// taken as raw UTF-8 (added tokens). Invalid UTF-8 in the result becomes U+FFFD.
class ByteLevelDecoder : public TokenDecoder {
 public:
  void decode_chain(std::vector<std::string>& tokens) const override {
    std::string bytes;
    for (const std::string& t : tokens) {
      size_t mark = bytes.size();
      bool all = true;
      for (size_t i = 0; i < t.size();) {
        int b = char_to_byte(next_code_point(t, i));
        if (b < 0) {
          all = false;
          break;
        }
        bytes += static_cast<char>(b);
      }
      if (!all) {
        bytes.resize(mark);
        bytes += t;
      }
    }
    tokens.assign(1, utf8_lossy(bytes));
  }
};

class MetaspaceDecoder : public TokenDecoder {
 public:
  MetaspaceDecoder(std::string replacement, bool prepend) : replacement_(std::move(replacement)), prepend_(prepend) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (size_t i = 0; i < tokens.size(); ++i) {
      std::string out;
      const std::string& t = tokens[i];
      for (size_t k = 0; k < t.size();) {
        if (t.compare(k, replacement_.size(), replacement_) == 0) {
          if (!(i == 0 && prepend_)) out += ' ';
          k += replacement_.size();
        } else {
          out += t[k++];
        }
      }
      tokens[i] = std::move(out);
    }
  }

 private:
  std::string replacement_;
  bool prepend_;
};

class ReplaceDecoder : public TokenDecoder {
 public:
  ReplaceDecoder(Pattern p, std::string content) : pattern_(std::move(p)), content_(std::move(content)) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (std::string& t : tokens) t = replace_all(pattern_, t, content_);
  }

 private:
  Pattern pattern_;
  std::string content_;
};

// Runs of <0xXX> tokens become the text their bytes spell; an invalid run becomes one U+FFFD
// per byte (decoders/byte_fallback.rs).
class ByteFallbackDecoder : public TokenDecoder {
 public:
  void decode_chain(std::vector<std::string>& tokens) const override {
    std::vector<std::string> out;
    out.reserve(tokens.size());
    std::string bytes;
    size_t count = 0;
    auto flush = [&] {
      if (count == 0) return;
      if (is_valid_utf8(bytes)) {
        out.push_back(bytes);
      } else {
        for (size_t k = 0; k < count; ++k) out.emplace_back("\xEF\xBF\xBD");
      }
      bytes.clear();
      count = 0;
    };
    for (std::string& t : tokens) {
      int byte = parse_byte(t);
      if (byte >= 0) {
        bytes += static_cast<char>(byte);
        ++count;
      } else {
        flush();
        out.push_back(std::move(t));
      }
    }
    flush();
    tokens.swap(out);
  }

 private:
  static int hex(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  }
  static int parse_byte(const std::string& t) {
    if (t.size() != 6 || t.compare(0, 3, "<0x") != 0 || t[5] != '>') return -1;
    int hi = hex(t[3]), lo = hex(t[4]);
    return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
  }
};

class FuseDecoder : public TokenDecoder {
 public:
  void decode_chain(std::vector<std::string>& tokens) const override {
    std::string all;
    for (const std::string& t : tokens) all += t;
    tokens.assign(1, std::move(all));
  }
};

// Removes up to `start` leading and `stop` trailing copies of one character from each token.
class StripDecoder : public TokenDecoder {
 public:
  StripDecoder(uint32_t content, size_t start, size_t stop) : content_(content), start_(start), stop_(stop) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (std::string& t : tokens) {
      std::vector<uint32_t> cps = code_points(t);
      size_t a = 0, b = cps.size();
      for (size_t i = 0; i < start_ && a < b && cps[a] == content_; ++i) ++a;
      for (size_t i = 0; i < stop_ && b > a && cps[b - 1] == content_; ++i) --b;
      std::string r;
      for (size_t i = a; i < b; ++i) append_utf8(r, cps[i]);
      t = std::move(r);
    }
  }

 private:
  uint32_t content_;
  size_t start_, stop_;
};

class SequenceDecoder : public TokenDecoder {
 public:
  explicit SequenceDecoder(std::vector<std::unique_ptr<TokenDecoder>> parts) : parts_(std::move(parts)) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (const auto& p : parts_) p->decode_chain(tokens);
  }

 private:
  std::vector<std::unique_ptr<TokenDecoder>> parts_;
};

size_t count_field(const Json& j, const char* key, const std::string& where) {
  const Json& v = require_field(j, key, where);
  DUO_CHECK(v.is_number_integer() && v.get<int64_t>() >= 0, "{}: '{}' must be a non-negative integer, got {}",
            where, key, v.dump());
  return static_cast<size_t>(v.get<int64_t>());
}

}  // namespace

std::unique_ptr<TokenDecoder> make_token_decoder(const Json& j, const std::string& where) {
  std::string type = type_of(j, where);
  if (type == "ByteLevel") return std::make_unique<ByteLevelDecoder>();
  if (type == "Metaspace") {
    std::string replacement = require_string(j, "replacement", where);
    bool prepend = true;
    if (auto s = optional_string(j, "prepend_scheme", where))
      prepend = *s != "never";
    else
      prepend = bool_or(j, "add_prefix_space", true, where);
    return std::make_unique<MetaspaceDecoder>(replacement, prepend);
  }
  if (type == "Replace") {
    return std::make_unique<ReplaceDecoder>(read_pattern(require_field(j, "pattern", where), where + ".pattern"),
                                            require_string(j, "content", where));
  }
  if (type == "ByteFallback") return std::make_unique<ByteFallbackDecoder>();
  if (type == "Fuse") return std::make_unique<FuseDecoder>();
  if (type == "Strip") {
    std::string content = require_string(j, "content", where);
    std::vector<uint32_t> cps = code_points(content);
    DUO_CHECK(cps.size() == 1, "{}: 'content' must be one character, got '{}'", where,
              core::printable(content));
    return std::make_unique<StripDecoder>(cps[0], count_field(j, "start", where), count_field(j, "stop", where));
  }
  if (type == "Sequence") {
    const Json& list = require_field(j, "decoders", where);
    DUO_CHECK(list.is_array(), "{}: 'decoders' must be a list", where);
    std::vector<std::unique_ptr<TokenDecoder>> parts;
    for (size_t i = 0; i < list.size(); ++i)
      parts.push_back(make_token_decoder(list[i], where + ".decoders[" + std::to_string(i) + "]"));
    return std::make_unique<SequenceDecoder>(std::move(parts));
  }
  unsupported(where, "decoder", type, "ByteLevel, Metaspace, Replace, ByteFallback, Fuse, Strip, Sequence");
}

}  // namespace duo::tokenizer
