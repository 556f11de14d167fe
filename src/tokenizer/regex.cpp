// PCRE2 wrapper and the pattern translation (see regex.h).
#define PCRE2_CODE_UNIT_WIDTH 8
#include "tokenizer/regex.h"

#include "core/error.h"
#include "tokenizer/unicode.h"

#include <pcre2.h>

#include <fmt/format.h>

#include <mutex>

namespace duo::tokenizer {
namespace {

// JavaScript's rewrite of the contraction group (transformers.js PROBLEMATIC_REGEX_MAP).
constexpr std::string_view kCaselessContractions = "(?i:'s|'t|'re|'ve|'m|'ll|'d)";
constexpr std::string_view kSpeltContractions = "(?:'([sS]|[tT]|[rR][eE]|[vV][eE]|[mM]|[lL][lL]|[dD]))";

void append_range(std::string& out, uint32_t a, uint32_t b) {
  out += fmt::format("\\x{{{:x}}}", a);
  if (b != a) out += fmt::format("-\\x{{{:x}}}", b);
}

// Ranges of class `c` (reference tables) that PCRE2's own \p{L} / \p{N} does not match,
// as class items. Computed once per process by asking PCRE2 about each code point.
std::string extra_items(CharClass c) {
  const char* probe = c == CharClass::kLetter ? "^\\p{L}$" : "^\\p{N}$";
  int err = 0;
  PCRE2_SIZE off = 0;
  pcre2_code* re = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(probe), PCRE2_ZERO_TERMINATED,
                                 PCRE2_UTF | PCRE2_UCP, &err, &off, nullptr);
  pcre2_match_data* md = pcre2_match_data_create(1, nullptr);
  std::string out;
  long run_start = -1;
  uint32_t run_end = 0;
  std::string buf;
  for (const auto& [a, b] : class_ranges(c)) {
    for (uint32_t cp = a; cp <= b; ++cp) {
      buf.clear();
      append_utf8(buf, cp);
      bool native = pcre2_match(re, reinterpret_cast<PCRE2_SPTR>(buf.data()), buf.size(), 0, 0, md,
                                nullptr) >= 0;
      if (!native) {
        if (run_start >= 0 && run_end + 1 == cp) {
          run_end = cp;
        } else {
          if (run_start >= 0) append_range(out, static_cast<uint32_t>(run_start), run_end);
          run_start = cp;
          run_end = cp;
        }
      }
    }
  }
  if (run_start >= 0) append_range(out, static_cast<uint32_t>(run_start), run_end);
  pcre2_match_data_free(md);
  pcre2_code_free(re);
  return out;
}

const std::string& class_items(CharClass c) {
  static std::once_flag once;
  static std::string letter, number, space;
  std::call_once(once, [] {
    letter = "\\p{L}" + extra_items(CharClass::kLetter);
    number = "\\p{N}" + extra_items(CharClass::kNumber);
    for (const auto& [a, b] : class_ranges(CharClass::kSpace)) append_range(space, a, b);
  });
  return c == CharClass::kLetter ? letter : c == CharClass::kNumber ? number : space;
}

// A per-thread JIT stack, larger than PCRE2's 32 KiB default so long whitespace runs fit.
pcre2_jit_stack* thread_jit_stack() {
  struct Holder {
    pcre2_jit_stack* stack = pcre2_jit_stack_create(32 * 1024, 4 * 1024 * 1024, nullptr);
    ~Holder() { pcre2_jit_stack_free(stack); }
  };
  thread_local Holder holder;
  return holder.stack;
}

}  // namespace

std::string translate_pattern(std::string_view pattern) {
  std::string p(pattern);
  for (size_t at = p.find(kCaselessContractions); at != std::string::npos;
       at = p.find(kCaselessContractions, at + kSpeltContractions.size()))
    p.replace(at, kCaselessContractions.size(), kSpeltContractions);

  std::string out;
  out.reserve(p.size() * 2);
  bool in_class = false;
  size_t class_start = 0;  // index in p just after '[' or '[^'
  for (size_t i = 0; i < p.size(); ++i) {
    char c = p[i];
    if (c == '\\' && i + 1 < p.size()) {
      char e = p[i + 1];
      bool prop = (e == 'p' || e == 'P') && i + 4 < p.size() && p[i + 2] == '{' && p[i + 4] == '}' &&
                  (p[i + 3] == 'L' || p[i + 3] == 'N');
      if (prop) {
        const std::string& items = class_items(p[i + 3] == 'L' ? CharClass::kLetter : CharClass::kNumber);
        if (e == 'p') {
          out += in_class ? items : "[" + items + "]";
          i += 4;
          continue;
        }
        if (!in_class) {
          out += "[^" + items + "]";
          i += 4;
          continue;
        }
      } else if (e == 's' || (e == 'S' && !in_class)) {
        const std::string& items = class_items(CharClass::kSpace);
        out += in_class ? items : (e == 's' ? "[" : "[^") + items + "]";
        ++i;
        continue;
      }
      // Any other escape is copied whole (including a braced argument such as \x{..}).
      out += c;
      out += e;
      ++i;
      if (i + 1 < p.size() && p[i + 1] == '{' && (e == 'x' || e == 'p' || e == 'P' || e == 'o')) {
        size_t close = p.find('}', i + 1);
        if (close != std::string::npos) {
          out.append(p, i + 1, close - i);
          i = close;
        }
      }
      continue;
    }
    if (!in_class && c == '[') {
      in_class = true;
      out += c;
      if (i + 1 < p.size() && p[i + 1] == '^') {
        out += '^';
        ++i;
      }
      class_start = i + 1;
      continue;
    }
    if (in_class && c == '[' && i + 1 < p.size() && p[i + 1] == ':') {
      size_t close = p.find(":]", i + 2);
      if (close != std::string::npos) {
        out.append(p, i, close + 2 - i);
        i = close + 1;
        continue;
      }
    }
    if (in_class && c == ']' && i != class_start) in_class = false;
    out += c;
  }
  return out;
}

std::string escape_literal(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (std::string_view("\\^$.|?*+()[]{}-/#&~ ").find(c) != std::string_view::npos ||
        c == '\t' || c == '\n' || c == '\r') {
      if (c == '\t' || c == '\n' || c == '\r') {
        out += fmt::format("\\x{{{:x}}}", static_cast<int>(c));
        continue;
      }
      out += '\\';
    }
    out += c;
  }
  return out;
}

Regex::Regex(std::string_view pattern, const std::string& where) {
  compile(translate_pattern(pattern), where);
}

std::unique_ptr<Regex> Regex::literal(std::string_view literal, const std::string& where) {
  std::unique_ptr<Regex> re(new Regex());
  re->compile(escape_literal(literal), where);
  return re;
}

void Regex::compile(const std::string& pcre_pattern, const std::string& where) {
  int err = 0;
  PCRE2_SIZE offset = 0;
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pcre_pattern.data()),
                                   pcre_pattern.size(), PCRE2_UTF | PCRE2_UCP, &err, &offset, nullptr);
  if (code == nullptr) {
    PCRE2_UCHAR msg[256];
    pcre2_get_error_message(err, msg, sizeof msg);
    fail("{}: regex does not compile at offset {}: {}", where, offset, reinterpret_cast<const char*>(msg));
  }
  pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);  // without JIT support pcre2_match interprets
  code_ = code;
}

Regex::~Regex() { pcre2_code_free(static_cast<pcre2_code*>(code_)); }

void Regex::find_all(std::string_view text, std::vector<std::pair<size_t, size_t>>& out) const {
  auto* code = static_cast<pcre2_code*>(code_);
  pcre2_match_data* md = pcre2_match_data_create_from_pattern(code, nullptr);
  pcre2_match_context* mc = pcre2_match_context_create(nullptr);
  pcre2_jit_stack_assign(mc, nullptr, thread_jit_stack());
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  size_t pos = 0;
  // Input is validated once up front (the tokenizer checks UTF-8), so skip PCRE2's per-call check.
  uint32_t options = PCRE2_NO_UTF_CHECK;
  while (pos <= text.size()) {
    int rc = pcre2_match(code, subject, text.size(), pos, options, md, mc);
    if (rc == PCRE2_ERROR_JIT_STACKLIMIT) {
      rc = pcre2_match(code, subject, text.size(), pos, options | PCRE2_NO_JIT, md, mc);
    }
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0) {
      pcre2_match_data_free(md);
      pcre2_match_context_free(mc);
      PCRE2_UCHAR msg[256];
      pcre2_get_error_message(rc, msg, sizeof msg);
      fail("regex match failed at byte {}: {}", pos, reinterpret_cast<const char*>(msg));
    }
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
    size_t start = ov[0], end = ov[1];
    if (end > start) {
      out.emplace_back(start, end);
      pos = end;
    } else {
      if (start >= text.size()) break;
      pos = start + utf8_length(static_cast<unsigned char>(text[start]));
    }
  }
  pcre2_match_data_free(md);
  pcre2_match_context_free(mc);
}

}  // namespace duo::tokenizer
