// decode_step_bench: one decoded token on the decoder's one-token path (RowStep for the layer's
// non-attention work, runtime/row_step.h, and attention::attend_rows over the cache in place)
// against the same decoder with every chunk on the chunk path (LibTorch ops, attend_chunk), side
// by side in one run.
// Two decoders over one model and head layout are prefilled with the same prompt; rounds then
// alternate a step of each (same token), so the machine's drift hits both alike. Prints the median
// ms per token of each, their ratio, and the weight bytes a token reads over that time.
//
//   decode_step_bench [--model bench-12l-768] [--context 4096] [--sparsity 0.75] [--weight-dtype fp32]
//                     [--kv-dtype bf16] [--rounds 64] [--threads 2]
#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include "core/threads.h"
#include "mask/gate_table.h"
#include "model/model.h"
#include "model/preset.h"
#include "runtime/decoder.h"
#include "runtime/head_layout.h"

namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  duo::core::reexec_with_thread_env(argv);  // as `duo` does (core/threads.h)
  CLI::App app{"One decoded token: the one-token path vs the chunk path, side by side"};
  std::string preset = "bench-12l-768", weight_dtype = "fp32", kv_dtype = "bf16";
  int64_t context = 4096;
  double sparsity = 0.75;
  int rounds = 64, threads = 2;
  app.add_option("--model", preset, "preset under configs/models");
  app.add_option("--context", context, "prompt tokens prefilled before the timed steps");
  app.add_option("--sparsity", sparsity, "fraction of KV heads streaming (every 1/(1-s)-th head full)");
  app.add_option("--weight-dtype", weight_dtype, "weight matrices: fp32, bf16 or f16");
  app.add_option("--kv-dtype", kv_dtype, "KV cache: fp32, bf16 or f16");
  app.add_option("--rounds", rounds, "rounds (each times one step of both)");
  app.add_option("--threads", threads, "threads");
  CLI11_PARSE(app, argc, argv);
  threads = duo::core::set_threads(threads);
  c10::NoGradGuard no_grad;

  auto cfg = duo::model::ModelConfig::from_json(
      duo::model::read_preset(std::string(DUO_SOURCE_DIR) + "/configs/models/" + preset + ".yaml"));
  duo::model::LoadOptions lo;
  lo.weight_dtype = duo::model::parse_dtype(weight_dtype, "--weight-dtype");
  auto model = duo::model::Model::random(cfg, /*seed=*/0, lo);
  // Every k-th KV head (in layer-major order) full, the rest streaming (sink 64, recent 256).
  duo::mask::GateTable mask;
  mask.n_layers = cfg.n_layers;
  mask.n_kv_heads = cfg.n_kv_heads;
  const int64_t n = cfg.n_layers * cfg.n_kv_heads;
  const int64_t every = std::max<int64_t>(1, static_cast<int64_t>(1.0 / std::max(1e-9, 1.0 - sparsity) + 0.5));
  for (int64_t i = 0; i < n; ++i) mask.values.push_back(sparsity <= 0 || i % every == 0 ? 1.0 : 0.0);
  const auto layout = duo::runtime::HeadLayout::from_mask(mask, duo::StreamWindow(64, 256));
  const auto kv = duo::model::parse_dtype(kv_dtype, "--kv-dtype");

  const int64_t capacity = context + rounds + 2;
  duo::runtime::Decoder fast(model, layout, capacity, kv), slow(model, layout, capacity, kv);
  slow.use_row_step(false);
  auto ids = at::randint(1, cfg.vocab_size, {context}, at::TensorOptions().dtype(at::kLong));
  fast.prefill(ids, duo::runtime::kDefaultPrefillChunk);
  slow.prefill(ids, duo::runtime::kDefaultPrefillChunk);
  std::vector<double> ms_fast, ms_slow;
  auto time_step = [](duo::runtime::Decoder& d, int64_t token) {
    const auto t0 = std::chrono::steady_clock::now();
    d.step(token);
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  };
  for (int r = -1; r < rounds; ++r) {  // round -1: warm-up
    const int64_t token = 1 + r % (cfg.vocab_size - 1) + 1;
    const double a = time_step(fast, token), b = time_step(slow, token);
    if (r >= 0) ms_fast.push_back(a), ms_slow.push_back(b);
  }
  double weight_bytes = 0;
  for (const auto& [name, w] : model.named_weights())
    if (name.find("embed_tokens") == std::string::npos) weight_bytes += static_cast<double>(w.nbytes());
  const double f = median(ms_fast), s = median(ms_slow);
  fmt::print("decode step, {} ({} layers, hidden {}), context {}, {} of {} KV heads full, weights {}, KV {}, "
             "{} threads, {} rounds\n",
             preset, cfg.n_layers, cfg.hidden_size, context, layout.total_full(), n, weight_dtype, kv_dtype, threads,
             rounds);
  fmt::print("  one-token path: {:7.2f} ms/token (min {:6.2f})  weights read at {:5.1f} GB/s over the step\n", f,
             *std::min_element(ms_fast.begin(), ms_fast.end()), weight_bytes / (f * 1e6));
  fmt::print("  chunk path:     {:7.2f} ms/token (min {:6.2f})  weights read at {:5.1f} GB/s over the step\n", s,
             *std::min_element(ms_slow.begin(), ms_slow.end()), weight_bytes / (s * 1e6));
  fmt::print("  chunk path / one-token path: {:.3f}x\n", s / f);
  return 0;
}
