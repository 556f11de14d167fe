// Save and restore of the pretraining state (see pretrain_state.h).
#include "pretrain/pretrain_state.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include <charconv>
#include <vector>

#include "core/error.h"
#include "core/printable.h"
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
  DUO_CHECK(get("format") == kFormat, "{}: metadata 'format' is '{}'; expected '{}'", path.string(),
            core::printable(get("format")), kFormat);
  // A non-negative integer from the metadata (std::stoll alone would accept "12abc" and say only "stoll").
  auto count = [&](const char* key) {
    const std::string text = get(key);
    int64_t v = -1;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    DUO_CHECK(ec == std::errc() && end == text.data() + text.size() && v >= 0,
              "{}: metadata '{}' must be a non-negative integer; got '{}'", path.string(), key, core::printable(text));
    return v;
  };
  PretrainState st;
  st.step = count("step");
  st.options_yaml = get("options");
  // Reads tensor `key`, which must exist with the shape of `like` and hold finite values: a
  // damaged checkpoint is refused here, not found steps later as a non-finite loss.
  auto tensor = [&](const std::string& key, const at::Tensor& like) {
    DUO_CHECK(ck.contains(key), "{}: tensor '{}' is missing", path.string(), key);
    at::Tensor t = ck.tensor(key, like.sizes());
    DUO_CHECK(at::isfinite(t).all().item<bool>(),
              "{}: tensor '{}' holds non-finite values; expected finite values (the checkpoint is damaged)",
              path.string(), key);
    return t;
  };
  optim::AdamWState adam;
  adam.steps = count("adam_steps");
  std::vector<at::Tensor> params;  // all read and checked before any parameter is overwritten
  for (const auto& [name, p] : opt.params()) params.push_back(tensor("param." + name, p));
  for (const auto& [name, p] : opt.params()) {
    adam.m[name] = tensor(kFirstMoment + name, p);
    adam.v[name] = tensor(kSecondMoment + name, p);
  }
  {
    c10::NoGradGuard no_grad;
    size_t i = 0;
    for (const auto& [name, p] : opt.params()) p.copy_(params[i++]);
  }
  opt.set_state(adam);
  return st;
}

}  // namespace duo::pretrain
