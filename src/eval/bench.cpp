// Side-by-side efficiency benchmark (see bench.h).
#include "eval/bench.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <c10/core/GradMode.h>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>

#include "core/blas_info.h"
#include "core/error.h"
#include "core/limits.h"
#include "core/log.h"
#include "core/memory.h"
#include "core/threads.h"
#include "eval/system_stats.h"
#include "kernels/cpu/decode_attention.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/stream_read.h"
#include "runtime/decoder.h"

namespace duo::eval {

namespace {

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Keeps the plain reads observable.
volatile uint64_t read_checksum = 0;

}  // namespace

std::vector<kernels::cpu::ByteRange> decode_step_ranges(const model::Model& model, const runtime::SplitKVCache& cache) {
  std::vector<kernels::cpu::ByteRange> out;
  for (const auto& [name, t] : model.named_weights()) {
    if (name == "model.embed_tokens.weight" && !model.config().tie_word_embeddings) continue;
    out.push_back({t.data_ptr(), t.numel() * static_cast<int64_t>(t.element_size())});
  }
  const int64_t d = cache.head_dim();
  for (int64_t l = 0; l < cache.layout().n_layers; ++l) {
    kernels::cpu::RowGroup groups[2];
    runtime::HeadKind kinds[2];
    const int64_t n = cache.row_groups(l, groups, kinds);
    for (int64_t i = 0; i < n; ++i) {
      const auto& g = groups[i];
      const int64_t elem = g.type == kernels::cpu::RowType::kF32 ? 4 : 2;
      for (int64_t h = 0; h < g.heads; ++h)
        for (const void* base : {g.k, g.v})
          out.push_back({static_cast<const char*>(base) + h * g.head_stride * elem, g.slots * d * elem});
    }
  }
  return out;
}

namespace {

BenchSide run_side(const model::Model& model, const runtime::HeadLayout& layout, int64_t tokens,
                   const BenchOptions& opts, int64_t weight_bytes) {
  c10::NoGradGuard no_grad;
  auto gen = at::detail::createCPUGenerator(static_cast<uint64_t>(opts.seed + tokens));
  auto ids = at::randint(3, model.config().vocab_size, {tokens}, gen, at::TensorOptions().dtype(at::kLong));
  BenchSide s;
  s.ran = true;
  runtime::Decoder dec(model, layout, tokens + opts.decode_tokens, opts.kv_dtype);
  double t0 = now_seconds();
  double c0 = process_cpu_seconds();
  int64_t next = dec.prefill(ids, opts.prefill_chunk).argmax().item<int64_t>();
  s.prefill_seconds = now_seconds() - t0;
  s.prefill_cpu_seconds = process_cpu_seconds() - c0;
  // Each step, then a plain read of what the step read (its CPU time kept out of decode_cpu).
  std::vector<double> ms, read_ms;
  double cpu = 0.0;
  for (int64_t i = 0; i < opts.decode_tokens; ++i) {
    c0 = process_cpu_seconds();
    t0 = now_seconds();
    next = dec.step(next).argmax().item<int64_t>();
    ms.push_back(1000.0 * (now_seconds() - t0));
    cpu += process_cpu_seconds() - c0;
    const std::vector<kernels::cpu::ByteRange> ranges = decode_step_ranges(model, dec.cache());
    t0 = now_seconds();
    read_checksum = read_checksum + kernels::cpu::stream_read(ranges);
    read_ms.push_back(1000.0 * (now_seconds() - t0));
    s.read_bytes = 0;
    for (const auto& r : ranges) s.read_bytes += r.bytes;
  }
  s.decode_cpu_ms_per_token = 1000.0 * cpu / static_cast<double>(opts.decode_tokens);
  if (!ms.empty()) {
    std::sort(ms.begin(), ms.end());
    s.decode_ms_per_token = ms[ms.size() / 2];
    s.decode_ms_min = ms.front();
    std::sort(read_ms.begin(), read_ms.end());
    s.read_ms = read_ms[read_ms.size() / 2];
  }
  s.kv_bytes = dec.cache().bytes();
  s.kv_used_bytes = dec.cache().used_bytes();
  s.bytes_per_token = weight_bytes + s.kv_used_bytes;
  s.bound_ms = s.read_bytes > 0 ? s.read_ms * static_cast<double>(s.bytes_per_token) / static_cast<double>(s.read_bytes)
                                : 0.0;
  s.peak_rss_bytes = peak_rss_bytes();
  return s;
}

double ratio(double a, double b) { return b > 0 ? a / b : 0.0; }

nlohmann::json side_json(const BenchSide& s) {
  return {{"prefill_seconds", s.prefill_seconds},
          {"decode_ms_per_token", s.decode_ms_per_token},
          {"decode_ms_min", s.decode_ms_min},
          {"prefill_cpu_seconds", s.prefill_cpu_seconds},
          {"decode_cpu_ms_per_token", s.decode_cpu_ms_per_token},
          {"kv_bytes", s.kv_bytes},
          {"kv_used_bytes", s.kv_used_bytes},
          {"peak_rss_bytes", s.peak_rss_bytes},
          {"bytes_read_per_token", s.bytes_per_token},
          {"plain_read_bytes", s.read_bytes},
          {"plain_read_ms", s.read_ms},
          {"plain_read_gb_per_s", s.read_ms > 0 ? static_cast<double>(s.read_bytes) / (s.read_ms * 1e6) : 0.0},
          {"bandwidth_bound_ms", s.bound_ms},
          {"bandwidth_gb_per_s", s.bandwidth_gb_per_s},
          {"sum_bandwidth_bound_ms", s.sum_bound_ms}};
}

double mib(int64_t b) { return static_cast<double>(b) / (1024.0 * 1024.0); }

}  // namespace

int64_t weight_bytes_per_token(const model::Model& model) {
  const auto& cfg = model.config();
  int64_t b = 0;
  for (const auto& [name, t] : model.named_weights()) {
    const int64_t bytes = t.numel() * static_cast<int64_t>(t.element_size());
    if (name == "model.embed_tokens.weight") {
      b += cfg.tie_word_embeddings ? bytes : bytes / cfg.vocab_size;  // tied: read whole as the LM head
    } else {
      b += bytes;
    }
  }
  return b;
}

void check_bench_options(const BenchOptions& opts) {
  DUO_CHECK(!opts.contexts.empty(), "bench: --contexts is empty; expected e.g. 4096,16384,32768");
  for (size_t i = 0; i < opts.contexts.size(); ++i) {
    DUO_CHECK(opts.contexts[i] >= 1, "bench: key 'contexts[{}]' (--contexts) must be >= 1 token; got {}", i,
              opts.contexts[i]);
  }
  DUO_CHECK(opts.decode_tokens >= 1, "bench: --decode-tokens must be >= 1; got {}", opts.decode_tokens);
  DUO_CHECK(opts.prefill_chunk >= 0, "bench: key 'prefill_chunk' must be >= 0 (0 = whole prompt); got {}",
            opts.prefill_chunk);
  if (opts.kv_dtype) runtime::check_kv_dtype(*opts.kv_dtype, "bench: key 'kv_dtype' (--kv-dtype)");
  // The bandwidth buffer is allocated and read: at most half the machine's memory.
  const int64_t ram_mib = core::physical_memory_bytes() >> 20;
  const int64_t most = ram_mib > 0 ? ram_mib / 2 : INT64_MAX >> 20;
  DUO_CHECK(opts.bandwidth_mib >= 1 && opts.bandwidth_mib <= most,
            "bench: --bandwidth-mib must be in [1, {}] (half of this machine's {} MiB); got {}", most, ram_mib,
            opts.bandwidth_mib);
}

BenchReport run_bench(const model::Model& model, const runtime::HeadLayout& mask, const BenchOptions& opts,
                      bool quiet) {
  check_bench_options(opts);
  const int64_t max_pos = model.config().max_position_embeddings;
  for (int64_t t : opts.contexts) {
    if (t + opts.decode_tokens > max_pos) {
      core::log_warn("bench: context {} + {} decode tokens is past the model's max_position_embeddings ({}); "
                     "timings are valid, outputs would not be", t, opts.decode_tokens, max_pos);
      break;
    }
  }
  BenchReport r;
  r.kv_dtype = model::dtype_name(opts.kv_dtype.value_or(model.options().dtype));
  r.weight_dtype = model::dtype_name(model.weight_dtype());
  r.threads = at::get_num_threads();
  r.weight_bytes = weight_bytes_per_token(model);
  r.rss_before_bytes = current_rss_bytes();
  r.sparsity = static_cast<double>(mask.total_stream()) / static_cast<double>(mask.n_layers * mask.n_kv_heads);
  // Read bandwidth before the runs and after each: a shared machine's bandwidth drifts (one
  // scripted 32K run measured 62.7 GB/s before its runs and 33.8 GB/s after them), and a run's
  // decode steps come at its end, minutes after its start; so each run's bound uses the better of
  // the measurements on either side of it. The buffer may only sit between runs where VmHWM can be
  // reset, else it would be their peak; there, one measurement after all runs serves every run.
  auto measure = [&] { return measure_read_bandwidth(opts.bandwidth_mib << 20).read_gb_per_s; };
  r.peak_per_side = reset_peak_rss();
  if (r.peak_per_side) r.bandwidth_before_gb_per_s = measure();
  double last_gb_per_s = r.bandwidth_before_gb_per_s;
  auto bracket = [&](BenchSide& s) {
    if (!r.peak_per_side) return;
    const double now = measure();
    s.bandwidth_gb_per_s = std::max(last_gb_per_s, now);
    last_gb_per_s = now;
  };
  auto contexts = opts.contexts;
  std::sort(contexts.begin(), contexts.end());
  for (int64_t t : contexts) {
    DUO_CHECK(t >= 1, "bench: context lengths must be >= 1; got {}", t);
    r.rows.push_back(BenchRow{t, {}, {}});
  }
  const auto full = runtime::HeadLayout::all_full(mask.n_layers, mask.n_kv_heads);
  for (auto& row : r.rows) {
    if (!quiet) core::log_info("bench: mask, {} tokens ...", row.tokens);
    core::release_free_memory();  // each run's peak is its own
    reset_peak_rss();
    row.duo = run_side(model, mask, row.tokens, opts, r.weight_bytes);
    bracket(row.duo);
    if (!quiet)
      core::log_info("bench: mask, {} tokens: prefill {:.2f} s, decode {:.2f} ms/token", row.tokens,
                     row.duo.prefill_seconds, row.duo.decode_ms_per_token);
  }
  if (!opts.skip_full) {
    for (auto& row : r.rows) {
      if (!quiet) core::log_info("bench: full, {} tokens ...", row.tokens);
      core::release_free_memory();
      reset_peak_rss();
      row.full = run_side(model, full, row.tokens, opts, r.weight_bytes);
      bracket(row.full);
      if (!quiet)
        core::log_info("bench: full, {} tokens: prefill {:.2f} s, decode {:.2f} ms/token", row.tokens,
                       row.full.prefill_seconds, row.full.decode_ms_per_token);
    }
  }
  // Bandwidth last (the last run's bracket where there is one): its buffer must not raise the peak
  // resident memory of the runs.
  r.bandwidth_after_gb_per_s = r.peak_per_side ? last_gb_per_s : measure();
  r.bandwidth_gb_per_s = std::max(r.bandwidth_before_gb_per_s, r.bandwidth_after_gb_per_s);
  for (auto& row : r.rows) {
    for (BenchSide* s : {&row.full, &row.duo}) {
      if (!s->ran) continue;
      if (!r.peak_per_side) s->bandwidth_gb_per_s = r.bandwidth_gb_per_s;
      s->sum_bound_ms = 1000.0 * static_cast<double>(s->bytes_per_token) / (s->bandwidth_gb_per_s * 1e9);
    }
  }
  return r;
}

nlohmann::json BenchReport::to_json() const {
  nlohmann::json rows_j = nlohmann::json::array();
  for (const auto& row : rows) {
    nlohmann::json j = {{"tokens", row.tokens}, {"duo", side_json(row.duo)}};
    if (row.full.ran) {
      const double speedup = ratio(row.full.decode_ms_per_token, row.duo.decode_ms_per_token);
      const double bytes_ratio = ratio(static_cast<double>(row.full.bytes_per_token), static_cast<double>(row.duo.bytes_per_token));
      j["full"] = side_json(row.full);
      j["ratios"] = {{"decode_speedup", speedup},
                     {"bytes_read_ratio", bytes_ratio},
                     {"decode_speedup_over_bytes_ratio", ratio(speedup, bytes_ratio)},
                     {"full_decode_over_bandwidth_bound", ratio(row.full.decode_ms_per_token, row.full.bound_ms)},
                     {"duo_decode_over_bandwidth_bound", ratio(row.duo.decode_ms_per_token, row.duo.bound_ms)},
                     {"full_decode_over_sum_bandwidth_bound",
                      ratio(row.full.decode_ms_per_token, row.full.sum_bound_ms)},
                     {"prefill_speedup", ratio(row.full.prefill_seconds, row.duo.prefill_seconds)},
                     {"kv_bytes_ratio", ratio(static_cast<double>(row.duo.kv_bytes), static_cast<double>(row.full.kv_bytes))}};
    }
    rows_j.push_back(j);
  }
  return {{"model", model},
          {"mask", mask},
          {"kv_dtype", kv_dtype},
          {"weight_dtype", weight_dtype},
          {"threads", threads},
          {"thread_env", core::thread_env_summary()},
          {"gemm", kernels::cpu::gemm_summary()},
          {"blas", core::blas_summary()},
          {"sparsity", sparsity},
          {"weight_bytes_per_token", weight_bytes},
          {"rss_before_runs_bytes", rss_before_bytes},
          {"peak_rss_source", peak_per_side ? "VmHWM from /proc/self/status, reset before each run (that run's own peak)"
                                            : "VmHWM from /proc/self/status after each run; masked runs first, then full"},
          {"bandwidth_gb_per_s", bandwidth_gb_per_s},
          {"bandwidth_before_runs_gb_per_s", bandwidth_before_gb_per_s},
          {"bandwidth_after_runs_gb_per_s", bandwidth_after_gb_per_s},
          {"bound_method",
           "bandwidth_bound_ms: a plain read (64-byte loads, integer sums, on the task pool) of exactly the bytes a "
           "decode step reads, timed after each step, median, scaled to bytes_read_per_token"},
          {"bandwidth_method",
           peak_per_side ? "best of 5 sums over a float32 buffer (read only), before the runs and after each run; a "
                           "run's sum_bandwidth_bound_ms uses the larger of the measurements on either side of it"
                         : "best of 5 sums over a float32 buffer (read only), after the runs"},
          {"rows", rows_j}};
}

std::string BenchReport::table() const {
  std::string out = fmt::format(
      "model {} | mask {} (sparsity {:.3f}) | KV {} | weights {} | {} threads | 1 GiB-sum bandwidth {:.1f} GB/s "
      "(before {:.1f}, after {:.1f}) | weights {:.1f} MiB/token | gemm {} | BLAS {}\n",
      model, mask, sparsity, kv_dtype, weight_dtype, threads, bandwidth_gb_per_s, bandwidth_before_gb_per_s, bandwidth_after_gb_per_s,
      mib(weight_bytes), kernels::cpu::gemm_summary(),
      core::openblas_core().empty() ? "not OpenBLAS" : "OpenBLAS " + core::openblas_core());
  out += fmt::format("{:>7} {:>5} {:>10} {:>10} {:>11} {:>10} {:>9} {:>6} {:>12} {:>10} {:>10}\n", "tokens", "heads",
                     "prefill_s", "prefill_cpu", "decode_ms", "decode_cpu", "bound_ms", "GB/s", "read_MiB/tok", "kv_MiB",
                     "peak_MiB");
  out += "(bound_ms and GB/s: a plain read of the bytes each decode step reads, timed after every step)\n";
  for (const auto& row : rows) {
    for (const auto* s : {&row.full, &row.duo}) {
      if (!s->ran) continue;
      out += fmt::format("{:>7} {:>5} {:>10.2f} {:>10.2f} {:>11.2f} {:>10.2f} {:>9.2f} {:>6.1f} {:>12.1f} {:>10.1f} "
                         "{:>10.1f}\n",
                         row.tokens, s == &row.full ? "full" : "duo", s->prefill_seconds, s->prefill_cpu_seconds,
                         s->decode_ms_per_token, s->decode_cpu_ms_per_token, s->bound_ms,
                         s->read_ms > 0 ? static_cast<double>(s->read_bytes) / (s->read_ms * 1e6) : 0.0,
                         mib(s->bytes_per_token),
                         mib(s->kv_bytes), mib(s->peak_rss_bytes));
    }
    if (row.full.ran) {
      const double speedup = ratio(row.full.decode_ms_per_token, row.duo.decode_ms_per_token);
      const double bytes_ratio = ratio(static_cast<double>(row.full.bytes_per_token), static_cast<double>(row.duo.bytes_per_token));
      out += fmt::format(
          "        ratios: decode speedup {:.2f}x, bytes-read ratio {:.2f}x (speedup / ratio {:.2f}), full decode / "
          "bound {:.2f} (against the 1 GiB sums: {:.2f}), prefill speedup {:.2f}x, KV {:.3f} of full\n",
          speedup, bytes_ratio, ratio(speedup, bytes_ratio), ratio(row.full.decode_ms_per_token, row.full.bound_ms),
          ratio(row.full.decode_ms_per_token, row.full.sum_bound_ms),
          ratio(row.full.prefill_seconds, row.duo.prefill_seconds),
          ratio(static_cast<double>(row.duo.kv_bytes), static_cast<double>(row.full.kv_bytes)));
    }
  }
  return out;
}

}  // namespace duo::eval
