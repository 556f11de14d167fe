// `duo pretrain`: trains the built-in Llama model from scratch on classic passkey samples
// (issue 8 items 1-2). Per step: the batch of its curriculum stage, weighted next-token loss
// averaged over the batch's weights, global-norm clipping, AdamW with a cosine schedule.
//
// Output folder:
//   config.yaml            the resolved options
//   checkpoint.safetensors training state (weights, AdamW moments, step; see pretrain_state.h)
//   model/                 the Hugging Face folder (hf_export.h), refreshed at every checkpoint
//   eval.tsv               recall per evaluation: step, length, depth, correct, total
//   recall.txt             the last evaluation as a table
// A run continues from checkpoint.safetensors with resume; the result is bitwise the weights an
// uninterrupted run gives (same thread count).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>

#include "pretrain/pretrain_options.h"
#include "pretrain/recall_eval.h"

namespace duo::pretrain {

struct RunControl {
  bool resume = false;     // continue from out/checkpoint.safetensors (an existing one is an error otherwise)
  bool quiet = false;      // no progress lines
  int64_t stop_after = 0;  // return after this many steps of this invocation (0 = run to the end)
  bool final_eval = true;  // evaluate recall when the last step is done
};

struct PretrainResult {
  int64_t step = 0;           // steps completed in total
  bool finished = false;      // step == total steps
  double seconds = 0.0;       // wall time of this invocation
  double first_loss = 0.0;    // mean loss of the first step of this invocation
  double last_loss = 0.0;     // mean loss of the last step of this invocation
  std::optional<RecallReport> last_eval;
};

PretrainResult run_pretrain(const PretrainOptions& o, const std::filesystem::path& out_dir, const RunControl& rc);

}  // namespace duo::pretrain
