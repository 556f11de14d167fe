// Needle-in-a-haystack prompts for evaluation (the official test, mit-han-lab/duo-attention
// eval/needle/needle_in_haystack.py, adapted from gkamradt/LLMTest_NeedleInAHaystack).
//
// Prompt, in tokens:
//   [BOS] prompt_prefix  hay[0:p]  needle  hay[p:h]  prompt_suffix question
// with h = context_length - buffer - needle tokens (the official final_context_length_buffer,
// 200; h is further capped so that the whole prompt fits in context_length), the haystack the essays in haystack_dir (text files in name order, concatenated and
// repeated until long enough), p = floor(h * depth_percent / 100) moved back to just after the
// last token ending a sentence ("."), as the original gkamradt test does; depth 100 puts the
// needle at the very end. Unlike the official script, which decodes the spliced tokens to text
// and re-encodes the whole prompt, the token arrays are spliced directly, so the needle's position
// is exact.
//
// The passkey variant (kind "passkey") hides "The pass key is {passkey}. Remember it. {passkey}
// is the pass key." and asks "What is the pass key? The pass key is" for small models that cannot
// answer in English; the key (digits or NATO words) is drawn from (seed, context length, depth).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tokenizer/tokenizer.h"

namespace duo::data_gen {

struct NiahOptions {
  std::string haystack_dir;  // folder of .txt essays (shared/reference/needle-haystack), or any haystack spec
  std::string kind = "needle";  // "needle" (official San Francisco needle) or "passkey"
  std::string needle =
      "\n\nRemember, the best thing to do in San Francisco is eat a sandwich and sit in Dolores Park on a sunny day.\n\n";
  std::string prompt_prefix = "<|im_start|> This is a very long story book: <book> ";  // encoded with BOS
  std::string prompt_suffix = " </book>.\n\nQuestion: Based on the content of the book, ";
  std::string question =
      "what is the best thing to do in San Francisco?\n\nAnswer: The best thing to do in San Francisco is";
  std::string answer = "eat a sandwich and sit in Dolores Park on a sunny day.";  // expected continuation
  int64_t buffer = 200;  // tokens the official test leaves free for the question and answer
  // Passkey variant: the key replaces every "{passkey}" in needle, question and answer.
  std::string passkey_kind = "digits";  // "digits" or "words"
  int64_t passkey_length = 5;
  int64_t seed = 42;

  // The passkey variant's defaults (classic passkey wording, haystack_dir left empty).
  static NiahOptions passkey_variant();

  template <class V>
  void visit(V& v) {
    v("haystack_dir", haystack_dir, "folder of haystack essays (or any haystack spec)");
    v("kind", kind, "needle (official San Francisco needle) or passkey");
    v("needle", needle, "text hidden in the haystack; {passkey} for the passkey variant");
    v("prompt_prefix", prompt_prefix, "text before the haystack (tokenized with BOS)");
    v("prompt_suffix", prompt_suffix, "text after the haystack, before the question");
    v("question", question, "question at the end of the prompt");
    v("answer", answer, "expected answer; {passkey} for the passkey variant");
    v("buffer", buffer, "tokens left free below the context length (official 200)");
    v("passkey_kind", passkey_kind, "digits or words (passkey variant)");
    v("passkey_length", passkey_length, "digits or words per passkey (passkey variant)");
    v("seed", seed, "seed for the passkey variant's keys");
  }
};

struct NiahPrompt {
  std::vector<int32_t> ids;        // [T] the whole prompt, BOS first when the tokenizer adds one
  std::string answer;              // the expected answer (needle kind: its continuation; passkey: the key)
  int64_t needle_token_start = 0;  // index in ids of the needle's first token
  int64_t needle_token_end = 0;    // one past its last token
  int64_t haystack_tokens = 0;     // h: haystack tokens in the prompt
  double depth_percent = 0.0;      // as requested
  double actual_depth_percent = 0.0;  // 100 * (insertion point) / h after the sentence-end move
};

// Tokenizes the haystack once (up to `max_context_len` tokens), then builds prompts for any
// context length <= max_context_len and depth.
class NiahPromptBuilder {
 public:
  NiahPromptBuilder(const tokenizer::Tokenizer& tok, NiahOptions opts, int64_t max_context_len);
  // Throws duo::Error when context_len is above max_context_len or too short for the needle and
  // prompt, or depth_percent is outside [0, 100].
  NiahPrompt build(int64_t context_len, double depth_percent) const;
  const NiahOptions& options() const { return opts_; }

 private:
  bool ends_sentence(int32_t token) const;
  tokenizer::Tokenizer tok_;  // shares the loaded tokenizer (cheap copy)
  NiahOptions opts_;
  int64_t max_context_len_;
  std::vector<int32_t> haystack_;
  std::vector<int32_t> prefix_;
};

// One prompt (tokenizes the haystack on every call: use NiahPromptBuilder for grids).
NiahPrompt build_niah_prompt(const tokenizer::Tokenizer& tok, const NiahOptions& opts, int64_t context_len,
                             double depth_percent);

}  // namespace duo::data_gen
