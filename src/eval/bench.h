// Efficiency benchmark: full attention and a head mask side by side in one process, per context
// length: prefill time, decode ms/token (median over steps), KV-cache bytes, peak resident memory
// and the ratios; plus the decode step's bandwidth bound: the time of a plain read of the bytes a
// step reads, timed alternately with the steps (so a shared machine's drift hits both alike).
// The read bandwidth of 1 GiB sums before and after each run is reported beside it.
//
// Bytes read per decoded token = weight bytes (every parameter except the embedding table, of
// which one row is read; a tied table counts once, as the LM head) + the KV bytes that hold
// tokens at the end of the run (full heads: T, streaming heads: min(T, sink + recent)).
//
// Order: every masked run (contexts ascending) before every full run, so that the peak resident
// memory (VmHWM, monotonic) after each masked run is not inflated by a full-attention cache;
// KV buffer bytes, from the buffers actually allocated, are the primary memory number.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "kernels/cpu/stream_read.h"
#include "model/model.h"
#include "runtime/decoder.h"
#include "runtime/head_layout.h"

namespace duo::eval {

struct BenchOptions {
  std::vector<int64_t> contexts = {4096, 16384, 32768};  // prompt lengths in tokens
  int64_t decode_tokens = 16;                             // decode steps timed after each prefill
  int64_t prefill_chunk = runtime::kDefaultPrefillChunk;  // 0 = whole prompt at once
  int64_t bandwidth_mib = 1024;                           // buffer summed for the bandwidth (MiB)
  int64_t seed = 0;                                       // prompt ids
  bool skip_full = false;                                 // masked runs only
  // KV cache dtype of both sides; none = the model's. Not a YAML key here: the command sets it
  // from its kv_dtype (cli::StorageOptions).
  std::optional<at::ScalarType> kv_dtype;

  template <class V>
  void visit(V& v) {
    v("contexts", contexts, "prompt lengths in tokens");
    v("decode_tokens", decode_tokens, "decode steps timed per run (median reported)");
    v("prefill_chunk", prefill_chunk, "prefill chunk size in tokens; 0 = whole prompt");
    v("bandwidth_mib", bandwidth_mib, "buffer summed to measure the read bandwidth (MiB)");
    v("seed", seed, "seed of the random prompt ids");
    v("skip_full", skip_full, "run the mask only (no full-attention baseline)");
  }
};

// Throws, naming the key, for a value outside its domain (contexts >= 1, decode_tokens >= 1,
// prefill_chunk >= 0, 1 <= bandwidth_mib <= half the physical memory). Call before loading.
void check_bench_options(const BenchOptions& opts);

struct BenchSide {
  double prefill_seconds = 0.0;
  double decode_ms_per_token = 0.0;  // median over steps
  double decode_ms_min = 0.0;
  double prefill_cpu_seconds = 0.0;   // process CPU time (all threads) of the prefill
  double decode_cpu_ms_per_token = 0.0;  // process CPU time per decode step (mean)
  int64_t kv_bytes = 0;              // K/V buffers allocated
  int64_t kv_used_bytes = 0;         // K/V slots holding tokens after decoding
  int64_t peak_rss_bytes = 0;        // VmHWM after this run
  int64_t bytes_per_token = 0;       // weights + kv_used_bytes
  // The bound: a plain read (kernels/cpu/stream_read.h) of the bytes a decode step reads (the
  // weight matrices and the KV cache in use), timed after every decode step; median.
  int64_t read_bytes = 0;            // bytes of that read (weights but the untied embedding + KV in use)
  double read_ms = 0.0;              // median time of that read
  double bound_ms = 0.0;             // read_ms scaled to bytes_per_token
  // The 1 GiB sums (eval/system_stats.h) around this run, as a second, coarser reference: the
  // larger of the measurements right before and right after it, and bytes_per_token at that rate.
  double bandwidth_gb_per_s = 0.0;
  double sum_bound_ms = 0.0;
  bool ran = false;
};

struct BenchRow {
  int64_t tokens = 0;
  BenchSide full;
  BenchSide duo;
};

struct BenchReport {
  std::string model;
  std::string mask;
  std::string kv_dtype;                // the cache's dtype, e.g. "bfloat16"
  std::string weight_dtype;            // how the weight matrices are stored, e.g. "float32"
  int threads = 0;
  double sparsity = 0.0;               // streaming heads / all heads
  int64_t weight_bytes = 0;            // weights read per decoded token
  int64_t rss_before_bytes = 0;        // VmRSS after loading, before any run
  double bandwidth_gb_per_s = 0.0;   // the larger of the two measurements below
  double bandwidth_before_gb_per_s = 0.0;  // measured before the runs (0 when not measured)
  double bandwidth_after_gb_per_s = 0.0;   // measured after the runs
  // Measured after each run as well where VmHWM can be reset (the buffer then never counts in a
  // run's peak); each run's bound uses the measurements on either side of it (BenchSide).
  bool peak_per_side = false;          // VmHWM was reset before each run
  std::vector<BenchRow> rows;

  nlohmann::json to_json() const;
  // A printable side-by-side table with the ratios.
  std::string table() const;
};

BenchReport run_bench(const model::Model& model, const runtime::HeadLayout& mask, const BenchOptions& opts, bool quiet);

// Bytes one decoded token reads from the weights (see the file comment).
int64_t weight_bytes_per_token(const model::Model& model);

// The memory a decode step reads, as the bound's plain read reads it: every weight matrix but an
// untied embedding table (of which a step reads one row), and each cache store's slots as the
// one-token path visits them (SplitKVCache::row_groups: a full store's tokens, a ring's slots).
std::vector<kernels::cpu::ByteRange> decode_step_ranges(const model::Model& model, const runtime::SplitKVCache& cache);

}  // namespace duo::eval
