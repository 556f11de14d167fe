// Attention benchmark (issue 4): blockwise full and block-sparse streaming attention, forward
// and forward + backward, against plain fp32 matmul measured in the same run.
//
//   attention_bench [--sizes 4096,16384,32768] [--heads 8] [--kv-heads 8] [--dim 128]
//                   [--sink 64] [--recent 256] [--reps 3] [--threads 0] [--max-bwd-t 32768]
//
// GFLOP/s counts the useful work only: 4 * D flops per visible (query, key) pair and query head
// forward (Q K^T and P V), 2.5x that for the backward (5 matmuls). Peak memory comes from a
// counting CPU allocator installed over LibTorch's default one: the peak of live tensor bytes
// during a call minus the bytes live before it (inputs excluded). cpu_s is the process CPU time
// of the same run; frac_cpu compares flops per CPU-second with the matmul's, which stays
// meaningful on a shared machine where wall times are inflated by other processes. Times are medians of --reps
// runs after one warm-up run, except full attention at T > 8192: one run, no warm-up (a 32K
// forward + backward takes minutes on 2 cores). A decode line times one new token against a
// full cache of T keys (and the ATen baseline of tests/bench/aten_decode_baseline.h on the same
// cache) and against a sink + recent ring.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <c10/core/CPUAllocator.h>
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <ctime>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "aten_decode_baseline.h"
#include "core/stream_window.h"
#include "core/threads.h"
#include "kernels/cpu/decode_attention.h"
#include "kernels/cpu/flash_attention.h"
#include "kernels/cpu/vec_math.h"

namespace {

namespace kc = duo::kernels::cpu;

// Wraps the default CPU allocator and tracks live and peak bytes.
class CountingAllocator final : public c10::Allocator {
 public:
  explicit CountingAllocator(c10::Allocator* base) : base_(base) {}

  c10::DataPtr allocate(size_t n) const override {
    c10::DataPtr inner = base_->allocate(n);
    void* data = inner.get();
    auto* ctx = new Context{std::move(inner), n, this};
    const size_t now = live_.fetch_add(n) + n;
    size_t peak = peak_.load();
    while (now > peak && !peak_.compare_exchange_weak(peak, now)) {
    }
    return c10::DataPtr(data, ctx, &release, c10::Device(c10::DeviceType::CPU));
  }

  size_t live() const { return live_.load(); }
  void reset_peak() { peak_.store(live_.load()); }
  size_t peak() const { return peak_.load(); }

 private:
  struct Context {
    c10::DataPtr inner;
    size_t bytes;
    const CountingAllocator* owner;
  };
  static void release(void* p) {
    auto* ctx = static_cast<Context*>(p);
    ctx->owner->live_.fetch_sub(ctx->bytes);
    delete ctx;
  }

  c10::Allocator* base_;
  mutable std::atomic<size_t> live_{0};
  mutable std::atomic<size_t> peak_{0};
};

CountingAllocator* g_alloc = nullptr;

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Process CPU time (all threads): on a shared machine it shows how much work a run did even when
// wall time is inflated by other processes.
double cpu_s() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

struct Timing {
  double seconds;     // median wall time
  double cpu_seconds; // process CPU time of the median run
  double peak_bytes;
};

Timing measure(const std::function<void()>& fn, int reps, bool warmup) {
  if (warmup) fn();
  std::vector<std::pair<double, double>> times;  // (wall, cpu)
  double peak = 0;
  for (int r = 0; r < reps; ++r) {
    const size_t base = g_alloc->live();
    g_alloc->reset_peak();
    const double t0 = now_s(), c0 = cpu_s();
    fn();
    times.emplace_back(now_s() - t0, cpu_s() - c0);
    peak = std::max(peak, static_cast<double>(g_alloc->peak() - base));
  }
  std::sort(times.begin(), times.end());
  const auto& med = times[times.size() / 2];
  return Timing{med.first, med.second, peak};
}

// Visible (query, key) pairs of one head.
double visible_pairs(int64_t t, const duo::kernels::HeadMask& m) {
  double n = 0;
  for (int64_t i = 0; i < t; ++i) {
    if (!m.streaming) {
      n += static_cast<double>(i + 1);
    } else {
      const int64_t band_lo = std::max<int64_t>(0, i - m.window.recent + 1);
      n += static_cast<double>(i + 1 - band_lo) + static_cast<double>(std::min(m.window.sink, band_lo));
    }
  }
  return n;
}

}  // namespace

int main(int argc, char** argv) {
  duo::core::reexec_with_thread_env(argv);  // as `duo` does (core/threads.h)
  CLI::App app{"duo attention kernels benchmark"};
  std::vector<int64_t> sizes = {4096, 16384, 32768};
  int64_t heads = 8, kv_heads = 8, dim = 128, sink = 64, recent = 256, max_bwd_t = 32768;
  int reps = 3, threads = 0;
  app.add_option("--sizes", sizes, "sequence lengths")->delimiter(',');
  app.add_option("--heads", heads, "query heads");
  app.add_option("--kv-heads", kv_heads, "KV heads");
  app.add_option("--dim", dim, "head dim");
  app.add_option("--sink", sink, "streaming sink");
  app.add_option("--recent", recent, "streaming recent window");
  app.add_option("--reps", reps, "timed runs per measurement (median)");
  app.add_option("--threads", threads, "threads; 0 = all cores");
  app.add_option("--max-bwd-t", max_bwd_t, "skip the full forward + backward above this T");
  CLI11_PARSE(app, argc, argv);

  static CountingAllocator alloc(c10::GetDefaultCPUAllocator());
  g_alloc = &alloc;
  c10::SetCPUAllocator(&alloc, /*priority=*/100);
  const int nthreads = duo::core::set_threads(threads);

  // Baseline: fp32 GEMM 2048^3 with the same threads.
  const at::Tensor a = at::randn({2048, 2048}), b = at::randn({2048, 2048});
  const Timing mm = measure([&] { at::mm(a, b); }, 5, true);
  const double mm_gflops = 2.0 * 2048.0 * 2048.0 * 2048.0 / mm.seconds / 1e9;
  fmt::print("threads {}, AVX2 exp {}, matmul fp32 2048^3: {:.1f} GFLOP/s (wall {:.3f} s, cpu {:.3f} s)\n", nthreads,
             kc::vec_math_uses_avx2(), mm_gflops, mm.seconds, mm.cpu_seconds);
  fmt::print("Hq {}, Hkv {}, D {}, streaming sink {} recent {}\n", heads, kv_heads, dim, sink, recent);
  const double mm_cpu_rate = 2.0 * 2048.0 * 2048.0 * 2048.0 / mm.cpu_seconds;  // flops per CPU-second
  fmt::print("{:>6} {:<20} {:>9} {:>9} {:>9} {:>8} {:>8} {:>10} {:>12}\n", "T", "case", "time_s", "cpu_s", "GFLOP/s",
             "frac_mm", "frac_cpu", "peak_MiB", "peak_B/token");

  for (int64_t t : sizes) {
    at::manual_seed(0);
    const at::Tensor q = at::randn({heads, t, dim}), k = at::randn({kv_heads, t, dim}),
                     v = at::randn({kv_heads, t, dim});
    const at::Tensor dout = at::randn({heads, t, dim});
    kc::AttentionParams full;
    kc::AttentionParams stream;
    stream.streaming.assign(kv_heads, 1);
    stream.window = duo::StreamWindow::make(sink, recent, "--sink/--recent");
    const double fwd_flops_full = 4.0 * dim * heads * visible_pairs(t, full.mask(0));
    const double fwd_flops_stream = 4.0 * dim * heads * visible_pairs(t, stream.mask(0));
    // Full attention above 8K runs once without warm-up (a 32K forward + backward takes minutes on
    // 2 cores); streaming and everything up to 8K get a warm-up and the median of --reps.
    const bool warm = t <= 8192;
    const int r = t <= 8192 ? reps : 1;

    auto report = [&](const char* name, const Timing& tm, double flops) {
      const double gf = flops / tm.seconds / 1e9;
      const double frac_cpu = flops / tm.cpu_seconds / mm_cpu_rate;
      fmt::print("{:>6} {:<20} {:>9.3f} {:>9.3f} {:>9.1f} {:>8.3f} {:>8.3f} {:>10.1f} {:>12.0f}\n", t, name,
                 tm.seconds, tm.cpu_seconds, gf, gf / mm_gflops, frac_cpu, tm.peak_bytes / (1 << 20),
                 tm.peak_bytes / t);
      std::fflush(stdout);
    };
    const Timing ff = measure([&] { kc::flash_forward(q, k, v, full); }, r, warm);
    report("full fwd", ff, fwd_flops_full);
    const Timing sf = measure([&] { kc::flash_forward(q, k, v, stream); }, reps, true);
    report("streaming fwd", sf, fwd_flops_stream);
    const Timing sb = measure(
        [&] {
          kc::ForwardResult fr = kc::flash_forward(q, k, v, stream);
          kc::flash_backward(dout, q, k, v, fr.out, fr.lse, stream);
        },
        reps, true);
    report("streaming fwd+bwd", sb, 3.5 * fwd_flops_stream);
    if (t <= max_bwd_t) {
      const Timing fb = measure(
          [&] {
            kc::ForwardResult fr = kc::flash_forward(q, k, v, full);
            kc::flash_backward(dout, q, k, v, fr.out, fr.lse, full);
          },
          r, warm);
      report("full fwd+bwd", fb, 3.5 * fwd_flops_full);
      fmt::print("{:>6} streaming/full time: fwd {:.4f} (1/{:.0f}), fwd+bwd {:.4f} (1/{:.0f})\n", t,
                 sf.seconds / ff.seconds, ff.seconds / sf.seconds, sb.seconds / fb.seconds, fb.seconds / sb.seconds);
    } else {
      fmt::print("{:>6} streaming/full time: fwd {:.4f} (1/{:.0f})\n", t, sf.seconds / ff.seconds,
                 ff.seconds / sf.seconds);
    }
    // Decode: one new query per head against a full cache of T keys and against a sink + recent
    // ring (memory-bound: reports the KV bytes read per second).
    {
      const at::Tensor q1 = at::randn({heads, 1, dim}), k1 = at::randn({kv_heads, 1, dim}),
                       v1 = at::randn({kv_heads, 1, dim});
      const at::Tensor pos = at::arange(t, at::kLong);
      kc::DecodeParams dp;
      const Timing df = measure([&] { kc::decode_attention(q1, k1, v1, t, k, v, pos, dp); }, std::max(reps, 5), true);
      const int64_t slots = std::min(t, sink + recent);
      const at::Tensor rk = k.narrow(1, t - slots, slots), rv = v.narrow(1, t - slots, slots);
      const at::Tensor rpos = at::arange(t - slots, t, at::kLong);
      kc::DecodeParams ds;
      ds.mask = duo::kernels::HeadMask{true, stream.window, 0};
      const Timing dr = measure([&] { kc::decode_attention(q1, k1, v1, t, rk, rv, rpos, ds); }, std::max(reps, 5), true);
      // The ATen baseline (tests/bench/aten_decode_baseline.h) on the same full cache, same run.
      const Timing da = measure([&] { duo::bench::aten_decode_attention(q1, t, k, v, pos, duo::kernels::HeadMask{}); },
                                std::max(reps, 5), true);
      const double bytes = 2.0 * kv_heads * dim * 4.0;  // K and V bytes per cached token (fp32)
      fmt::print("{:>6} decode 1 token: full cache {:.2f} ms ({:.1f} GB/s of KV; ATen baseline {:.2f} ms, {:.2f}x), "
                 "ring of {} slots {:.3f} ms\n",
                 t, df.seconds * 1e3, bytes * t / df.seconds / 1e9, da.seconds * 1e3, da.seconds / df.seconds, slots,
                 dr.seconds * 1e3);
    }
  }
  return 0;
}
