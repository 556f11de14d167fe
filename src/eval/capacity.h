// Capacity: the longest context that fits in a memory budget, with full attention and with a head
// mask, for the model and dtypes given (`duo bench --memory-gib G`).
//
//   peak(T) = fixed + kv_bytes(T),  kv_bytes(T) = per_token * T + ring   (mask::kv_cache_bytes)
//
// per_token and ring come from the KV formula at the cache's element size (full heads hold every
// token; streaming heads a ring of sink + recent slots), plus the cache's slot-position index (8
// bytes per token per layer with full heads). `fixed` is measured, not assumed: the peak resident
// memory of a short run (prefill of two chunks with the mask, so one chunk attends over a cache,
// then a few decode steps) minus the KV bytes that run allocated. It holds the process, the
// weights and the O(chunk) prefill activations: with lean prefill (runtime::kDefaultPrefillChunk)
// nothing else grows with T. The longest context is then floor((budget - fixed - ring) / per_token).
// The check runs one such size (the full-attention capacity, the smaller) and reports its peak.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>

#include "model/model.h"
#include "runtime/head_layout.h"

namespace duo::eval {

struct CapacityOptions {
  double memory_gib = 0.0;                  // the budget (GiB, 2^30 bytes)
  int64_t prefill_chunk = 0;                // prefill chunk of the runs (0 = whole prompt: not lean)
  std::optional<at::ScalarType> kv_dtype;   // none = the model's
  bool check = true;                        // run the full-attention capacity and report its peak
  int64_t seed = 0;                         // prompt ids
};

struct CapacitySide {
  int64_t kv_bytes_per_token = 0;  // cache bytes each token adds (full heads, incl. positions)
  int64_t kv_ring_bytes = 0;       // streaming heads' rings, once full
  int64_t max_tokens = 0;          // the longest context that fits (0: not even the fixed cost)
};

struct CapacityReport {
  double memory_gib = 0.0;
  std::string kv_dtype;
  int64_t prefill_chunk = 0;
  int64_t fixed_bytes = 0;          // measured: process + weights + O(chunk) working memory
  int64_t probe_tokens = 0;         // context of the measuring run
  int64_t probe_peak_bytes = 0;     // its peak resident memory
  int64_t max_position_embeddings = 0;
  CapacitySide full, duo;
  bool checked = false;
  int64_t check_tokens = 0;         // context of the check run (full attention)
  int64_t check_peak_bytes = 0;     // its peak resident memory
  int64_t check_predicted_bytes = 0;  // fixed + kv at check_tokens

  nlohmann::json to_json() const;
  std::string table() const;
};

// Throws for a budget <= 0 or past the machine's physical memory (naming --memory-gib).
void check_capacity_options(const CapacityOptions& opts);

CapacityReport run_capacity(const model::Model& model, const runtime::HeadLayout& mask, const CapacityOptions& opts,
                            bool quiet);

}  // namespace duo::eval
