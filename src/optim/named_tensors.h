// Parameters (and their optimizer state) as an ordered list of (name, tensor) pairs, the names
// those of the model's weights (Hugging Face keys) or of whatever the trainer optimises ("gates").
#pragma once

#include <ATen/core/Tensor.h>

#include <string>
#include <utility>
#include <vector>

namespace duo::optim {

using NamedTensors = std::vector<std::pair<std::string, at::Tensor>>;

}  // namespace duo::optim
