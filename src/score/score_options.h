// Options of the training-free head scorers (`duo score`), a plain struct per concern, filled as
// every run command's options are (defaults < --config YAML < --set < flags; cli/run_options.h).
#pragma once

#include <cstdint>
#include <string>

#include "core/stream_window.h"
#include "eval/niah.h"

namespace duo::score {

// RazorAttention's probe (Tang et al. 2024, Sec. 3.3): random tokens repeated, echo and induction
// attention measured on the repeats, heads protected by the top shares of each score.
struct RazorOptions {
  int64_t length = 128;           // random tokens in one copy (the paper: 2500 on large models)
  int64_t copies = 4;             // copies of them in one sequence (the paper: 4)
  int64_t sequences = 2;          // independent random sequences averaged
  int64_t seed = 1;               // seed of the first sequence (sequence i uses seed + i)
  double echo_share = 0.01;       // the paper protects the top 1% of heads by echo score ...
  double induction_share = 0.14;  // ... and the top 14% by induction score

  template <class V>
  void visit(V& v) {
    v("length", length, "random tokens per copy (the paper uses 2500 on large models)");
    v("copies", copies, "copies of the random tokens in one sequence (>= 2; the paper: 4)");
    v("sequences", sequences, "independent random sequences averaged");
    v("seed", seed, "seed of the first random sequence");
    v("echo_share", echo_share, "share of heads protected by echo score (the paper: 0.01)");
    v("induction_share", induction_share, "share of heads protected by induction score (the paper: 0.14)");
  }
};

struct ScoreOptions {
  std::string method;                 // retrieval | razor | attention-mass
  int64_t block = 256;                // tile rows / columns of the blockwise statistics
  RazorOptions razor;                 // method razor
  eval::NiahEvalOptions prompts;      // methods retrieval and attention-mass: the NIAH / passkey prompts
  StreamWindow window = kDeployWindow;  // method attention-mass: the sink + recent window kept
};

// The method names, for messages and --help.
inline constexpr const char* kScoreMethods = "retrieval, razor or attention-mass";

// Throws (naming the key) unless the method is known and every setting it uses is in range:
// call it before loading the model.
void check_score_options(const ScoreOptions& opts);

}  // namespace duo::score
