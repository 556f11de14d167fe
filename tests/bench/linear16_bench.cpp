// One-row linear (decode) on fp32 vs 16-bit weights (issue 19 part 2), side by side in one run:
// model::linear with fp32 W, model::linear with bf16 W (read in 16 bits, fp32 accumulation), and
// LibTorch's own bf16 at::linear (the path bf16 models took before), and at::sum over the fp32 W
// (what streaming the same bytes costs without products). Rounds alternate the four;
// medians of the rounds, and GB/s of weight bytes read.
//
//   linear16_bench [--in 768] [--out 32000] [--rounds 21] [--threads 2]
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <c10/core/GradMode.h>
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <functional>
#include <vector>

#include "core/threads.h"
#include "model/modules.h"

int main(int argc, char** argv) {
  CLI::App app{"One-row linear on fp32 vs bf16 weights, side by side"};
  int64_t in = 768, out = 32000;
  int rounds = 21, threads = 2;
  app.add_option("--in", in, "input features");
  app.add_option("--out", out, "output features (rows of W)");
  app.add_option("--rounds", rounds, "rounds (each times every variant once)");
  app.add_option("--threads", threads, "threads");
  CLI11_PARSE(app, argc, argv);
  duo::core::set_threads(threads);
  c10::NoGradGuard no_grad;
  at::manual_seed(0);
  const at::Tensor x = at::randn({1, in}), w = at::randn({out, in});
  const at::Tensor xb = x.to(at::kBFloat16), wb = w.to(at::kBFloat16);
  struct Variant {
    const char* name;
    std::function<void()> run;
    int64_t bytes;
    std::vector<double> ms;
  };
  std::vector<Variant> vs = {
      {"fp32 W, duo", [&] { duo::model::linear(x, w); }, w.numel() * 4, {}},
      {"bf16 W, duo", [&] { duo::model::linear(xb, wb); }, w.numel() * 2, {}},
      {"bf16 W, at::linear", [&] { at::linear(xb, wb); }, w.numel() * 2, {}},
      // The read bound: LibTorch's own reduction over the same fp32 bytes (no products).
      {"at::sum of fp32 W", [&] { at::sum(w); }, w.numel() * 4, {}},
  };
  for (int r = -1; r < rounds; ++r) {
    for (auto& v : vs) {
      const auto t0 = std::chrono::steady_clock::now();
      v.run();
      const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
      if (r >= 0) v.ms.push_back(ms);
    }
  }
  fmt::print("one-row linear [1, {}] x [{}, {}]^T, {} threads, {} rounds\n", in, out, in, at::get_num_threads(), rounds);
  std::sort(vs[0].ms.begin(), vs[0].ms.end());
  const double base = vs[0].ms[vs[0].ms.size() / 2];
  for (auto& v : vs) {
    std::sort(v.ms.begin(), v.ms.end());
    const double m = v.ms[v.ms.size() / 2];
    fmt::print("  {:>20}: {:8.3f} ms (min {:7.3f})  {:6.1f} GB/s of W  speedup vs fp32 {:.2f}x\n", v.name, m,
               v.ms.front(), static_cast<double>(v.bytes) / (m * 1e6), base / m);
  }
  return 0;
}
