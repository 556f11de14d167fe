// train_bench: one gate-training step (two-way forward + backward to the gates, per-layer
// recompute) on random Llamas: T = 1K, 2K, 4K, 8K on the 12-layer, hidden 768, 12-head model
// (configs/models/bench-12l-768.yaml) and one 32K step on a 4-layer, hidden 256 model to show it
// fits. Each size runs in a child process (this program re-executed with --one) so that its peak
// resident memory (ru_maxrss of the child) is its own. Time is reported as a multiple of the FLOP bound: the step's matmul FLOPs at the
// plain-matmul rate measured in the same run. On a shared machine wall time also counts the time
// other processes held the cores; cpu/(bound x threads), the step's process CPU time over the bound
// times the thread count, does not (with --threads 1 it is the time/bound of an idle core; with
// more threads it also counts workers spinning while they wait).
//
// FLOPs counted (weights frozen, so the backward needs input gradients only):
//   teacher forward            P + A_full
//   gated forward (no grad)    P + A_full + A_stream
//   recompute forward          P + A_full + A_stream
//   backward                   P + 2 (A_full + A_stream)
// with P = 2 T * (projection and MLP weights) per layer and A = 2 * 2 T^2 D / 2 per head (causal)
// for full attention, 2 * 2 T * min(T, sink + recent) * D per head for streaming.
//
// With --keep-attention 1 (the trainer's default) the recompute reuses the first pass's
// attention results, so it does P of work, not P + A_full + A_stream; the bound above still
// counts the recompute's attention, so that the numbers stay comparable with --keep-attention 0.
//
//   build-bench/train_bench [--sizes 1024,2048,4096,8192] [--long 32768] [--threads 0] [--keep-attention 1]
#include <CLI/CLI.hpp>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>

#include "core/threads.h"
#include "kernels/cpu/gemm.h"
#include "model/model.h"
#include "model/preset.h"
#include "train/two_way.h"

namespace {

using duo::model::ModelConfig;

double step_flops(const ModelConfig& c, int64_t t, int64_t sink, int64_t recent) {
  const double h = c.hidden_size, f = c.intermediate_size;
  const double p = 2.0 * t * (h * c.q_dim() + 2 * h * c.kv_dim() + c.q_dim() * h + 3 * h * f);
  const double a_full = 2.0 * t * double(t) * c.head_dim * c.n_heads;  // QK + PV, causal half
  const double a_stream = 4.0 * t * double(std::min<int64_t>(t, sink + recent)) * c.head_dim * c.n_heads;
  return c.n_layers * (4 * p + 4 * a_full + 4 * a_stream);
}

// CPU time of this process (all threads), seconds.
double cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

// 2048^3 fp32, best of 3: at::mm (BLAS) when !duo_gemm, else kernels::cpu::gemm_out (oneDNN where
// available, or BLAS under DUO_GEMM=blas).
double matmul_gflops(bool duo_gemm) {
  auto a = at::randn({2048, 2048}), b = at::randn({2048, 2048});
  auto c = at::empty({2048, 2048});
  auto run = [&] {
    if (duo_gemm) duo::kernels::cpu::gemm_out(c, a, b);
    else at::mm_out(c, a, b);
  };
  run();
  double best = 1e9;
  for (int i = 0; i < 3; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    run();
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return 2.0 * 2048.0 * 2048.0 * 2048.0 / best / 1e9;
}

ModelConfig small_config() {
  nlohmann::json j = {{"model_type", "llama"}, {"vocab_size", 32000}, {"hidden_size", 256},
                      {"intermediate_size", 1024}, {"num_hidden_layers", 4}, {"num_attention_heads", 4},
                      {"num_key_value_heads", 4}, {"max_position_embeddings", 65536}};
  return ModelConfig::from_json(j, "train_bench small");
}

// Runs one timed step (after a warm-up step for T <= 8K) in this process; prints one line.
void run_one(const ModelConfig& cfg, const char* name, int64_t t, double mm, bool warm, bool keep_attention) {
  auto model = duo::model::Model::random(cfg, 1);
  auto ids = at::randint(3, cfg.vocab_size, {t}, at::kLong);
  auto labels = at::zeros({t}, at::kBool);
  labels.narrow(0, t - 64, 64).fill_(true);
  auto alpha = at::full({cfg.n_layers, cfg.n_kv_heads}, 0.5f);
  duo::train::TwoWayConfig tw;  // the official training window (kTrainWindow), recompute on
  tw.keep_attention = keep_attention;
  if (warm) duo::train::two_way_step(model, ids, labels, alpha, tw);
  const double c0 = cpu_seconds();
  auto t0 = std::chrono::steady_clock::now();
  auto r = duo::train::two_way_step(model, ids, labels, alpha, tw);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double cpu = cpu_seconds() - c0;
  const double bound = step_flops(cfg, t, tw.window.sink, tw.window.recent) / (mm * 1e9);
  std::printf("%-10s T=%6lld  step %8.2f s  FLOP bound %8.2f s  time/bound %5.2f  cpu/(bound x threads) %5.2f"
              "  (distill %.3g)",
              name, static_cast<long long>(t), s, bound, s / bound, cpu / (bound * at::get_num_threads()), r.distill);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  duo::core::reexec_with_thread_env(argv);  // as `duo` does (core/threads.h)
  CLI::App app{"Gate-training step time and peak memory vs the FLOP bound"};
  std::vector<int64_t> sizes = {1024, 2048, 4096, 8192};
  int64_t long_t = 32768;
  int threads = 0;
  int64_t one = 0;
  std::string which = "big";
  double mm_given = 0;
  int keep_attention = 1;
  app.add_option("--sizes", sizes, "Sequence lengths on the 12-layer, hidden 768 model")->delimiter(',');
  app.add_option("--long", long_t, "One step of this length on the 4-layer, hidden 256 model (0 = skip)");
  app.add_option("--threads", threads, "Threads (0 = all cores)");
  app.add_option("--keep-attention", keep_attention,
                 "Recompute reuses the first pass's attention results (1) or reruns them (0)");
  app.add_option("--one", one, "(internal) run one step of this length and exit");
  app.add_option("--which", which, "(internal) big | small");
  app.add_option("--mm", mm_given, "(internal) matmul GFLOP/s measured by the parent");
  CLI11_PARSE(app, argc, argv);
  const int n = duo::core::set_threads(threads);
  const auto small = small_config();
  if (one > 0) {
    const auto big = ModelConfig::from_json(
        duo::model::read_preset(std::string(DUO_SOURCE_DIR) + "/configs/models/bench-12l-768.yaml"), "bench-12l-768");
    run_one(which == "big" ? big : small, which == "big" ? "12l-768" : "4l-256", one, mm_given, one <= 8192,
            keep_attention != 0);
    std::printf("\n");
    return 0;
  }
  const double mm = matmul_gflops(false);
  std::printf("threads %d, plain matmul %.1f GFLOP/s (at::mm, 2048^3 fp32, best of 3; the bound's rate), duo's "
              "products %.1f GFLOP/s (%s), keep attention %d\n",
              n, mm, matmul_gflops(true), duo::kernels::cpu::gemm_summary().c_str(), keep_attention);
  std::vector<std::pair<std::string, int64_t>> runs;
  for (auto t : sizes) runs.emplace_back("big", t);
  if (long_t > 0) runs.emplace_back("small", long_t);
  for (auto& [w, t] : runs) {
    std::fflush(stdout);
    const std::string ts = std::to_string(t), th = std::to_string(threads), ms = std::to_string(mm),
                      ka = std::to_string(keep_attention);
    pid_t pid = fork();
    if (pid == 0) {  // exec at once: a forked LibTorch/OpenMP process must not run parallel code
      execl("/proc/self/exe", argv[0], "--one", ts.c_str(), "--which", w.c_str(), "--threads", th.c_str(), "--mm",
            ms.c_str(), "--keep-attention", ka.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    int status = 0;
    struct rusage ru {};
    wait4(pid, &status, 0, &ru);
    std::printf("           peak RSS of that step's process: %.2f GiB%s\n", ru.ru_maxrss / 1048576.0,
                WIFEXITED(status) && WEXITSTATUS(status) == 0 ? "" : "  (FAILED)");
  }
  return 0;
}
