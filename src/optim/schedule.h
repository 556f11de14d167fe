// Learning-rate schedules, as functions of the 0-based step.
//
// The official DuoAttention schedule (duo_attn/train.py, LambdaLR), used by `duo train`:
//   lr(s) = lr * min(1, max((s + 1) / (N // 5), 0.1), max((N - s) / (N // 5), 0.1))
// for step s = 0 .. N-1 of N, with N // 5 integer division (at least 1 here, so N < 5 works):
// a linear warm-up over the first fifth, flat, then a linear decay over the last fifth, never
// below a tenth of the peak.
//
// The cosine schedule with linear warm-up, used by `duo pretrain`:
//   lr(s) = lr * (s + 1) / warmup                                      for s < warmup
//   lr(s) = lr * (r + (1 - r) * (1 + cos(pi * min(1, (s - warmup) / max(1, N - 1 - warmup)))) / 2)
// so the peak is reached at step warmup - 1 and the floor lr * r at step N - 1 and after.
#pragma once

#include <cstdint>

namespace duo::optim {

// The DuoAttention multiplier of the peak learning rate at `step` of `total_steps`.
double duo_attention_lr_multiplier(int64_t step, int64_t total_steps);
inline double duo_attention_lr(int64_t step, int64_t total_steps, double lr) {
  return lr * duo_attention_lr_multiplier(step, total_steps);
}

// The cosine learning rate at `step` of `total_steps`: warm-up over `warmup` steps to `lr`, then
// cosine decay to lr * min_ratio.
double cosine_lr(int64_t step, int64_t total_steps, int64_t warmup, double lr, double min_ratio);

}  // namespace duo::optim
