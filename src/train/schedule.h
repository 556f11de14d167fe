// The official DuoAttention learning-rate schedule (duo_attn/train.py, LambdaLR):
//   lr(s) = lr * min(1, max((s + 1) / (N // 5), 0.1), max((N - s) / (N // 5), 0.1))
// for step s = 0 .. N-1 of N, with N // 5 integer division (at least 1 here, so N < 5 works).
// A linear warm-up over the first fifth, flat, then a linear decay over the last fifth, never
// below a tenth of the peak.
#pragma once

#include <cstdint>

namespace duo::train {

double lr_multiplier(int64_t step, int64_t total_steps);
inline double lr_at(int64_t step, int64_t total_steps, double lr) { return lr * lr_multiplier(step, total_steps); }

}  // namespace duo::train
