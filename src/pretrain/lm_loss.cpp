// Weighted next-token cross-entropy of one sequence (see lm_loss.h).
#include "pretrain/lm_loss.h"

#include <ATen/ATen.h>

#include "core/error.h"

namespace duo::pretrain {

SequenceLoss sequence_loss(const model::Model& m, const WeightedSequence& s) {
  const auto t = static_cast<int64_t>(s.ids.size());
  DUO_CHECK(t >= 2 && static_cast<int64_t>(s.weights.size()) == t - 1,
            "pretrain loss: expected T >= 2 ids and T - 1 weights; got {} ids and {} weights", t, s.weights.size());
  auto ids = at::tensor(s.ids, at::kLong);                                               // [T]
  auto x = m.embed(ids);                                                                  // [T, hidden]
  const attention::LayerSpec full;
  for (int64_t l = 0; l < m.config().n_layers; ++l) x = m.layer_forward(l, x, full);
  auto logits = m.lm_head(m.final_norm(x)).slice(0, 0, t - 1);                            // [T-1, V]
  auto targets = ids.slice(0, 1, t);                                                      // [T-1]
  auto w = at::tensor(s.weights, at::kFloat);                                             // [T-1]
  auto ce = at::cross_entropy_loss(logits, targets, /*weight=*/{}, at::Reduction::None);  // [T-1]
  SequenceLoss out;
  out.weighted_sum = (ce * w).sum();
  out.weight = w.sum().item<double>();
  if (s.answer.length > 0) {
    auto pred = logits.detach().slice(0, s.answer.start - 1, s.answer.end() - 1).argmax(-1);  // [len]
    auto hits = pred.eq(targets.slice(0, s.answer.start - 1, s.answer.end() - 1));
    out.answer_correct = hits.sum().item<int64_t>();
    out.answer_total = s.answer.length;
    out.recalled = out.answer_correct == out.answer_total;
  }
  return out;
}

}  // namespace duo::pretrain
