// The DuoAttention and cosine learning-rate schedules (see schedule.h).
#include "optim/schedule.h"

#include <algorithm>
#include <cmath>

namespace duo::optim {

double duo_attention_lr_multiplier(int64_t step, int64_t total_steps) {
  const double fifth = static_cast<double>(std::max<int64_t>(total_steps / 5, 1));
  const double up = std::max(static_cast<double>(step + 1) / fifth, 0.1);
  const double down = std::max(static_cast<double>(total_steps - step) / fifth, 0.1);
  return std::min({1.0, up, down});
}

double cosine_lr(int64_t step, int64_t total_steps, int64_t warmup, double lr, double min_ratio) {
  if (warmup > 0 && step < warmup) return lr * static_cast<double>(step + 1) / static_cast<double>(warmup);
  const double span = static_cast<double>(std::max<int64_t>(1, total_steps - 1 - warmup));
  const double progress = std::min(1.0, static_cast<double>(step - warmup) / span);
  const double cosine = 0.5 * (1.0 + std::cos(M_PI * progress));
  return lr * (min_ratio + (1.0 - min_ratio) * cosine);
}

}  // namespace duo::optim
