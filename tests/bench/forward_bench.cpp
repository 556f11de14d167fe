// forward_bench: full forward pass (all heads full, logits for every token) of the 12-layer,
// hidden 768, 12-head random Llama (configs/models/bench-12l-768.yaml) at T = 1K, 4K (and 16K
// with --sizes), fp32, all threads. Prints achieved GFLOP/s as a fraction of a plain
// [T, 768] x [768, 3072] matmul's GFLOP/s measured in the same run (target >= 0.5 at T = 4K).
//
// FLOPs counted: 2 * T * (q, k, v, o projections + gate, up, down + LM head) weights, plus causal
// attention 2 * T * T * D per head and layer (QK and PV, 2 T^2 D each, halved for causality).
// Warm-up once, then the median of --runs runs.
//
//   build-bench/forward_bench [--sizes 1024,4096,16384] [--runs 3] [--threads 0]
#include <CLI/CLI.hpp>

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <vector>

#include "core/threads.h"
#include "model/model.h"
#include "model/preset.h"

namespace {

double seconds(const std::function<void()>& fn) {
  auto t0 = std::chrono::steady_clock::now();
  fn();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

double median_seconds(int runs, const std::function<void()>& fn) {
  fn();  // warm-up
  std::vector<double> t;
  for (int i = 0; i < runs; ++i) t.push_back(seconds(fn));
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

double forward_flops(const duo::model::ModelConfig& c, int64_t t) {
  const double h = c.hidden_size, f = c.intermediate_size;
  const double per_token_layer = 2.0 * (h * c.q_dim() + 2 * h * c.kv_dim() + c.q_dim() * h + 3 * h * f);
  const double attention = 2.0 * double(t) * double(t) * c.head_dim * c.n_heads;  // per layer, causal
  return c.n_layers * (per_token_layer * t + attention) + 2.0 * h * c.vocab_size * t;
}

}  // namespace

int main(int argc, char** argv) {
  duo::core::reexec_with_thread_env(argv);  // as `duo` does (core/threads.h)
  CLI::App app{"Forward-pass throughput of the 12-layer, hidden 768 random Llama vs a plain matmul"};
  std::vector<int64_t> sizes = {1024, 4096};
  int runs = 3, threads = 0;
  bool breakdown = false;
  app.add_option("--sizes", sizes, "Sequence lengths (e.g. 1024,4096,16384; 16K takes minutes)")->delimiter(',');
  app.add_option("--runs", runs, "Timed runs per size (median reported)");
  app.add_option("--threads", threads, "Threads (0 = all cores)");
  app.add_flag("--breakdown", breakdown, "Also time the pieces of one layer and the LM head");
  CLI11_PARSE(app, argc, argv);
  threads = duo::core::set_threads(threads);
  c10::NoGradGuard no_grad;

  auto cfg = duo::model::ModelConfig::from_json(
      duo::model::read_preset(std::string(DUO_SOURCE_DIR) + "/configs/models/bench-12l-768.yaml"));
  auto model = duo::model::Model::random(cfg, /*seed=*/0);
  std::printf("forward_bench: %lld layers, hidden %lld, %lld heads, vocab %lld, fp32, %d threads, median of %d\n",
              static_cast<long long>(cfg.n_layers), static_cast<long long>(cfg.hidden_size),
              static_cast<long long>(cfg.n_heads), static_cast<long long>(cfg.vocab_size), threads, runs);
  std::printf("%8s %12s %12s %12s %14s %8s\n", "T", "forward s", "tokens/s", "GFLOP/s", "matmul GFLOP/s", "ratio");
  for (int64_t t : sizes) {
    auto a = at::randn({t, cfg.hidden_size}), b = at::randn({cfg.hidden_size, cfg.intermediate_size});
    const double mm_s = median_seconds(runs, [&] { at::matmul(a, b); });
    const double mm_gflops = 2.0 * t * cfg.hidden_size * cfg.intermediate_size / mm_s / 1e9;
    auto ids = at::randint(cfg.vocab_size, {t}, at::kLong);
    const double fwd_s = median_seconds(runs, [&] { model.logits(ids); });
    const double gflops = forward_flops(cfg, t) / fwd_s / 1e9;
    std::printf("%8lld %12.3f %12.1f %12.1f %14.1f %8.3f\n", static_cast<long long>(t), fwd_s, t / fwd_s, gflops,
                mm_gflops, gflops / mm_gflops);
    std::fflush(stdout);
    if (breakdown) {
      auto x = model.embed(ids);
      auto pos = at::arange(t, at::kLong);
      auto hn = model.attn_norm(0, x);
      auto qkv = model.qkv(0, hn, pos);
      auto o = duo::attention::attend(qkv.q, qkv.k, qkv.v, {});
      const double s_norm = median_seconds(runs, [&] { model.attn_norm(0, x); });
      const double s_qkv = median_seconds(runs, [&] { model.qkv(0, hn, pos); });
      const double s_att = median_seconds(runs, [&] { duo::attention::attend(qkv.q, qkv.k, qkv.v, {}); });
      const double s_out = median_seconds(runs, [&] { model.attn_out(0, o); });
      const double s_mlp = median_seconds(runs, [&] { model.mlp_block(0, x); });
      const double s_head = median_seconds(runs, [&] { model.lm_head(x); });
      std::printf("         one layer: norm %.4f s, qkv+rope %.4f s, attend %.4f s (%.1f GFLOP/s), o_proj %.4f s, "
                  "mlp %.4f s (%.1f GFLOP/s); lm_head %.4f s\n",
                  s_norm, s_qkv, s_att, 2.0 * t * t * cfg.head_dim * cfg.n_heads / s_att / 1e9, s_out, s_mlp,
                  6.0 * t * cfg.hidden_size * cfg.intermediate_size / s_mlp / 1e9, s_head);
      std::fflush(stdout);
    }
  }
  return 0;
}
