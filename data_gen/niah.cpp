// Needle-in-a-haystack prompt builder (see niah.h).
#include "data_gen/niah.h"

#include <algorithm>
#include <cmath>
#include <random>

#include "core/error.h"
#include "data_gen/gen_options.h"
#include "data_gen/haystack.h"
#include "data_gen/passkey.h"
#include "tokenizer/tokenizer.h"

namespace duo::data_gen {

NiahOptions NiahOptions::passkey_variant() {
  // The same wording as the classic training set (GenOptions::classic()), so a model trained
  // on it sees familiar text; the question ends where the key's tokens would start.
  const auto t = GenOptions::classic().templates;
  NiahOptions o;
  o.kind = "passkey";
  o.needle = t.separator + t.needle + t.separator;
  o.prompt_prefix = t.prompt_prefix;
  o.prompt_suffix = t.prompt_suffix;
  o.question = t.question.substr(0, t.question.find("{passkey}"));
  o.answer = "{passkey}";
  o.buffer = 0;
  return o;
}

namespace {

std::string replace_key(const std::string& text, const std::string& key) {
  std::string out;
  size_t pos = 0;
  while (true) {
    size_t hit = text.find("{passkey}", pos);
    if (hit == std::string::npos) break;
    out.append(text, pos, hit - pos);
    out += key;
    pos = hit + 9;
  }
  out.append(text, pos, std::string::npos);
  return out;
}

}  // namespace

NiahPromptBuilder::NiahPromptBuilder(const tokenizer::Tokenizer& tok, NiahOptions opts, int64_t max_context_len)
    : tok_(tok), opts_(std::move(opts)), max_context_len_(max_context_len) {
  DUO_CHECK(opts_.kind == "needle" || opts_.kind == "passkey", "niah kind: expected 'needle' or 'passkey', got '{}'",
            opts_.kind);
  DUO_CHECK(max_context_len_ >= 1, "niah: max context length expected >= 1, got {}", max_context_len_);
  DUO_CHECK(opts_.buffer >= 0, "niah buffer: expected >= 0, got {}", opts_.buffer);
  DUO_CHECK(!opts_.haystack_dir.empty(), "niah haystack_dir: expected a folder of text files (or 'builtin'), got ''");
  prefix_ = tok.encode(opts_.prompt_prefix, /*add_special_tokens=*/true);
  haystack_ = tokenize_haystack(tok, opts_.haystack_dir, max_context_len_);
}

bool NiahPromptBuilder::ends_sentence(int32_t token) const {
  // The original test compares with the ids of encode('.'); merged tokens such as ".\n" or ".\""
  // would never match there, so the decoded text is checked instead.
  std::string text = tok_.decode({token});
  auto end = text.find_last_not_of(" \t\r\n");
  return end != std::string::npos && text[end] == '.';
}

NiahPrompt NiahPromptBuilder::build(int64_t context_len, double depth_percent) const {
  DUO_CHECK(context_len >= 1 && context_len <= max_context_len_,
            "niah context length: expected 1..{} (the builder's maximum), got {}", max_context_len_, context_len);
  DUO_CHECK(depth_percent >= 0.0 && depth_percent <= 100.0, "niah depth percent: expected 0..100, got {}",
            depth_percent);
  NiahPrompt p;
  p.depth_percent = depth_percent;
  std::string needle = opts_.needle;
  p.answer = opts_.answer;
  if (opts_.kind == "passkey") {
    // One key per (seed, context length, depth): grids are reproducible point by point.
    uint64_t stream = static_cast<uint64_t>(context_len) * 1000003ull + static_cast<uint64_t>(std::llround(depth_percent * 1000.0));
    std::mt19937_64 rng(mix_seed(static_cast<uint64_t>(opts_.seed), stream));
    std::string key = make_passkey(opts_.passkey_kind, opts_.passkey_length, rng);
    needle = replace_key(needle, key);
    p.answer = replace_key(opts_.answer, key);
  }
  auto needle_ids = tok_.encode(needle, /*add_special_tokens=*/false);
  auto suffix_ids = tok_.encode(opts_.prompt_suffix, /*add_special_tokens=*/false);
  auto question_ids = tok_.encode(opts_.question, /*add_special_tokens=*/false);

  // Official: the haystack is cut to context_length - buffer - needle tokens. Also keep the whole
  // prompt within context_len (the official 200-token buffer always does; buffer 0 needs this).
  auto fixed = static_cast<int64_t>(prefix_.size() + needle_ids.size() + suffix_ids.size() + question_ids.size());
  int64_t h = std::min(context_len - opts_.buffer - static_cast<int64_t>(needle_ids.size()), context_len - fixed);
  h = std::min<int64_t>(h, static_cast<int64_t>(haystack_.size()));
  DUO_CHECK(h >= 1,
            "niah: context length {} is too short; the needle takes {} tokens and the buffer {}, expected room for "
            "some haystack", context_len, needle_ids.size(), opts_.buffer);
  int64_t point = h;
  if (depth_percent < 100.0) {
    point = static_cast<int64_t>(std::floor(static_cast<double>(h) * depth_percent / 100.0));
    while (point > 0 && !ends_sentence(haystack_[static_cast<size_t>(point - 1)])) --point;
  }
  p.haystack_tokens = h;
  p.actual_depth_percent = 100.0 * static_cast<double>(point) / static_cast<double>(h);
  p.ids = prefix_;
  p.ids.insert(p.ids.end(), haystack_.begin(), haystack_.begin() + point);
  p.needle_token_start = static_cast<int64_t>(p.ids.size());
  p.ids.insert(p.ids.end(), needle_ids.begin(), needle_ids.end());
  p.needle_token_end = static_cast<int64_t>(p.ids.size());
  p.ids.insert(p.ids.end(), haystack_.begin() + point, haystack_.begin() + h);
  p.ids.insert(p.ids.end(), suffix_ids.begin(), suffix_ids.end());
  p.ids.insert(p.ids.end(), question_ids.begin(), question_ids.end());
  return p;
}

NiahPrompt build_niah_prompt(const tokenizer::Tokenizer& tok, const NiahOptions& opts, int64_t context_len,
                             double depth_percent) {
  return NiahPromptBuilder(tok, opts, context_len).build(context_len, depth_percent);
}

}  // namespace duo::data_gen
