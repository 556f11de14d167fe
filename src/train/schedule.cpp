// Official warm-up / flat / decay schedule (see schedule.h).
#include "train/schedule.h"

#include <algorithm>

namespace duo::train {

double lr_multiplier(int64_t step, int64_t total_steps) {
  const double fifth = static_cast<double>(std::max<int64_t>(total_steps / 5, 1));
  const double up = std::max(static_cast<double>(step + 1) / fifth, 0.1);
  const double down = std::max(static_cast<double>(total_steps - step) / fifth, 0.1);
  return std::min({1.0, up, down});
}

}  // namespace duo::train
