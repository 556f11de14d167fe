// duo's matrix products (kernels/cpu/gemm.h) on oneDNN's sgemm against BLAS (LibTorch's at::mm:
// OpenBLAS here), side by side in one run: rounds alternate the two backends on each shape; the
// report gives each shape's median GFLOP/s per backend and the ratio.
//
//   gemm_bench [--rows 4096] [--rounds 7] [--threads 2]
//
// Shapes (fp32, rows = prefill chunk tokens): the bench-12l-768 model's projections and MLP as
// model::linear runs them (x W^T, W^T read in place), an 8B model's (hidden 4096, intermediate
// 14336), and the two products of the chunked-prefill attention tile (scores [rows, 64] x
// [64, 512] against a transposed key block, values [rows, 512] x [512, 64] accumulated).
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <c10/core/GradMode.h>
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <vector>

#include "core/blas_info.h"
#include "core/threads.h"
#include "kernels/cpu/gemm.h"

namespace {

struct Shape {
  const char* name;
  int64_t n, k;  // [rows, k] x [k, n]
  bool weight;   // b is W^T of a row-major W [n, k]; else a key block's transpose / a value block
  float beta;
};

const std::vector<Shape> kShapes = {
    {"q/k/v/o   768 -> 768", 768, 768, true, 0.0f},       {"gate/up   768 -> 3072", 3072, 768, true, 0.0f},
    {"down     3072 -> 768", 768, 3072, true, 0.0f},      {"8B q/o   4096 -> 4096", 4096, 4096, true, 0.0f},
    {"8B up    4096 -> 14336", 14336, 4096, true, 0.0f},  {"scores [64] x K^T [64, 512]", 512, 64, true, 0.0f},
    {"values [512] x V [512, 64], +=", 64, 512, false, 1.0f},
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  using duo::kernels::cpu::GemmBackend;
  duo::core::reexec_with_thread_env(argv);  // as `duo` does (core/threads.h)
  CLI::App app{"duo's matrix products on oneDNN vs BLAS, side by side"};
  int64_t rows = 4096;
  int rounds = 7, threads = 2;
  app.add_option("--rows", rows, "rows of every product (prefill chunk tokens)");
  app.add_option("--rounds", rounds, "rounds (each times every shape on both backends)");
  app.add_option("--threads", threads, "threads");
  CLI11_PARSE(app, argc, argv);
  duo::core::set_threads(threads);
  if (!duo::kernels::cpu::onednn_available()) {
    fmt::print(stderr, "gemm_bench: this LibTorch has no oneDNN; nothing to compare\n");
    return 1;
  }
  c10::NoGradGuard no_grad;
  at::manual_seed(0);
  const GemmBackend backends[2] = {GemmBackend::kBlas, GemmBackend::kOneDnn};
  std::vector<std::vector<double>> ms(kShapes.size() * 2);
  for (size_t i = 0; i < kShapes.size(); ++i) {
    const auto& s = kShapes[i];
    const at::Tensor a = at::randn({rows, s.k});
    const at::Tensor b = s.weight ? at::randn({s.n, s.k}).t() : at::randn({s.k, s.n});
    at::Tensor c = at::zeros({rows, s.n});
    for (int r = -1; r < rounds; ++r) {  // round -1 warms up (oneDNN compiles its kernels)
      for (int x = 0; x < 2; ++x) {
        duo::kernels::cpu::set_gemm_backend(backends[x]);
        const auto t0 = std::chrono::steady_clock::now();
        duo::kernels::cpu::gemm_out(c, a, b, s.beta);
        const double t = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
        if (r >= 0) ms[i * 2 + x].push_back(t);
      }
    }
  }
  fmt::print("fp32 products, {} rows, {} threads, {} rounds, median GFLOP/s\n  BLAS: {}\n  oneDNN: {}\n", rows,
             at::get_num_threads(), rounds, duo::core::blas_summary(), duo::kernels::cpu::gemm_summary());
  fmt::print("{:<34} {:>8} {:>8} {:>13}\n", "shape", "BLAS", "oneDNN", "oneDNN/BLAS");
  for (size_t i = 0; i < kShapes.size(); ++i) {
    const double flop = 2.0 * static_cast<double>(rows * kShapes[i].n * kShapes[i].k);
    const double g_blas = flop / median(ms[i * 2]) * 1e-6, g_dnn = flop / median(ms[i * 2 + 1]) * 1e-6;
    fmt::print("{:<34} {:>8.1f} {:>8.1f} {:>12.2f}x\n", kShapes[i].name, g_blas, g_dnn, g_dnn / g_blas);
  }
  return 0;
}
