// Save and restore of the pretraining checkpoint (see train_state.h).
#include "pretrain/train_state.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include "core/error.h"
#include "io/checkpoint.h"
#include "io/safetensors.h"

namespace duo::pretrain {
namespace {
constexpr const char* kFormat = "duo-pretrain-state-v1";
}

void save_train_state(const std::filesystem::path& path, const AdamW& opt, const TrainState& state) {
  NamedTensors tensors;
  for (const auto& [name, p] : opt.params()) tensors.emplace_back("param." + name, p.detach());
  for (auto& item : opt.state()) tensors.push_back(std::move(item));
  std::filesystem::create_directories(path.parent_path());
  io::write_safetensors(path, tensors,
                        {{"format", kFormat},
                         {"step", std::to_string(state.step)},
                         {"adam_steps", std::to_string(opt.steps())},
                         {"options", state.options_yaml}});
}

TrainState load_train_state(const std::filesystem::path& path, AdamW& opt) {
  auto ck = io::Checkpoint::open(path);
  DUO_CHECK(ck.files().size() == 1, "{}: expected one safetensors file, got {}", path.string(), ck.files().size());
  const auto& meta = ck.files()[0]->metadata();
  auto get = [&](const char* key) {
    auto it = meta.find(key);
    DUO_CHECK(it != meta.end(), "{}: metadata key '{}' is missing; expected a duo pretrain checkpoint", path.string(),
              key);
    return it->second;
  };
  DUO_CHECK(get("format") == kFormat, "{}: metadata 'format' is '{}'; expected '{}'", path.string(), get("format"),
            kFormat);
  TrainState st;
  st.step = std::stoll(get("step"));
  st.options_yaml = get("options");
  const int64_t adam_steps = std::stoll(get("adam_steps"));
  {
    c10::NoGradGuard no_grad;
    for (const auto& [name, p] : opt.params()) {
      const std::string key = "param." + name;
      DUO_CHECK(ck.contains(key), "{}: tensor '{}' is missing", path.string(), key);
      p.copy_(ck.tensor(key, p.sizes()));
    }
  }
  NamedTensors moments;
  for (const auto& [name, p] : opt.params()) {
    for (const char* prefix : {"adam_m.", "adam_v."}) {
      const std::string key = prefix + name;
      DUO_CHECK(ck.contains(key), "{}: tensor '{}' is missing", path.string(), key);
      moments.emplace_back(key, ck.tensor(key, p.sizes()));
    }
  }
  opt.load_state(moments, adam_steps);
  return st;
}

}  // namespace duo::pretrain
