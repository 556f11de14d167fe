// Capacity in a memory budget (see capacity.h).
#include "eval/capacity.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <fmt/format.h>

#include <algorithm>

#include "core/error.h"
#include "core/limits.h"
#include "core/log.h"
#include "core/memory.h"
#include "eval/system_stats.h"
#include "runtime/decoder.h"

namespace duo::eval {

namespace {

constexpr int64_t kDecodeSteps = 4;      // decode steps after each prefill (their working set counts)
constexpr int64_t kPositionBytes = 8;    // int64 slot position per cached token per store

double gib(int64_t b) { return static_cast<double>(b) / (1024.0 * 1024.0 * 1024.0); }
double mib(int64_t b) { return static_cast<double>(b) / (1024.0 * 1024.0); }

// The KV formula of one layout at `elem` bytes an element, as per-token and ring bytes.
CapacitySide kv_side(const runtime::HeadLayout& layout, int64_t head_dim, int64_t elem) {
  CapacitySide s;
  const int64_t slots = layout.window.slots();
  for (int64_t l = 0; l < layout.n_layers; ++l) {
    const auto hf = static_cast<int64_t>(layout.full[static_cast<size_t>(l)].size());
    const auto hs = static_cast<int64_t>(layout.stream[static_cast<size_t>(l)].size());
    if (hf > 0) s.kv_bytes_per_token += hf * 2 * head_dim * elem + kPositionBytes;
    if (hs > 0) s.kv_ring_bytes += hs * slots * 2 * head_dim * elem + slots * kPositionBytes;
  }
  return s;
}

int64_t kv_at(const CapacitySide& s, int64_t tokens, int64_t slots) {
  return s.kv_bytes_per_token * tokens + (tokens >= slots ? s.kv_ring_bytes : s.kv_ring_bytes / slots * tokens);
}

// Prefill `tokens` random ids in chunks, decode a few steps; returns the run's peak resident bytes.
int64_t peak_of_run(const model::Model& model, const runtime::HeadLayout& layout, int64_t tokens,
                    const CapacityOptions& opts) {
  c10::NoGradGuard no_grad;
  core::release_free_memory();
  reset_peak_rss();
  {
    auto gen = at::detail::createCPUGenerator(static_cast<uint64_t>(opts.seed + tokens));
    auto ids = at::randint(3, model.config().vocab_size, {tokens}, gen, at::TensorOptions().dtype(at::kLong));
    runtime::Decoder dec(model, layout, tokens + kDecodeSteps, opts.kv_dtype);
    int64_t next = dec.prefill(ids, opts.prefill_chunk).argmax().item<int64_t>();
    for (int64_t i = 0; i < kDecodeSteps; ++i) next = dec.step(next).argmax().item<int64_t>();
  }
  return peak_rss_bytes();
}

}  // namespace

void check_capacity_options(const CapacityOptions& opts) {
  const int64_t ram = core::physical_memory_bytes();
  DUO_CHECK(opts.memory_gib > 0 && (ram <= 0 || opts.memory_gib <= gib(ram)),
            "bench: key 'memory_gib' (--memory-gib) must be > 0 and at most this machine's {:.1f} GiB; got {}",
            gib(ram), opts.memory_gib);
  DUO_CHECK(opts.prefill_chunk > 0,
            "bench: --memory-gib needs a prefill chunk > 0 (lean prefill: memory weights + KV + O(chunk)); got "
            "prefill_chunk {} (0 = whole prompt, whose activations grow with the context)",
            opts.prefill_chunk);
}

CapacityReport run_capacity(const model::Model& model, const runtime::HeadLayout& mask, const CapacityOptions& opts,
                            bool quiet) {
  check_capacity_options(opts);
  const auto& cfg = model.config();
  const at::ScalarType kv = opts.kv_dtype.value_or(model.options().dtype);
  const int64_t elem = static_cast<int64_t>(c10::elementSize(kv));
  const auto full_layout = runtime::HeadLayout::all_full(mask.n_layers, mask.n_kv_heads);
  const int64_t slots = mask.window.slots();
  CapacityReport r;
  r.memory_gib = opts.memory_gib;
  r.kv_dtype = model::dtype_name(kv);
  r.prefill_chunk = opts.prefill_chunk;
  r.max_position_embeddings = cfg.max_position_embeddings;
  r.full = kv_side(full_layout, cfg.head_dim, elem);
  r.duo = kv_side(mask, cfg.head_dim, elem);

  // The fixed cost: one run of two chunks with every head full (a chunk over a cache: the prefill's
  // largest working set), minus the cache it allocated.
  r.probe_tokens = 2 * opts.prefill_chunk;
  if (!quiet) core::log_info("capacity: measuring the fixed cost ({} tokens, full attention) ...", r.probe_tokens);
  r.probe_peak_bytes = peak_of_run(model, full_layout, r.probe_tokens, opts);
  r.fixed_bytes = r.probe_peak_bytes - kv_at(r.full, r.probe_tokens + kDecodeSteps, slots);

  const double budget = opts.memory_gib * 1024.0 * 1024.0 * 1024.0;
  for (CapacitySide* s : {&r.full, &r.duo}) {
    const double room = budget - static_cast<double>(r.fixed_bytes) - static_cast<double>(s->kv_ring_bytes);
    s->max_tokens = room <= 0 || s->kv_bytes_per_token <= 0
                        ? (room > 0 ? INT64_MAX : 0)
                        : static_cast<int64_t>(room / static_cast<double>(s->kv_bytes_per_token)) - kDecodeSteps;
    s->max_tokens = std::max<int64_t>(0, s->max_tokens);
  }
  if (opts.check && r.full.max_tokens > 0) {
    r.check_tokens = r.full.max_tokens;
    if (!quiet) core::log_info("capacity: checking {} tokens with full attention ...", r.check_tokens);
    r.check_peak_bytes = peak_of_run(model, full_layout, r.check_tokens, opts);
    r.check_predicted_bytes = r.fixed_bytes + kv_at(r.full, r.check_tokens + kDecodeSteps, slots);
    r.checked = true;
  }
  return r;
}

nlohmann::json CapacityReport::to_json() const {
  auto side = [](const CapacitySide& s) {
    return nlohmann::json{{"kv_bytes_per_token", s.kv_bytes_per_token},
                          {"kv_ring_bytes", s.kv_ring_bytes},
                          {"max_tokens", s.max_tokens}};
  };
  nlohmann::json j = {{"memory_gib", memory_gib},
                      {"kv_dtype", kv_dtype},
                      {"prefill_chunk", prefill_chunk},
                      {"fixed_bytes", fixed_bytes},
                      {"probe_tokens", probe_tokens},
                      {"probe_peak_bytes", probe_peak_bytes},
                      {"max_position_embeddings", max_position_embeddings},
                      {"full", side(full)},
                      {"duo", side(duo)}};
  if (checked) {
    j["check"] = {{"tokens", check_tokens},
                  {"peak_rss_bytes", check_peak_bytes},
                  {"predicted_bytes", check_predicted_bytes},
                  {"fits", static_cast<double>(check_peak_bytes) <= memory_gib * 1073741824.0}};
  }
  return j;
}

std::string CapacityReport::table() const {
  std::string out = fmt::format(
      "capacity in {:.2f} GiB | KV {} | prefill chunk {} | fixed {:.1f} MiB (measured: peak {:.1f} MiB at {} tokens "
      "minus its KV)\n",
      memory_gib, kv_dtype, prefill_chunk, mib(fixed_bytes), mib(probe_peak_bytes), probe_tokens);
  out += fmt::format("{:>6} {:>14} {:>12} {:>14}\n", "heads", "KV_B/token", "ring_MiB", "max_tokens");
  for (const auto* s : {&full, &duo}) {
    const std::string tokens = s->max_tokens == INT64_MAX ? "unbounded" : fmt::format("{}", s->max_tokens);
    out += fmt::format("{:>6} {:>14} {:>12.2f} {:>14}\n", s == &full ? "full" : "duo", s->kv_bytes_per_token,
                       mib(s->kv_ring_bytes), tokens);
  }
  if (full.max_tokens > max_position_embeddings || duo.max_tokens > max_position_embeddings) {
    out += fmt::format("        note: the model's max_position_embeddings is {}; longer contexts fit in memory only\n",
                       max_position_embeddings);
  }
  if (checked) {
    out += fmt::format("        check: full attention at {} tokens peaked at {:.1f} MiB (predicted {:.1f} MiB, budget "
                       "{:.1f} MiB): {}\n",
                       check_tokens, mib(check_peak_bytes), mib(check_predicted_bytes), memory_gib * 1024.0,
                       static_cast<double>(check_peak_bytes) <= memory_gib * 1073741824.0 ? "fits" : "DOES NOT FIT");
  }
  return out;
}

}  // namespace duo::eval
