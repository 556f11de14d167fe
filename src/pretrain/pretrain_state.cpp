// Save and restore of the pretraining state (see pretrain_state.h).
#include "pretrain/pretrain_state.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include "core/error.h"
#include "io/checkpoint.h"
#include "io/safetensors.h"

namespace duo::pretrain {
namespace {
constexpr const char* kFormat = "duo-pretrain-state-v1";
constexpr const char* kFirstMoment = "adam_m.";
constexpr const char* kSecondMoment = "adam_v.";
}  // namespace

void save_pretrain_state(const std::filesystem::path& path, const optim::AdamW& opt, const PretrainState& state) {
  const optim::AdamWState adam = opt.state();
  optim::NamedTensors tensors;
  for (const auto& [name, p] : opt.params()) tensors.emplace_back("param." + name, p.detach());
  for (const auto& [name, p] : opt.params()) tensors.emplace_back(kFirstMoment + name, adam.m.at(name));
  for (const auto& [name, p] : opt.params()) tensors.emplace_back(kSecondMoment + name, adam.v.at(name));
  std::filesystem::create_directories(path.parent_path());
  io::write_safetensors(path, tensors,
                        {{"format", kFormat},
                         {"step", std::to_string(state.step)},
                         {"adam_steps", std::to_string(adam.steps)},
                         {"options", state.options_yaml}});
}

PretrainState load_pretrain_state(const std::filesystem::path& path, optim::AdamW& opt) {
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
  PretrainState st;
  st.step = std::stoll(get("step"));
  st.options_yaml = get("options");
  // Reads tensor `key`, which must exist with the shape of `like`.
  auto tensor = [&](const std::string& key, const at::Tensor& like) {
    DUO_CHECK(ck.contains(key), "{}: tensor '{}' is missing", path.string(), key);
    return ck.tensor(key, like.sizes());
  };
  optim::AdamWState adam;
  adam.steps = std::stoll(get("adam_steps"));
  {
    c10::NoGradGuard no_grad;
    for (const auto& [name, p] : opt.params()) p.copy_(tensor("param." + name, p));
  }
  for (const auto& [name, p] : opt.params()) {
    adam.m[name] = tensor(kFirstMoment + name, p);
    adam.v[name] = tensor(kSecondMoment + name, p);
  }
  opt.set_state(adam);
  return st;
}

}  // namespace duo::pretrain
