// The pretraining loop (see trainer.h).
#include "pretrain/trainer.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <chrono>
#include <fstream>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/file_checks.h"
#include "core/file_lock.h"
#include "core/log.h"
#include "core/progress.h"
#include "io/options.h"
#include "model/model.h"
#include "optim/adamw.h"
#include "optim/clip.h"
#include "optim/schedule.h"
#include "pretrain/corpus_tokenizer.h"
#include "pretrain/curriculum.h"
#include "pretrain/hf_export.h"
#include "pretrain/lm_loss.h"
#include "pretrain/pretrain_state.h"
#include "tokenizer/tokenizer.h"

namespace duo::pretrain {
namespace {

namespace fs = std::filesystem;

void append_eval(const fs::path& path, int64_t step, const RecallReport& r) {
  const bool fresh = !fs::exists(path);
  std::ofstream out(path, std::ios::app);
  DUO_CHECK(out.good(), "{}: cannot open for appending", path.string());
  if (fresh) out << "step\tlength\tdepth\tcorrect\ttotal\n";
  for (const auto& c : r.cells) out << fmt::format("{}\t{}\t{}\t{}\t{}\n", step, c.length, c.depth, c.correct, c.total);
  out.close();
  DUO_CHECK(!out.fail(), "{}: write failed (disk full?)", path.string());
}

RecallReport run_eval(const model::Model& m, const tokenizer::Tokenizer& tok, const PretrainOptions& o,
                      const fs::path& out_dir, int64_t step) {
  RecallOptions ro;
  ro.lengths = o.eval_lengths;
  ro.depths = o.eval_depths;
  ro.samples = o.eval_samples;
  auto r = evaluate_recall(m, tok, ro);
  append_eval(out_dir / "eval.tsv", step, r);
  core::write_file_atomic(out_dir / "recall.txt", fmt::format("step {}\n{}", step, r.table()));
  core::log_info("pretrain: step {} {}", step, r.summary());
  return r;
}

// Weight decay applies to the weight matrices; not to norms (1-d) nor to the token embedding.
bool decays(const std::string& name, const at::Tensor& param) {
  return param.dim() >= 2 && name.find("embed_tokens") == std::string::npos;
}

}  // namespace

PretrainResult run_pretrain(const PretrainOptions& opts, const fs::path& out_dir, const RunControl& rc) {
  validate_options(opts);
  PretrainOptions o = opts;
  const auto t0 = std::chrono::steady_clock::now();
  core::check_output_folder(out_dir, "pretrain: output folder");
  fs::create_directories(out_dir);
  const core::FileLock lock(core::run_lock_path(out_dir), "duo pretrain");  // held for the whole run
  const fs::path state_path = out_dir / "checkpoint.safetensors";
  const fs::path model_dir = out_dir / "model";
  DUO_CHECK(rc.resume || !fs::exists(state_path),
            "{}: a checkpoint already exists; expected a fresh output folder (pass --resume to continue it)",
            state_path.string());
  const std::string options_yaml = io::options_to_yaml(o);
  io::write_options_yaml(out_dir / "config.yaml", o);

  fs::create_directories(model_dir);
  write_corpus_tokenizer(model_dir / "tokenizer.json");
  const auto tok = tokenizer::Tokenizer::load(model_dir / "tokenizer.json");
  const auto cfg = make_model_config(o.model, tok.vocab_size());
  const auto m = model::Model::random(cfg, static_cast<uint64_t>(o.seed));
  optim::NamedTensors params = m.named_weights();
  for (auto& [name, p] : params) p.requires_grad_(true);
  optim::AdamW opt(params, optim::AdamWConfig{o.beta1, o.beta2, o.eps, o.weight_decay}, decays);

  int64_t step = 0;
  if (rc.resume && fs::exists(state_path)) {
    const PretrainState st = load_pretrain_state(state_path, opt);
    step = st.step;
    if (st.options_yaml != options_yaml) {
      core::log_warn("pretrain: the options differ from those the checkpoint was written with; continuing with the "
                     "new ones from step {}", step);
    }
    core::log_info("pretrain: resumed {} at step {}", state_path.string(), step);
  }
  const int64_t total = o.total_steps();
  const Curriculum data(tok, o);
  core::log_info("pretrain: {} layers x {} heads ({} KV), hidden {}, vocab {}, {} parameters; {} steps",
                 cfg.n_layers, cfg.n_heads, cfg.n_kv_heads, cfg.hidden_size, cfg.vocab_size, cfg.n_params(), total);

  PretrainResult result;
  core::Progress progress("pretrain", total, rc.quiet, /*log_every_seconds=*/0.0);
  double win_loss = 0.0, win_weight = 0.0;
  int64_t win_correct = 0, win_answer = 0, win_recalled = 0, win_seqs = 0, tokens = 0;
  const int64_t first_step = step;
  bool saved = true;
  while (step < total && (rc.stop_after <= 0 || step - first_step < rc.stop_after)) {
    const auto batch = data.batch(step);
    double batch_weight = 0.0;
    for (const auto& s : batch) {
      for (float w : s.weights) batch_weight += w;
    }
    for (auto& [name, p] : params) p.mutable_grad() = at::Tensor();
    double step_loss = 0.0;
    for (const auto& s : batch) {
      auto sl = sequence_loss(m, s);
      auto scaled = sl.weighted_sum / batch_weight;
      scaled.backward();
      step_loss += scaled.item<double>();
      win_correct += sl.answer_correct;
      win_answer += sl.answer_total;
      win_recalled += sl.recalled ? 1 : 0;
      win_seqs += 1;
      tokens += static_cast<int64_t>(s.ids.size());
    }
    win_loss += step_loss * batch_weight;
    win_weight += batch_weight;
    const double norm = optim::clip_grad_norm(params, o.grad_clip);
    const int64_t horizon = o.schedule_steps > 0 ? o.schedule_steps : total;
    const double lr = optim::cosine_lr(step, horizon, o.warmup_steps, o.lr, o.min_lr_ratio);
    opt.step(lr);
    if (step == first_step) result.first_loss = step_loss;
    result.last_loss = step_loss;
    ++step;
    saved = false;

    if (step % o.log_every == 0 || step == total) {
      const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      progress.update(step, fmt::format("stage {} | loss {:.4f} | answer tok {:.1f}% seq {:.1f}% | lr {:.2e} | "
                                        "gnorm {:.2f} | {:.0f} tok/s",
                                        data.stage_of(step - 1), win_loss / std::max(win_weight, 1e-9),
                                        100.0 * win_correct / std::max<int64_t>(win_answer, 1),
                                        100.0 * win_recalled / std::max<int64_t>(win_seqs, 1), lr, norm,
                                        tokens / std::max(secs, 1e-9)));
      win_loss = win_weight = 0.0;
      win_correct = win_answer = win_recalled = win_seqs = 0;
    }
    if (step % o.checkpoint_every == 0 || step == total) {
      save_pretrain_state(state_path, opt, PretrainState{step, options_yaml});
      write_hf_folder(model_dir, m);
      saved = true;
    }
    if ((o.eval_every > 0 && step % o.eval_every == 0 && step != total) || (step == total && rc.final_eval)) {
      result.last_eval = run_eval(m, tok, o, out_dir, step);
    }
  }
  if (!saved) {
    save_pretrain_state(state_path, opt, PretrainState{step, options_yaml});
    write_hf_folder(model_dir, m);
  }
  for (auto& [name, p] : params) {
    p.mutable_grad() = at::Tensor();
    p.requires_grad_(false);
  }
  result.step = step;
  result.finished = step >= total;
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!rc.quiet) progress.finish(result.finished ? "done" : "stopped");
  return result;
}

}  // namespace duo::pretrain
