// decode_stream_bench: decode attention against a plain read of the same KV cache, side by side.
//
// Full-attention decoding reads every cached key and value once per token, so the best it can do
// is the rate at which the machine streams those bytes. This bench builds L layers of full stores
// ([H, S, D] keys and values, as the runtime's KVStore holds them), and each round times, over all
// layers (each layer one task-pool pass, as the decoder runs them):
//   attention  kernels::cpu::decode_rows: one query row per KV head (the one-token path);
//   stream     a plain read of the same keys and values (per head: its keys, then its values),
//              widened to fp32 and summed with four independent accumulators: no products, no
//              softmax, no prefetch: what streaming these bytes costs;
//   K pass     the score kernel alone over the keys (dot_rows_typed, blocks of 2048);
//   V pass     the value kernel alone over the values (accumulate_rows_typed, blocks of 2048);
//   K stream   the plain read of the keys alone;
//   at::sum    LibTorch's sum over one fp32 buffer of the cache's size (what duo bench's 1 GiB
//              sums measure);
//   plain read kernels::cpu::stream_read over the cache's bytes (what duo bench's bound times).
// Rounds alternate the seven, so a shared machine's drift hits all of them alike; medians are
// printed, with attention / stream and each pass / K stream. A ratio near 1 means the kernel runs
// at the machine's streaming rate for this access pattern.
//
//   decode_stream_bench [--tokens 32768] [--layers 12] [--kv-heads 12] [--dim 64] [--kv-dtype bf16]
//                       [--rounds 8] [--threads 2]
#include <ATen/ATen.h>
#include <fmt/format.h>
#include <immintrin.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "core/threads.h"
#include "kernels/cpu/cpu_features.h"
#include "kernels/cpu/decode_attention.h"
#include "kernels/cpu/half_rows.h"
#include "kernels/cpu/stream_read.h"
#include "kernels/cpu/task_pool.h"
#include "model/model.h"

// GCC 12's false positive on the undefined operand inside its own AVX-512 intrinsics (as in
// kernels/cpu/half_rows.cpp).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"

namespace {

namespace kc = duo::kernels::cpu;

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

double now_ms() {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Sum of n elements of `type` widened to fp32 (n a multiple of 64): the plain read.
float stream_sum_reference(const void* p, int64_t n, kc::RowType type) {
  float acc[4] = {0, 0, 0, 0};
  for (int64_t i = 0; i < n; ++i) {
    const float x = type == kc::RowType::kF32
                        ? static_cast<const float*>(p)[i]
                        : kc::half_to_float(static_cast<const uint16_t*>(p)[i], type == kc::RowType::kBF16
                                                                                     ? kc::HalfType::kBF16
                                                                                     : kc::HalfType::kF16);
    acc[i % 4] += x;
  }
  return acc[0] + acc[1] + acc[2] + acc[3];
}

#if defined(__x86_64__)
template <kc::RowType kType>
__attribute__((target("avx512f"))) inline __m512 load16(const void* p, int64_t i) {
  if constexpr (kType == kc::RowType::kF32) {
    return _mm512_loadu_ps(static_cast<const float*>(p) + i);
  } else {
    const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(static_cast<const uint16_t*>(p) + i));
    if constexpr (kType == kc::RowType::kBF16) return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
    return _mm512_cvtph_ps(h);
  }
}

template <kc::RowType kType>
__attribute__((target("avx512f"))) float stream_sum_avx512(const void* p, int64_t n) {
  __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  for (int64_t i = 0; i < n; i += 64) {
    a0 = _mm512_add_ps(a0, load16<kType>(p, i));
    a1 = _mm512_add_ps(a1, load16<kType>(p, i + 16));
    a2 = _mm512_add_ps(a2, load16<kType>(p, i + 32));
    a3 = _mm512_add_ps(a3, load16<kType>(p, i + 48));
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
}
#endif

float stream_sum(const void* p, int64_t n, kc::RowType type) {
#if defined(__x86_64__)
  if (kc::cpu_has_avx512f()) {
    if (type == kc::RowType::kF32) return stream_sum_avx512<kc::RowType::kF32>(p, n);
    if (type == kc::RowType::kBF16) return stream_sum_avx512<kc::RowType::kBF16>(p, n);
    return stream_sum_avx512<kc::RowType::kF16>(p, n);
  }
#endif
  return stream_sum_reference(p, n, type);
}

double kv_bytes_total(int64_t layers, int64_t kv_heads, int64_t head_elems, int64_t elem) {
  return 2.0 * static_cast<double>(layers * kv_heads * head_elems * elem);
}

}  // namespace

int main(int argc, char** argv) {
  duo::core::reexec_with_thread_env(argv);  // as `duo` does (core/threads.h)
  CLI::App app{"Decode attention vs a plain read of the same KV cache, side by side"};
  int64_t tokens = 32768, layers = 12, kv_heads = 12, dim = 64;
  int rounds = 8, threads = 2;
  std::string kv_dtype = "bf16";
  app.add_option("--tokens", tokens, "cached tokens per KV head")->check(CLI::Range(int64_t{64}, int64_t{1} << 24));
  app.add_option("--layers", layers, "layers (each its own cache)")->check(CLI::Range(1, 1024));
  app.add_option("--kv-heads", kv_heads, "KV heads per layer")->check(CLI::Range(1, 1024));
  app.add_option("--dim", dim, "head dim (a multiple of 16)")->check(CLI::Range(16, 1024));
  app.add_option("--kv-dtype", kv_dtype, "KV cache: fp32, bf16 or f16");
  app.add_option("--rounds", rounds, "rounds (each times all seven once)")->check(CLI::Range(1, 1000));
  app.add_option("--threads", threads, "threads")->check(CLI::Range(1, 1024));
  CLI11_PARSE(app, argc, argv);
  if (dim % 16 != 0) {
    fmt::print(stderr, "decode_stream_bench: --dim must be a multiple of 16; got {}\n", dim);
    return 2;
  }
  duo::core::set_threads(threads);
  const at::ScalarType st = duo::model::parse_dtype(kv_dtype, "--kv-dtype");
  const kc::RowType rt = st == at::kFloat ? kc::RowType::kF32 : st == at::kBFloat16 ? kc::RowType::kBF16 : kc::RowType::kF16;
  const int64_t s = tokens - tokens % 64, head_elems = s * dim, elem = st == at::kFloat ? 4 : 2;

  at::manual_seed(0);
  std::vector<at::Tensor> ks, vs;  // [H, S, D] per layer
  for (int64_t l = 0; l < layers; ++l) {
    ks.push_back(at::randn({kv_heads, s, dim}).to(st));
    vs.push_back(at::randn({kv_heads, s, dim}).to(st));
  }
  std::vector<int64_t> pos(static_cast<size_t>(s)), heads(static_cast<size_t>(kv_heads));
  for (int64_t i = 0; i < s; ++i) pos[static_cast<size_t>(i)] = i;
  for (int64_t h = 0; h < kv_heads; ++h) heads[static_cast<size_t>(h)] = h;
  const at::Tensor q = at::randn({kv_heads, dim});
  std::vector<float> out(static_cast<size_t>(kv_heads * dim)), sink(static_cast<size_t>(kv_heads));
  kc::DecodeParams params;
  constexpr int64_t kBlock = 2048;
  auto head_ptr = [&](const at::Tensor& t, int64_t h) {
    return static_cast<const char*>(t.data_ptr()) + h * head_elems * elem;
  };

  auto attention = [&] {
    for (int64_t l = 0; l < layers; ++l) {
      kc::RowGroup g;
      g.k = ks[l].data_ptr();
      g.v = vs[l].data_ptr();
      g.type = rt;
      g.heads = kv_heads;
      g.slots = s;
      g.head_stride = head_elems;
      g.pos = pos.data();
      g.contiguous = true;
      g.kv_heads = heads.data();
      kc::decode_rows(q.data_ptr<float>(), 1, dim, s - 1, &g, 1, params, out.data());
    }
  };
  auto stream = [&](bool values) {
    for (int64_t l = 0; l < layers; ++l)
      kc::run_tasks(kv_heads, [&](int64_t h) {
        float x = stream_sum(head_ptr(ks[l], h), head_elems, rt);
        if (values) x += stream_sum(head_ptr(vs[l], h), head_elems, rt);
        sink[static_cast<size_t>(h)] += x;
      });
  };
  auto k_pass = [&] {
    for (int64_t l = 0; l < layers; ++l)
      kc::run_tasks(kv_heads, [&](int64_t h) {
        std::vector<float> scores(kBlock);
        for (int64_t b = 0; b < s; b += kBlock)
          kc::dot_rows_typed(q.data_ptr<float>() + h * dim, 1, head_ptr(ks[l], h) + b * dim * elem,
                             std::min(kBlock, s - b), dim, dim, scores.data(), rt);
        sink[static_cast<size_t>(h)] += scores[0];
      });
  };
  auto v_pass = [&] {
    const std::vector<float> p(kBlock, 1.0f / static_cast<float>(s));
    for (int64_t l = 0; l < layers; ++l)
      kc::run_tasks(kv_heads, [&](int64_t h) {
        std::vector<float> o(static_cast<size_t>(dim));
        for (int64_t b = 0; b < s; b += kBlock)
          kc::accumulate_rows_typed(p.data(), 1, head_ptr(vs[l], h) + b * dim * elem, std::min(kBlock, s - b), dim,
                                    dim, o.data(), rt);
        sink[static_cast<size_t>(h)] += o[0];
      });
  };

  // What duo bench's bandwidth bound measures (eval/system_stats.h): at::sum over one fp32 buffer,
  // here of the cache's size.
  const at::Tensor flat = at::ones({static_cast<int64_t>(kv_bytes_total(layers, kv_heads, head_elems, elem) / 4)});
  volatile float sum_sink = 0.0f;
  // What duo bench's bound times now (kernels/cpu/stream_read.h): a plain read of the cache's own
  // bytes, head by head.
  std::vector<kc::ByteRange> cache_ranges;
  for (int64_t l = 0; l < layers; ++l)
    for (const at::Tensor* t : {&ks[l], &vs[l]}) cache_ranges.push_back({t->data_ptr(), t->numel() * elem});
  volatile uint64_t read_sink = 0;
  struct Side {
    const char* name;
    std::function<void()> run;
    double bytes;
    std::vector<double> ms;
  };
  const double kv_bytes = kv_bytes_total(layers, kv_heads, head_elems, elem);
  std::vector<Side> sides = {{"attention", attention, kv_bytes, {}},
                             {"stream", [&] { stream(true); }, kv_bytes, {}},
                             {"K pass", k_pass, kv_bytes / 2, {}},
                             {"V pass", v_pass, kv_bytes / 2, {}},
                             {"K stream", [&] { stream(false); }, kv_bytes / 2, {}},
                             {"at::sum", [&] { sum_sink += flat.sum().item<float>(); }, kv_bytes, {}},
                             {"plain read", [&] { read_sink = read_sink + kc::stream_read(cache_ranges); }, kv_bytes, {}}};
  for (int r = -1; r < rounds; ++r)  // round -1: warm-up
    for (auto& side : sides) {
      const double t0 = now_ms();
      side.run();
      if (r >= 0) side.ms.push_back(now_ms() - t0);
    }
  fmt::print("decode attention vs a plain read, {} layers x {} KV heads x {} tokens (D {}), KV {}, {:.0f} MiB, "
             "{} threads, {} rounds; AVX-512: {}\n",
             layers, kv_heads, s, dim, kv_dtype, kv_bytes / (1 << 20), threads, rounds,
             kc::cpu_has_avx512f() ? "yes" : "no");
  for (const auto& side : sides)
    fmt::print("  {:>9}: {:8.2f} ms  {:6.1f} GB/s\n", side.name, median(side.ms), side.bytes / (median(side.ms) * 1e6));
  fmt::print("  attention / stream {:.2f}, K pass / K stream {:.2f}, V pass / K stream {:.2f}, attention / at::sum "
             "{:.2f}, stream / at::sum {:.2f}, plain read / at::sum {:.2f}, attention / plain read {:.2f}\n",
             median(sides[0].ms) / median(sides[1].ms), median(sides[2].ms) / median(sides[4].ms),
             median(sides[3].ms) / median(sides[4].ms), median(sides[0].ms) / median(sides[5].ms),
             median(sides[1].ms) / median(sides[5].ms), median(sides[6].ms) / median(sides[5].ms),
             median(sides[0].ms) / median(sides[6].ms));
  return sink[0] == 12345.0f ? 1 : 0;  // keeps the reads observable
}
