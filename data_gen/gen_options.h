// Options of `duo gen-data`: the multi-passkey training set (DESIGN.md section 1 and the official
// generator, mit-han-lab/duo-attention duo_attn/data.py). Defaults are the official recipe; the
// classic digit passkey is configs/data/classic.yaml. Fields are visited once for YAML, --set and
// help (see io/options.h).
#pragma once

#include <cstdint>
#include <string>

namespace duo::data_gen {

// The text pieces a sample is built from. "{ordinal}" becomes first, second, ...; "{passkey}"
// marks where the key goes (a template without it gets the key appended). See passkey.h.
struct PasskeyTemplates {
  std::string needle = "Remeber this sequence of words, it's the {ordinal} passkey to the vault: ";  // sic, official
  std::string question = "Based on the content of the book, what is the {ordinal} passkey to the vault?\nPasskey: ";
  std::string prompt_prefix = "<|im_start|> This is a very long story book: <book> ";  // encoded with BOS
  std::string prompt_suffix = " </book>.\n\n";
  std::string separator = "\n\n";  // around each needle and after each answer

  template <class V>
  void visit(V& v) {
    v("needle", needle, "needle text hidden in the haystack; {ordinal}, {passkey} (appended when absent)");
    v("question", question, "question asked after the text; {ordinal}, {passkey} (appended when absent)");
    v("prompt_prefix", prompt_prefix, "text before the haystack (tokenized with the tokenizer's BOS)");
    v("prompt_suffix", prompt_suffix, "text between the haystack and the questions");
    v("separator", separator, "text around each needle and after each answer");
  }
};

struct GenOptions {
  std::string haystack = "builtin";  // "builtin", a text file, a folder, or .jsonl / .jsonl.zst (field "text")
  int64_t num_samples = 2000;        // samples in the file (one per training step at batch 1)
  int64_t seed = 42;                 // std::mt19937_64 seed: same config + seed -> identical arrays
  int64_t num_passkeys = 10;         // needles per sample (at most 20 ordinals exist)
  int64_t passkey_length = 32;       // words or digits per passkey
  std::string passkey_kind = "words";  // "words" (NATO alphabet) or "digits"
  int64_t context_min = 1000;        // haystack tokens of the shortest context
  int64_t context_max = 32000;       // longest sample, in tokens, everything included
  int64_t context_intervals = 50;    // context lengths = linspace(context_min, context_max, n), truncated
  double min_depth = 0.05;           // needle depth ratios are drawn from
  double max_depth = 0.95;           //   linspace(min_depth, max_depth, depth_intervals)
  int64_t depth_intervals = 1000;    //   without replacement, then sorted
  int64_t buffer_size = 300;         // tokens the official code keeps free below context_max
  int64_t pad_to_multiple_of = 16;   // sample length multiple (official 16; pads with haystack tail tokens); <= 1: off
  bool label_separators = true;      // label the separator after each answer too (official: yes)
  PasskeyTemplates templates;

  // The classic digit passkey (Mohtashami & Jaggi, "Landmark Attention"): one 5-digit key,
  // "The pass key is 71432. Remember it. 71432 is the pass key." in the text, "What is the pass
  // key? The pass key is" at the end; small models learn it far sooner than the NATO format.
  static GenOptions classic() {
    GenOptions o;
    o.num_passkeys = 1;
    o.passkey_length = 5;
    o.passkey_kind = "digits";
    o.context_min = 256;
    o.context_max = 1024;
    o.context_intervals = 16;
    o.buffer_size = 32;
    o.templates.needle = "The pass key is {passkey}. Remember it. {passkey} is the pass key.";
    o.templates.question = "What is the pass key? The pass key is {passkey}";
    o.templates.prompt_prefix =
        "There is an important info hidden inside a lot of irrelevant text. Find it and memorize them. "
        "I will quiz you about the important information there.\n\n";
    o.templates.prompt_suffix = "\n\n";
    o.templates.separator = " ";
    return o;
  }

  template <class V>
  void visit(V& v) {
    v("haystack", haystack, "haystack: builtin, a text file, a folder of files, or .jsonl / .jsonl.zst with a 'text' field");
    v("num_samples", num_samples, "number of samples to generate");
    v("seed", seed, "random seed (same config and seed give byte-identical arrays)");
    v("num_passkeys", num_passkeys, "passkeys (needles) per sample, 1..20");
    v("passkey_length", passkey_length, "words (or digits) per passkey");
    v("passkey_kind", passkey_kind, "words (NATO alphabet) or digits");
    v("context_min", context_min, "haystack tokens of the shortest context");
    v("context_max", context_max, "tokens of the longest sample, everything included");
    v("context_intervals", context_intervals, "number of context lengths in linspace(context_min, context_max)");
    v("min_depth", min_depth, "smallest needle depth ratio");
    v("max_depth", max_depth, "largest needle depth ratio");
    v("depth_intervals", depth_intervals, "number of depth ratios in linspace(min_depth, max_depth)");
    v("buffer_size", buffer_size, "tokens kept free below context_max when trimming the haystack (official 300)");
    v("pad_to_multiple_of", pad_to_multiple_of, "pad each sample to a multiple of this with haystack tokens (<= 1: off)");
    v("label_separators", label_separators, "label the separator after each answer as well (official: true)");
    v.section("templates", templates, "prompt templates");
  }
};

}  // namespace duo::data_gen
