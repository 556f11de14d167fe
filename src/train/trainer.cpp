// The gate-training loop and the run folder (see trainer.h).
#include "train/trainer.h"

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <numeric>
#include <cmath>
#include <cstdlib>
#include <memory>
#include <vector>

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
#include "train/batch.h"
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
                     o.initial_value, o.init_gates, o.seed, o.dtype, o.recompute) +
         // Only where it differs from 1, so the checkpoints of runs before batch_size still resume.
         (o.batch_size != 1 ? fmt::format(" batch_size={}", o.batch_size) : std::string());
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

// Test seam: with DUO_FAULT_BAD_SAMPLE=i in a process's environment, drawing sample i fails there
// as a corrupt sample would (tests/dist: one rank fails, the others must stop).
void fault_bad_sample(int64_t index) {
  static const char* v = std::getenv("DUO_FAULT_BAD_SAMPLE");
  if (v != nullptr && std::to_string(index) == v)
    fail("sample {}: rejected (DUO_FAULT_BAD_SAMPLE test seam); expected a valid sample", index);
}

}  // namespace

std::string run_config_json(const TrainOptions& o, const model::Model& model, const SampleSource& samples) {
  nlohmann::json j;
  // The official run config's keys first (duo_attn/train.py writes vars(args)).
  j["model_name"] = o.model;
  j["dataset_name"] = samples.describe();
  j["lr"] = o.lr;
  j["num_steps"] = o.steps;
  j["batch_size"] = o.batch_size;
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

namespace {

// The setup rank 0 does alone: check and lock the run folder, load or create the state, write the
// resolved configs. Other ranks receive the state by broadcast (share_state), so no file is read
// or written anywhere but on rank 0 (and several machines need no shared filesystem).
GateRunState root_setup(const TrainOptions& o, const model::Model& model, const SampleSource& samples, bool resume,
                        const std::string& resolved_yaml, std::unique_ptr<core::FileLock>& lock, bool& resumed) {
  const auto& cfg = model.config();
  const int64_t n_layers = cfg.n_layers, n_kv = cfg.n_kv_heads;
  const fs::path out = o.output_dir;
  const fs::path state_file = out / "checkpoint" / "state.h5";
  const std::string fp = fingerprint(o, samples);
  core::check_output_folder(out, "train: output_dir");
  core::check_output_folder(out / "checkpoint");
  fs::create_directories(out);
  // Held until run_training returns or the process dies: a second run on this folder is refused
  // before it reads or writes anything in it.
  lock = std::make_unique<core::FileLock>(core::run_lock_path(out), "duo train");

  GateRunState st;
  resumed = resume && fs::exists(state_file);
  if (resumed) {
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
  return st;
}

// Rank 0's state to every rank: the counters, the gates and (resumed) the AdamW moments.
// Non-root ranks keep no history (only rank 0 writes it). Returns whether rank 0 resumed.
bool share_state(const dist::Group& group, GateRunState& st, bool resumed, int64_t n_layers, int64_t n_kv) {
  if (group.size() == 1) return resumed;
  const bool root = group.is_root();
  const bool has_adam = root && !st.adam.m.empty();
  auto counters = at::tensor(std::vector<int64_t>{root ? st.step : 0, root ? st.adam.steps : 0,
                                                  root ? static_cast<int64_t>(st.data_epoch) : 0,
                                                  root ? static_cast<int64_t>(st.data_pos) : 0, has_adam ? 1 : 0,
                                                  resumed ? 1 : 0},
                             at::kLong);
  group.broadcast(counters, "sharing the training state");
  auto c = counters.accessor<int64_t, 1>();
  if (!root) {
    st.step = c[0];
    st.adam.steps = c[1];
    st.data_epoch = static_cast<uint64_t>(c[2]);
    st.data_pos = static_cast<uint64_t>(c[3]);
    st.gates = at::zeros({n_layers, n_kv}, at::kFloat);
  }
  group.broadcast(st.gates, "sharing the gates");
  if (c[4] != 0) {
    if (!root) {
      st.adam.m[kGatesName] = at::zeros({n_layers, n_kv}, at::kFloat);
      st.adam.v[kGatesName] = at::zeros({n_layers, n_kv}, at::kFloat);
    }
    st.adam.m[kGatesName] = st.adam.m[kGatesName].contiguous();
    st.adam.v[kGatesName] = st.adam.v[kGatesName].contiguous();
    group.broadcast(st.adam.m[kGatesName], "sharing the optimizer state");
    group.broadcast(st.adam.v[kGatesName], "sharing the optimizer state");
  }
  return c[5] != 0;
}

}  // namespace

TrainResult run_training(const TrainOptions& o, const model::Model& model, const SampleSource& samples, bool resume,
                         const std::string& resolved_yaml, bool quiet) {
  return run_training(o, model, samples, resume, resolved_yaml, quiet, dist::Group());
}

TrainResult run_training(const TrainOptions& o, const model::Model& model, const SampleSource& samples, bool resume,
                         const std::string& resolved_yaml, bool quiet, const dist::Group& group) {
  const auto& cfg = model.config();
  const int64_t n_layers = cfg.n_layers, n_kv = cfg.n_kv_heads;
  DUO_CHECK(o.steps > 0, "train: key 'steps' must be > 0; got {}", o.steps);
  DUO_CHECK(o.lr > 0 && std::isfinite(o.lr), "train: key 'lr' must be a positive number; got {}", o.lr);
  DUO_CHECK(o.batch_size >= 1 && o.batch_size <= kMaxBatchSize, "train: key 'batch_size' must be in 1..{}; got {}",
            kMaxBatchSize, o.batch_size);
  const StreamWindow window = StreamWindow::make(o.train_sink, o.train_recent, "train: train_sink/train_recent");
  DUO_CHECK(o.checkpoint_every >= 0, "train: key 'checkpoint_every' must be >= 0; got {}", o.checkpoint_every);
  const fs::path out = o.output_dir;
  const fs::path state_file = out / "checkpoint" / "state.h5";
  const bool root = group.is_root();
  if (!root) quiet = true;

  std::unique_ptr<core::FileLock> lock;  // rank 0's lock on the run folder
  GateRunState st;
  bool resumed = false;
  group.run_checked("setting up the run folder", [&] {
    if (root) st = root_setup(o, model, samples, resume, resolved_yaml, lock, resumed);
  });
  resumed = share_state(group, st, resumed, n_layers, n_kv);

  optim::AdamW adam({{kGatesName, st.gates}}, optim::AdamWConfig{});  // DuoAttention: betas (0.9, 0.999), no decay
  if (!st.adam.m.empty()) adam.set_state(st.adam);
  DataOrder order(samples.size(), o.shuffle, static_cast<uint64_t>(o.seed));
  order.set_state(st.data_epoch, st.data_pos);
  TwoWayConfig tw;
  tw.window = window;
  tw.reg_weight = o.reg_weight;
  tw.recompute = o.recompute;
  const int world = group.size();
  const int64_t batch = o.batch_size, slots = slots_per_rank(batch, world);
  const std::vector<int64_t> mine = rank_positions(batch, group.rank(), world);
  if (root && world > batch)
    core::log_warn("train: {} processes for batch_size {}: ranks {}..{} get no samples", world, batch, batch,
                   world - 1);

  int64_t last_saved = resumed ? st.step : -1;
  auto save = [&]() {
    last_saved = st.step;
    group.run_checked(fmt::format("writing the checkpoint of step {}", st.step), [&] {
      if (!root) return;
      st.adam = adam.state();
      st.data_epoch = order.epoch();
      st.data_pos = order.position();
      save_run_state(state_file, st);
      mask::write_gate_tsv(out / "checkpoint" / "full_attention_heads.tsv", to_table(st.gates));
    });
  };

  core::Progress progress("train", o.steps, quiet);
  TrainResult result;
  // Seconds per step: the whole step; gathering + combining the gradients; the status agreement
  // after the local samples (waiting for the slowest rank included).
  std::vector<double> t_steps, t_reduce, t_agree;
  while (st.step < o.steps) {
    const int64_t s = st.step;
    {
      at::NoGradGuard no_grad;
      st.gates.clamp_(0.0, 1.0);  // as official: clamp before every step
    }
    const auto t0 = std::chrono::steady_clock::now();
    // The global batch: every rank draws all of its indices (the order stays in step everywhere).
    std::vector<int64_t> index(batch);
    for (auto& i : index) i = order.next();
    auto rows = at::zeros({slots, n_layers * n_kv + kRowExtras}, at::kDouble);  // padding rows stay zero
    std::chrono::steady_clock::time_point t_local;
    group.run_checked(fmt::format("step {}", s + 1), [&] {
      for (size_t j = 0; j < mine.size(); ++j) {
        fault_bad_sample(index[mine[j]]);
        TrainSample sample = samples.get(index[mine[j]]);
        rows[static_cast<int64_t>(j)].copy_(
            sample_row(two_way_step(model, sample.ids, sample.label_mask, st.gates, tw))[0]);
      }
      t_local = std::chrono::steady_clock::now();
    });
    const auto t1 = std::chrono::steady_clock::now();
    const StepResult r = combine_rows(group.allgather_rows(rows, fmt::format("step {}: gathering gradients", s + 1)),
                                      batch, world, n_layers, n_kv, o.reg_weight);
    const auto t2 = std::chrono::steady_clock::now();
    const bool grad_ok = at::isfinite(r.grad).all().item<bool>();
    if (!finite(r.loss) || !finite(r.distill) || !finite(r.reg) || !grad_ok) {
      fail("step {}: the loss is not finite (distill {}, reg {}{}); training stopped. {}", s + 1, r.distill, r.reg,
           grad_ok ? "" : ", gradient not finite",
           last_saved >= 0
               ? fmt::format("The last good checkpoint (step {}) is kept in {}", last_saved, state_file.string())
               : std::string("No checkpoint had been written yet."));
    }
    const double lr = optim::duo_attention_lr(s, o.steps, o.lr);
    adam.step(lr, {r.grad});
    if (root) append_history(st.history, r, lr, st.gates);
    st.step += 1;
    result.last_distill = r.distill;
    result.last_reg = r.reg;
    const auto t3 = std::chrono::steady_clock::now();
    const double dt = std::chrono::duration<double>(t3 - t0).count();
    t_steps.push_back(dt);
    t_reduce.push_back(std::chrono::duration<double>(t2 - t1).count());
    t_agree.push_back(std::chrono::duration<double>(t1 - t_local).count());
    progress.update(st.step, fmt::format("{} | distill {:.4g} | reg {:.4f} | lr {:.3g} | {:.0f} tok/s",
                                         batch == 1 ? fmt::format("seq {}", r.seq_len)
                                                    : fmt::format("batch {} ({} tok)", batch, r.seq_len),
                                         r.distill, r.reg, lr, dt > 0 ? r.seq_len / dt : 0.0));
    if (o.checkpoint_every > 0 && st.step % o.checkpoint_every == 0 && st.step < o.steps) save();
  }
  save();
  progress.finish(fmt::format("distill {:.4g} | reg {:.4f}", result.last_distill, result.last_reg));
  if (!t_steps.empty() && (world > 1 || batch > 1)) {
    const double total = std::accumulate(t_steps.begin(), t_steps.end(), 0.0);
    const double reduce = std::accumulate(t_reduce.begin(), t_reduce.end(), 0.0);
    const double agree = std::accumulate(t_agree.begin(), t_agree.end(), 0.0);
    const double n = static_cast<double>(t_steps.size());
    std::nth_element(t_steps.begin(), t_steps.begin() + t_steps.size() / 2, t_steps.end());
    core::log_info("train: {} process{} x batch {}: median step {:.4f} s over {} steps; gradient allgather + ordered "
                   "sum {:.6f} s per step ({:.3f}% of the step time); status agreement incl. waiting for the slowest "
                   "rank {:.6f} s ({:.3f}%)", world, world == 1 ? "" : "es", batch, t_steps[t_steps.size() / 2],
                   t_steps.size(), reduce / n, total > 0 ? 100.0 * reduce / total : 0.0, agree / n,
                   total > 0 ? 100.0 * agree / total : 0.0);
  }
  group.run_checked("writing the results", [&] {
    if (!root) return;
    mask::write_gate_tsv(out / "full_attention_heads.tsv", to_table(st.gates));
    save_history(out / "history.h5", st.history);
    core::write_file_atomic(out / "gates.svg", gates_svg(st.gates, fmt::format("gates after {} steps ({})", st.step,
                                                                             cfg.model_type)));
  });
  result.output_dir = out;
  result.steps = st.step;
  result.gates = st.gates.clone();
  return result;
}

}  // namespace duo::train
