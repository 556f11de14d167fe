// KV cache precision benchmark (issue 19): one decoded token's attention over a full cache of T
// keys per KV head, with the cache in fp32, bf16 and f16, measured side by side in one run
// (rounds alternate the three, so a shared machine's drift hits all of them alike). Reports the
// median ms per call, the KV read rate (GB/s of cache bytes) and each 16-bit cache's speedup over
// fp32. The 16-bit caches are read directly by the kernel (kernels/cpu/half_rows.h).
//
//   kv_dtype_bench [--tokens 32768] [--heads 12] [--kv-heads 12] [--dim 64] [--rounds 15] [--threads 2]
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <vector>

#include "core/threads.h"
#include "kernels/cpu/decode_attention.h"
#include "kernels/cpu/half_rows.h"

namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Decode attention over fp32 / bf16 / f16 KV caches, side by side"};
  int64_t tokens = 32768, heads = 12, kv_heads = 12, dim = 64;
  int rounds = 15, threads = 2;
  app.add_option("--tokens", tokens, "cached tokens per KV head");
  app.add_option("--heads", heads, "query heads");
  app.add_option("--kv-heads", kv_heads, "KV heads");
  app.add_option("--dim", dim, "head dim");
  app.add_option("--rounds", rounds, "rounds (each times every dtype once)");
  app.add_option("--threads", threads, "threads");
  CLI11_PARSE(app, argc, argv);
  duo::core::set_threads(threads);
  namespace kc = duo::kernels::cpu;
  at::manual_seed(0);
  const at::Tensor k32 = at::randn({kv_heads, tokens, dim}), v32 = at::randn({kv_heads, tokens, dim});
  const at::Tensor pos = at::arange(tokens, at::kLong);
  const at::Tensor q = at::randn({heads, 1, dim}), kn = at::randn({kv_heads, 1, dim}), vn = at::randn({kv_heads, 1, dim});
  struct Side {
    const char* name;
    at::Tensor k, v;
    std::vector<double> ms;
  };
  std::vector<Side> sides = {{"fp32", k32, v32, {}},
                             {"bf16", k32.to(at::kBFloat16), v32.to(at::kBFloat16), {}},
                             {"f16", k32.to(at::kHalf), v32.to(at::kHalf), {}}};
  kc::DecodeParams p;
  for (int r = -1; r < rounds; ++r) {  // round -1: warm-up
    for (auto& s : sides) {
      const auto t0 = std::chrono::steady_clock::now();
      kc::decode_attention(q, kn, vn, tokens, s.k, s.v, pos, p);
      const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
      if (r >= 0) s.ms.push_back(ms);
    }
  }
  fmt::print("decode attention, {} cached tokens x {} KV heads (D {}, {} query heads), {} threads, {} rounds; "
             "AVX-512 16-bit path: {}\n",
             tokens, kv_heads, dim, heads, at::get_num_threads(), rounds, kc::half_rows_use_avx512() ? "yes" : "no");
  const double base = median(sides[0].ms);
  for (const auto& s : sides) {
    const double m = median(s.ms);
    const double bytes = static_cast<double>(s.k.numel() * s.k.element_size() * 2);
    fmt::print("  {:>5}: {:8.2f} ms  (min {:7.2f})  {:6.1f} GB/s of KV  speedup vs fp32 {:.2f}x\n", s.name, m,
               *std::min_element(s.ms.begin(), s.ms.end()), bytes / (m * 1e6), base / m);
  }
  return 0;
}
