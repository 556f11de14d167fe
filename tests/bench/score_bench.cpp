// score_bench: each training-free scorer (src/score) next to one gate-training step, on the
// 12-layer, hidden 768, 12-head random Llama (configs/models/bench-12l-768.yaml) at T tokens, in one
// process, one after the other (a warm-up of every path at 512 tokens first):
//   attention-mass  one T-token sample of random ids (window: the deploy window 64 / 256)
//   razor           one probe of T/4 random tokens repeated 4 times (plus BOS)
//   retrieval       one T-token prompt with a 32-token needle, 8 greedy tokens, then the
//                   top-1 pass over the generating queries
//   train step      train::two_way_step: teacher + gated forward + backward to the gates (kTrainWindow)
// Memory stays linear in T for the scorers (blockwise statistics); peak RSS is printed at the end.
//
//   build/score_bench [--tokens 8192] [--threads 0] [--block 256]
#include <CLI/CLI.hpp>

#include <ATen/ATen.h>
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <functional>
#include <string>

#include "core/threads.h"
#include "model/model.h"
#include "model/preset.h"
#include "runtime/decoder.h"
#include "runtime/head_layout.h"
#include "score/attention_mass.h"
#include "score/razor_score.h"
#include "score/retrieval_score.h"
#include "train/two_way.h"

namespace {

double seconds(const std::function<void()>& f) {
  auto t0 = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::vector<int64_t> random_ids(int64_t t, int64_t vocab, uint64_t seed) {
  auto gen = at::detail::createCPUGenerator(seed);
  auto ids = at::randint(3, vocab, {t}, gen, at::TensorOptions().dtype(at::kLong));
  return std::vector<int64_t>(ids.data_ptr<int64_t>(), ids.data_ptr<int64_t>() + t);
}

struct Times {
  double mass = 0, razor = 0, retrieval_generate = 0, retrieval_top1 = 0, train = 0;
};

// Prints one measured line at once (a long run on a busy machine shows what it has so far).
void report(bool verbose, const char* what, double s, const std::string& note) {
  if (!verbose) return;
  std::printf("  %-16s %8.2f s  (%s)\n", what, s, note.c_str());
  std::fflush(stdout);
}

Times run(const duo::model::Model& model, int64_t t, int64_t block, bool verbose) {
  using namespace duo::score;
  const auto& cfg = model.config();
  const auto src = model_qk_source(model);
  Times r;
  const auto sample = random_ids(t, cfg.vocab_size, 1);
  r.mass = seconds([&] { attention_mass_scores(src, {sample}, duo::kDeployWindow, block); });
  report(verbose, "attention-mass", r.mass, "one " + std::to_string(t) + "-token sample");
  std::vector<int64_t> allowed;
  for (int64_t id = 3; id < cfg.vocab_size; ++id) allowed.push_back(id);
  const auto probe = razor_sequence(allowed, t / 4, 4, 1, /*bos=*/1);
  r.razor = seconds([&] { razor_stats(src, {probe}, t / 4, 1, block); });
  report(verbose, "razor", r.razor, "one probe: " + std::to_string(t / 4) + " random tokens x 4 + BOS");
  CopyTrace trace;
  trace.ids = random_ids(t, cfg.vocab_size, 2);
  trace.needle_begin = t / 2;
  trace.needle_end = t / 2 + 32;
  duo::runtime::GenerateOptions go;
  go.max_new_tokens = 8;
  const auto layout = duo::runtime::HeadLayout::all_full(cfg.n_layers, cfg.n_kv_heads);
  r.retrieval_generate = seconds([&] { trace.generated = duo::runtime::generate_greedy(model, layout, trace.ids, go).tokens; });
  r.retrieval_top1 = seconds([&] { retrieval_scores(src, {trace}, block); });
  report(verbose, "retrieval", r.retrieval_generate + r.retrieval_top1,
         "one prompt: greedy 8 tokens " + std::to_string(r.retrieval_generate) + " s + top-1 pass " +
             std::to_string(r.retrieval_top1) + " s");
  auto ids = at::tensor(sample, at::TensorOptions().dtype(at::kLong));
  auto labels = at::zeros({t}, at::kBool);
  labels.narrow(0, t - 64, 64).fill_(true);
  auto alpha = at::full({cfg.n_layers, cfg.n_kv_heads}, 0.5f);
  duo::train::TwoWayConfig tw;
  r.train = seconds([&] { duo::train::two_way_step(model, ids, labels, alpha, tw); });
  report(verbose, "gate-train step", r.train, "train::two_way_step, training window 128 / 256");
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  duo::core::reexec_with_thread_env(argv);  // as `duo` does (core/threads.h)
  CLI::App app{"Training-free head scorers vs one gate-training step"};
  int64_t tokens = 8192, block = 256;
  int threads = 0;
  app.add_option("--tokens", tokens, "Sequence length T");
  app.add_option("--threads", threads, "Threads (0 = all cores)");
  app.add_option("--block", block, "Tile size of the blockwise statistics");
  CLI11_PARSE(app, argc, argv);
  const int n = duo::core::set_threads(threads);
  const auto cfg = duo::model::ModelConfig::from_json(
      duo::model::read_preset(std::string(DUO_SOURCE_DIR) + "/configs/models/bench-12l-768.yaml"), "bench-12l-768");
  auto model = duo::model::Model::random(cfg, 1);
  run(model, 512, block, /*verbose=*/false);  // warm-up (longer than the deploy window)
  std::printf("bench-12l-768, T=%lld, %d threads, block %lld (one run each, after a 512-token warm-up)\n",
              static_cast<long long>(tokens), n, static_cast<long long>(block));
  std::fflush(stdout);
  run(model, tokens, block, /*verbose=*/true);
  struct rusage ru {};
  getrusage(RUSAGE_SELF, &ru);
  std::printf("  peak RSS         %8.2f GiB (whole process)\n", ru.ru_maxrss / 1048576.0);
  return 0;
}
