// The pretraining loss of one sequence: weighted next-token cross-entropy through the model's
// per-layer calls (which keep autograd on, so gradients reach the weights when they require it).
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

#include "model/model.h"
#include "pretrain/passkey_data.h"

namespace duo::pretrain {

struct SequenceLoss {
  at::Tensor weighted_sum;     // scalar: sum over targets of weight * cross-entropy (differentiable)
  double weight = 0.0;         // sum of the weights
  int64_t answer_correct = 0;  // answer tokens whose argmax is right (teacher forcing)
  int64_t answer_total = 0;
  bool recalled = false;       // every answer token right (= greedy recall, see recall_eval.h)
};

// Forward of s.ids [T] through embed, every layer (full attention), final norm and LM head;
// logits [T, V] float32; cross-entropy of targets ids[1:] weighted by s.weights [T - 1].
SequenceLoss sequence_loss(const model::Model& m, const WeightedSequence& s);

}  // namespace duo::pretrain
