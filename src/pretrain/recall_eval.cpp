// Passkey recall over lengths x depths (see recall_eval.h).
#include "pretrain/recall_eval.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <fmt/format.h>

#include <algorithm>

#include "core/error.h"
#include "data_gen/passkey_samples.h"
#include "tokenizer/tokenizer.h"

namespace duo::pretrain {

double RecallReport::mean_accuracy() const {
  int64_t c = 0, t = 0;
  for (const auto& cell : cells) c += cell.correct, t += cell.total;
  return t > 0 ? static_cast<double>(c) / static_cast<double>(t) : 0.0;
}

double RecallReport::min_accuracy() const {
  double m = cells.empty() ? 0.0 : 1.0;
  for (const auto& cell : cells) m = std::min(m, cell.accuracy());
  return m;
}

double RecallReport::length_accuracy(int64_t length) const {
  int64_t c = 0, t = 0;
  for (const auto& cell : cells) {
    if (cell.length == length) c += cell.correct, t += cell.total;
  }
  return t > 0 ? static_cast<double>(c) / static_cast<double>(t) : 0.0;
}

std::string RecallReport::summary() const {
  std::string out;
  int64_t len = -1;
  for (const auto& cell : cells) {
    if (cell.length != len) {
      if (len >= 0) out += " |";
      len = cell.length;
      out += fmt::format(" {}:", len);
    }
    out += fmt::format(" {:.0f}", 100.0 * cell.accuracy());
  }
  return fmt::format("recall {:.1f}% (min cell {:.0f}%) by length/depth:{}", 100.0 * mean_accuracy(),
                     100.0 * min_accuracy(), out);
}

std::string RecallReport::table() const {
  std::vector<double> depths;
  std::vector<int64_t> lengths;
  for (const auto& c : cells) {
    if (std::find(depths.begin(), depths.end(), c.depth) == depths.end()) depths.push_back(c.depth);
    if (std::find(lengths.begin(), lengths.end(), c.length) == lengths.end()) lengths.push_back(c.length);
  }
  std::string out = fmt::format("{:>8}", "length");
  for (double d : depths) out += fmt::format(" {:>7}", fmt::format("d={:.2f}", d));
  out += fmt::format(" {:>7}\n", "all");
  for (int64_t len : lengths) {
    out += fmt::format("{:>8}", len);
    for (double d : depths) {
      for (const auto& c : cells) {
        if (c.length == len && c.depth == d) out += fmt::format(" {:>6.1f}%", 100.0 * c.accuracy());
      }
    }
    out += fmt::format(" {:>6.1f}%\n", 100.0 * length_accuracy(len));
  }
  return out;
}

bool recall_one(const model::Model& m, const std::vector<int64_t>& ids, const Span& answer,
                const model::AttentionPlan& plan, int64_t* digits_correct) {
  DUO_CHECK(answer.start >= 1 && answer.length >= 1 && answer.end() <= static_cast<int64_t>(ids.size()),
            "recall: answer span [{}, {}) must lie inside the {} tokens after at least one prompt token",
            answer.start, answer.end(), ids.size());
  c10::NoGradGuard no_grad;
  // The last answer token is never an input: feed ids[0, end - 1).
  auto input = at::tensor(std::vector<int64_t>(ids.begin(), ids.begin() + answer.end() - 1), at::kLong);  // [T]
  auto logits = m.logits(input, plan);                                                // [T, V]
  auto pred = logits.slice(0, answer.start - 1, answer.end() - 1).argmax(-1);        // [len]
  auto want = at::tensor(std::vector<int64_t>(ids.begin() + answer.start, ids.begin() + answer.end()), at::kLong);
  auto hits = pred.eq(want);
  if (digits_correct) *digits_correct += hits.sum().item<int64_t>();
  return hits.all().item<bool>();
}

RecallReport evaluate_recall(const model::Model& m, const tokenizer::Tokenizer& tok, const RecallOptions& o,
                             const model::AttentionPlan& plan) {
  DUO_CHECK(o.samples >= 1, "recall: samples per cell must be >= 1; got {}", o.samples);
  RecallReport report;
  int64_t cell_index = 0;
  for (int64_t len : o.lengths) {
    for (double depth : o.depths) {
      const int64_t seed = o.seed + 7919 * cell_index++;
      const data_gen::PasskeySampleGenerator gen(tok, classic_cell_options(tok, len, depth, o.samples, seed));
      RecallCell cell;
      cell.length = len;
      cell.depth = depth;
      for (int64_t i = 0; i < o.samples; ++i) {
        const auto s = gen.sample(i);
        const Span answer = answer_span(tok, s);
        std::vector<int64_t> ids(s.input_ids.begin(), s.input_ids.end());
        cell.correct += recall_one(m, ids, answer, plan, &cell.digits_correct) ? 1 : 0;
        cell.total += 1;
        cell.digits_total += answer.length;
      }
      report.cells.push_back(cell);
    }
  }
  return report;
}

RecallReport evaluate_recall(const std::filesystem::path& model_dir, const RecallOptions& o) {
  const auto m = model::Model::load(model_dir);
  const auto tok = tokenizer::Tokenizer::load(model_dir);
  return evaluate_recall(m, tok, o);
}

}  // namespace duo::pretrain
