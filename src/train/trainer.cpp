// The gate-training loop and the run folder (see trainer.h).
#include "train/trainer.h"

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/file_checks.h"
#include "core/file_lock.h"
#include "core/log.h"
#include "core/progress.h"
#include "io/svg.h"
#include "mask/gate_table.h"
#include "mask/mask_dir.h"
#include "optim/adamw.h"
#include "optim/schedule.h"
#include "train/data_order.h"
#include "train/run_state.h"
#include "train/two_way.h"

namespace duo::train {
namespace fs = std::filesystem;
namespace {

std::string fingerprint(const TrainOptions& o, const SampleSource& samples) {
  return fmt::format("model={} data={} shuffle={} sink={} recent={} lr={} reg_weight={} steps={} initial_value={} "
                     "init_gates={} seed={} dtype={} recompute={}",
                     o.model, samples.describe(), o.shuffle, o.train_sink, o.train_recent, o.lr, o.reg_weight, o.steps,
                     o.initial_value, o.init_gates, o.seed, o.dtype, o.recompute);
}

mask::GateTable to_table(const at::Tensor& gates) {
  auto g = gates.to(at::kDouble).contiguous();
  mask::GateTable t;
  t.n_layers = g.size(0);
  t.n_kv_heads = g.size(1);
  t.values.assign(g.data_ptr<double>(), g.data_ptr<double>() + g.numel());
  return t;
}

std::string gates_svg(const at::Tensor& gates, const std::string& title) {
  auto g = gates.to(at::kDouble).clamp(0.0, 1.0).contiguous();
  io::Heatmap h;
  h.title = title;
  h.x_label = "KV head";
  h.y_label = "layer";
  for (int64_t c = 0; c < g.size(1); ++c) h.col_labels.push_back(std::to_string(c));
  for (int64_t r = 0; r < g.size(0); ++r) h.row_labels.push_back(std::to_string(r));
  h.values.assign(g.data_ptr<double>(), g.data_ptr<double>() + g.numel());
  return io::render_heatmap_svg(h);
}

void append_history(History& h, const StepResult& r, double lr, const at::Tensor& gates) {
  h.distill_loss.push_back(r.distill);
  h.reg_loss.push_back(r.reg);
  h.lr.push_back(lr);
  h.seq_len.push_back(r.seq_len);
  auto g = gates.to(at::kFloat).contiguous();
  h.gates.insert(h.gates.end(), g.data_ptr<float>(), g.data_ptr<float>() + g.numel());
}

bool finite(double x) { return std::isfinite(x); }

}  // namespace

std::string run_config_json(const TrainOptions& o, const model::Model& model, const SampleSource& samples) {
  nlohmann::json j;
  // The official run config's keys first (duo_attn/train.py writes vars(args)).
  j["model_name"] = o.model;
  j["dataset_name"] = samples.describe();
  j["lr"] = o.lr;
  j["num_steps"] = o.steps;
  j["batch_size"] = 1;
  j["sink_size"] = o.train_sink;  // the training window, official keys
  j["recent_size"] = o.train_recent;
  j["reg_weight"] = o.reg_weight;
  j["initial_value"] = o.initial_value;
  j["seed"] = o.seed;
  j["supervision"] = "distill";
  // Ours.
  j["tool"] = "duo";
  j["model_type"] = model.config().model_type;
  j["num_layers"] = model.config().n_layers;
  j["num_kv_heads"] = model.config().n_kv_heads;
  j["shuffle"] = o.shuffle;
  j["dtype"] = o.dtype;
  j["recompute"] = o.recompute;
  j["checkpoint_every"] = o.checkpoint_every;
  return j.dump(2) + "\n";
}

TrainResult run_training(const TrainOptions& o, const model::Model& model, const SampleSource& samples, bool resume,
                         const std::string& resolved_yaml, bool quiet) {
  const auto& cfg = model.config();
  const int64_t n_layers = cfg.n_layers, n_kv = cfg.n_kv_heads;
  DUO_CHECK(o.steps > 0, "train: key 'steps' must be > 0; got {}", o.steps);
  DUO_CHECK(o.lr > 0 && std::isfinite(o.lr), "train: key 'lr' must be a positive number; got {}", o.lr);
  const StreamWindow window = StreamWindow::make(o.train_sink, o.train_recent, "train: train_sink/train_recent");
  DUO_CHECK(o.checkpoint_every >= 0, "train: key 'checkpoint_every' must be >= 0; got {}", o.checkpoint_every);
  const fs::path out = o.output_dir;
  const fs::path state_file = out / "checkpoint" / "state.h5";
  const std::string fp = fingerprint(o, samples);
  core::check_output_folder(out, "train: output_dir");
  core::check_output_folder(out / "checkpoint");
  fs::create_directories(out);
  // Held until this function returns or the process dies: a second run on this folder is refused
  // before it reads or writes anything in it.
  const core::FileLock lock(core::run_lock_path(out), "duo train");

  GateRunState st;
  if (resume && fs::exists(state_file)) {
    st = load_run_state(state_file);
    DUO_CHECK(st.fingerprint == fp, "{}: the checkpoint was made with other settings; expected '{}', got '{}'",
              state_file.string(), fp, st.fingerprint);
    DUO_CHECK(st.gates.size(0) == n_layers && st.gates.size(1) == n_kv,
              "{}: gates have shape [{}, {}] but the model has [{}, {}]", state_file.string(), st.gates.size(0),
              st.gates.size(1), n_layers, n_kv);
    core::log_info("resuming {} from step {}/{}", out.string(), st.step, o.steps);
  } else {
    DUO_CHECK(!fs::exists(state_file),
              "{}: this run folder already holds a checkpoint; pass --resume to continue it or choose another "
              "output_dir", out.string());
    if (resume) core::log_warn("--resume: no checkpoint in {}; starting from step 0", out.string());
    if (o.init_gates.empty()) {
      st.gates = at::full({n_layers, n_kv}, o.initial_value, at::kFloat);
    } else {
      auto src = mask::load_gates(o.init_gates);
      mask::check_shape(src.gates, n_layers, n_kv, src.tsv_path.string());
      st.gates = at::tensor(src.gates.values, at::kDouble).reshape({n_layers, n_kv}).to(at::kFloat);
    }
    st.seed = o.seed;
    st.fingerprint = fp;
    st.history.n_layers = n_layers;
    st.history.n_kv_heads = n_kv;
  }
  fs::create_directories(out / "checkpoint");
  core::write_file_atomic(out / "config.yaml", resolved_yaml);
  core::write_file_atomic(out / "config.json", run_config_json(o, model, samples));

  optim::AdamW adam({{kGatesName, st.gates}}, optim::AdamWConfig{});  // DuoAttention: betas (0.9, 0.999), no decay
  if (!st.adam.m.empty()) adam.set_state(st.adam);
  DataOrder order(samples.size(), o.shuffle, static_cast<uint64_t>(o.seed));
  order.set_state(st.data_epoch, st.data_pos);
  TwoWayConfig tw;
  tw.window = window;
  tw.reg_weight = o.reg_weight;
  tw.recompute = o.recompute;

  int64_t last_saved = resume && fs::exists(state_file) ? st.step : -1;
  auto save = [&]() {
    last_saved = st.step;
    st.adam = adam.state();
    st.data_epoch = order.epoch();
    st.data_pos = order.position();
    save_run_state(state_file, st);
    mask::write_gate_tsv(out / "checkpoint" / "full_attention_heads.tsv", to_table(st.gates));
  };

  core::Progress progress("train", o.steps, quiet);
  TrainResult result;
  while (st.step < o.steps) {
    const int64_t s = st.step;
    {
      at::NoGradGuard no_grad;
      st.gates.clamp_(0.0, 1.0);  // as official: clamp before every step
    }
    const auto t0 = std::chrono::steady_clock::now();
    TrainSample sample = samples.get(order.next());
    StepResult r = two_way_step(model, sample.ids, sample.label_mask, st.gates, tw);
    const bool grad_ok = at::isfinite(r.grad).all().item<bool>();
    if (!finite(r.loss) || !finite(r.distill) || !finite(r.reg) || !grad_ok) {
      fail("step {}: the loss is not finite (distill {}, reg {}{}); training stopped. {}", s + 1, r.distill, r.reg,
           grad_ok ? "" : ", gradient not finite",
           last_saved >= 0
               ? fmt::format("The last good checkpoint (step {}) is kept in {}", last_saved, state_file.string())
               : std::string("No checkpoint had been written yet."));
    }
    const double lr = optim::duo_attention_lr(s, o.steps, o.lr);
    adam.step(lr, {r.grad.to(at::kFloat)});
    append_history(st.history, r, lr, st.gates);
    st.step += 1;
    result.last_distill = r.distill;
    result.last_reg = r.reg;
    const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    progress.update(st.step, fmt::format("seq {} | distill {:.4g} | reg {:.4f} | lr {:.3g} | {:.0f} tok/s",
                                         r.seq_len, r.distill, r.reg, lr, dt > 0 ? r.seq_len / dt : 0.0));
    if (o.checkpoint_every > 0 && st.step % o.checkpoint_every == 0 && st.step < o.steps) save();
  }
  save();
  progress.finish(fmt::format("distill {:.4g} | reg {:.4f}", result.last_distill, result.last_reg));
  mask::write_gate_tsv(out / "full_attention_heads.tsv", to_table(st.gates));
  save_history(out / "history.h5", st.history);
  core::write_file_atomic(out / "gates.svg", gates_svg(st.gates, fmt::format("gates after {} steps ({})", st.step,
                                                                           cfg.model_type)));
  result.output_dir = out;
  result.steps = st.step;
  result.gates = st.gates.clone();
  return result;
}

}  // namespace duo::train
