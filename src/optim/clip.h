// Global-norm gradient clipping, as torch.nn.utils.clip_grad_norm_: one L2 norm over every
// gradient together, and one scale max_norm / (norm + 1e-6) applied to all when it is exceeded.
#pragma once

#include "optim/named_tensors.h"

namespace duo::optim {

// Scales the parameters' .grad() in place so that their global L2 norm is at most max_norm (when
// max_norm > 0); parameters without a gradient are skipped. Returns the norm before clipping.
double clip_grad_norm(const NamedTensors& params, double max_norm);

}  // namespace duo::optim
