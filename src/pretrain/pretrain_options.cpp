// Validation of the pretraining options (see pretrain_options.h).
#include "pretrain/pretrain_options.h"

#include "core/error.h"

namespace duo::pretrain {

void validate_options(const PretrainOptions& o) {
  const auto& c = o.curriculum;
  const size_t n = c.stage_end.size();
  DUO_CHECK(n >= 1, "curriculum.stage_end: expected at least one stage, got none");
  DUO_CHECK(c.stage_context_min.size() == n && c.stage_context_max.size() == n && c.stage_batch.size() == n &&
                c.stage_passkey_length.size() == n,
            "curriculum: stage_end, stage_context_min, stage_context_max, stage_batch and stage_passkey_length must "
            "have the same length; got {}, {}, {}, {}, {}",
            n, c.stage_context_min.size(), c.stage_context_max.size(), c.stage_batch.size(),
            c.stage_passkey_length.size());
  DUO_CHECK(c.stage_needle_copies.empty() || c.stage_needle_copies.size() == n,
            "curriculum.stage_needle_copies: expected none or one value per stage ({}), got {}", n,
            c.stage_needle_copies.size());
  for (auto k : c.stage_needle_copies) {
    DUO_CHECK(k >= 0 && k <= 16, "curriculum.stage_needle_copies: expected 0..16, got {}", k);
  }
  int64_t prev = 0;
  for (size_t i = 0; i < n; ++i) {
    DUO_CHECK(c.stage_end[i] > prev, "curriculum.stage_end: expected ascending step counts > 0; got {} after {}",
              c.stage_end[i], prev);
    prev = c.stage_end[i];
    DUO_CHECK(c.stage_context_min[i] >= 64 && c.stage_context_max[i] >= c.stage_context_min[i],
              "curriculum: stage {} lengths must satisfy 64 <= min <= max; got min {}, max {}", i,
              c.stage_context_min[i], c.stage_context_max[i]);
    DUO_CHECK(c.stage_passkey_length[i] >= 1 && c.stage_passkey_length[i] <= 64,
              "curriculum.stage_passkey_length: expected 1..64 digits for stage {}, got {}", i,
              c.stage_passkey_length[i]);
    DUO_CHECK(c.stage_batch[i] >= 1, "curriculum.stage_batch: expected >= 1 for stage {}, got {}", i, c.stage_batch[i]);
  }
  DUO_CHECK(c.min_depth >= 0.0 && c.max_depth <= 1.0 && c.min_depth <= c.max_depth,
            "curriculum: expected 0 <= min_depth <= max_depth <= 1; got {} and {}", c.min_depth, c.max_depth);
  DUO_CHECK(o.lr > 0 && o.min_lr_ratio >= 0 && o.min_lr_ratio <= 1,
            "lr must be > 0 and min_lr_ratio in [0, 1]; got lr {}, min_lr_ratio {}", o.lr, o.min_lr_ratio);
  DUO_CHECK(o.warmup_steps >= 0, "warmup_steps: expected >= 0, got {}", o.warmup_steps);
  DUO_CHECK(o.schedule_steps >= 0, "schedule_steps: expected >= 0 (0 = total steps), got {}", o.schedule_steps);
  DUO_CHECK(o.beta1 >= 0 && o.beta1 < 1 && o.beta2 >= 0 && o.beta2 < 1 && o.eps > 0,
            "AdamW: expected 0 <= beta1, beta2 < 1 and eps > 0; got {}, {}, {}", o.beta1, o.beta2, o.eps);
  DUO_CHECK(o.answer_weight >= 0 && o.lm_weight >= 0 && o.answer_weight + o.lm_weight > 0,
            "answer_weight and lm_weight must be >= 0 and not both 0; got {} and {}", o.answer_weight, o.lm_weight);
  DUO_CHECK(o.checkpoint_every >= 1, "checkpoint_every: expected >= 1, got {}", o.checkpoint_every);
  DUO_CHECK(o.log_every >= 1, "log_every: expected >= 1, got {}", o.log_every);
  DUO_CHECK(o.eval_samples >= 1, "eval_samples: expected >= 1, got {}", o.eval_samples);
  for (auto len : o.eval_lengths) DUO_CHECK(len >= 64, "eval_lengths: expected lengths >= 64, got {}", len);
  for (auto d : o.eval_depths) DUO_CHECK(d >= 0 && d <= 1, "eval_depths: expected ratios in [0, 1], got {}", d);
  const auto& m = o.model;
  DUO_CHECK(m.n_layers >= 1 && m.hidden_size >= 1 && m.n_heads >= 1 && m.n_kv_heads >= 1 && m.intermediate_size >= 1,
            "model: sizes must be >= 1; got layers {}, hidden {}, heads {}, kv heads {}, intermediate {}", m.n_layers,
            m.hidden_size, m.n_heads, m.n_kv_heads, m.intermediate_size);
  DUO_CHECK(m.hidden_size % m.n_heads == 0 && m.n_heads % m.n_kv_heads == 0,
            "model: expected hidden_size % n_heads == 0 and n_heads % n_kv_heads == 0; got {}, {}, {}", m.hidden_size,
            m.n_heads, m.n_kv_heads);
}

}  // namespace duo::pretrain
