// Passkey recall of a model: exact greedy recall of the classic 5-digit passkey over a grid of
// context lengths x needle depths, with full attention or any attention plan (masks).
//
// Greedy decoding of the key is checked in one teacher-forced forward: the prompt plus the key
// go through Model::logits once, and a sample counts as recalled iff the argmax at every answer
// position equals the next key token. That is exactly "greedy decoding reproduces the key": if
// all argmaxes match, greedy emits the key; at the first mismatch greedy emits something else.
// Held-out samples come from their own seed (data_gen's classic generator, one per cell).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "model/model.h"
#include "pretrain/passkey_data.h"

namespace duo::tokenizer {
class Tokenizer;
}

namespace duo::pretrain {

struct RecallOptions {
  std::vector<int64_t> lengths = {256, 512, 1024, 2048};        // tokens per sample (at most)
  std::vector<double> depths = {0.0, 0.25, 0.5, 0.75, 1.0};     // needle depth ratios
  int64_t samples = 8;                                           // samples per cell
  int64_t seed = 0x5EED;                                         // held-out data seed (not a training seed)
};

struct RecallCell {
  int64_t length = 0;
  double depth = 0.0;
  int64_t correct = 0;   // samples recalled exactly
  int64_t total = 0;
  int64_t digits_correct = 0;  // answer tokens right under teacher forcing
  int64_t digits_total = 0;
  double accuracy() const { return total > 0 ? static_cast<double>(correct) / static_cast<double>(total) : 0.0; }
};

struct RecallReport {
  std::vector<RecallCell> cells;  // lengths-major order
  double mean_accuracy() const;   // over all samples
  double min_accuracy() const;    // worst cell
  // Accuracy over every depth of one length.
  double length_accuracy(int64_t length) const;
  // "len 256: 100 100 ... | 512: ..." one line, percent per depth.
  std::string summary() const;
  // A table: one row per length, one column per depth, percent.
  std::string table() const;
};

// Whether greedy decoding after the prompt ids[0, answer.start) reproduces ids[answer]; also
// counts the answer tokens predicted right (under teacher forcing) into *digits_correct.
bool recall_one(const model::Model& m, const std::vector<int64_t>& ids, const Span& answer,
                const model::AttentionPlan& plan = {}, int64_t* digits_correct = nullptr);

RecallReport evaluate_recall(const model::Model& m, const tokenizer::Tokenizer& tok, const RecallOptions& o,
                             const model::AttentionPlan& plan = {});

// Loads dir (config.json, model.safetensors, tokenizer.json) and evaluates it with full attention.
RecallReport evaluate_recall(const std::filesystem::path& model_dir, const RecallOptions& o);

}  // namespace duo::pretrain
