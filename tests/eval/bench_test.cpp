// The efficiency bench (eval/bench.h): both sides reported, KV bytes by the formula, weight bytes
// read per token.
#include <gtest/gtest.h>

#include <algorithm>

#include "attention/attention.h"
#include "common/byte_checksum.h"
#include "common/passkey_tokenizer.h"
#include "core/error.h"
#include "eval/bench.h"
#include "eval/capacity.h"
#include "eval/system_stats.h"
#include "mask/kv_budget.h"
#include "mask/random_mask.h"
#include "runtime/decoder.h"
#include "runtime/head_layout.h"

namespace duo::eval {
namespace {

TEST(Bench, KvBytesFollowTheKvDtype) {
  // A bf16 / f16 cache: the bytes reported are the formula's at 2 bytes an element.
  auto model = model::Model::random(model::ModelConfig::from_json(testing::eval_model_config(96)), 3);
  const auto& cfg = model.config();
  const StreamWindow window{4, 8};
  const auto layout = runtime::HeadLayout::from_mask(mask::random_mask(cfg.n_layers, cfg.n_kv_heads, 0.5, 0), window);
  BenchOptions o;
  o.contexts = {40};
  o.decode_tokens = 2;
  o.bandwidth_mib = 8;
  o.prefill_chunk = 16;  // lean prefill over 40 tokens: three chunks
  for (auto dt : {at::kBFloat16, at::kHalf}) {
    o.kv_dtype = dt;
    auto r = run_bench(model, layout, o, /*quiet=*/true);
    EXPECT_EQ(r.kv_dtype, model::dtype_name(dt));
    EXPECT_EQ(r.rows[0].duo.kv_bytes, mask::kv_cache_bytes(layout.to_mask(), 42, window, cfg.head_dim, 2));
    EXPECT_EQ(r.rows[0].full.kv_bytes, mask::kv_cache_bytes_full(cfg.n_layers, cfg.n_kv_heads, 42, cfg.head_dim, 2));
  }
}

// The bound's plain read covers exactly the memory a step reads: its checksum equals one computed
// here from the weights and the cache's own views (each head's slots), for a 16-bit cache whose
// rings are not yet full (10 tokens, 12 slots) and full (40 tokens).
TEST(Bench, StepRangesAreTheWeightsAndTheCacheInUse) {
  auto model = model::Model::random(model::ModelConfig::from_json(testing::eval_model_config(96)), 3);
  const auto& cfg = model.config();
  const StreamWindow window{4, 8};
  const auto layout = runtime::HeadLayout::from_mask(mask::random_mask(cfg.n_layers, cfg.n_kv_heads, 0.5, 0), window);
  for (int64_t tokens : {10, 40}) {
    runtime::Decoder dec(model, layout, tokens, at::kBFloat16);
    dec.prefill(at::arange(3, 3 + tokens, at::kLong), /*chunk=*/16);
    uint64_t want = 0;
    int64_t bytes = 0;
    for (const auto& [name, t] : model.named_weights()) {
      if (name == "model.embed_tokens.weight" && !cfg.tie_word_embeddings) continue;
      want += testing::plain_checksum(t.data_ptr(), t.numel() * 4);
      bytes += t.numel() * 4;
    }
    for (int64_t l = 0; l < cfg.n_layers; ++l)
      for (auto kind : attention::kHeadKinds) {
        const auto view = dec.cache().view(l, kind);
        if (view.empty()) continue;
        for (int64_t h = 0; h < view.k.size(0); ++h)
          for (const at::Tensor* x : {&view.k, &view.v}) {
            const at::Tensor head = (*x)[h];  // [S, D] bf16, rows contiguous
            ASSERT_TRUE(head.is_contiguous());
            want += testing::plain_checksum(head.data_ptr(), head.numel() * 2);
            bytes += head.numel() * 2;
          }
      }
    const auto ranges = decode_step_ranges(model, dec.cache());
    int64_t got_bytes = 0;
    for (const auto& r : ranges) got_bytes += r.bytes;
    EXPECT_EQ(got_bytes, bytes) << tokens << " tokens";
    EXPECT_EQ(kernels::cpu::stream_read(ranges), want) << tokens << " tokens";
  }
}

TEST(Capacity, LongestContextFollowsTheFormulaAndTheMeasuredFixedCost) {
  auto model = model::Model::random(model::ModelConfig::from_json(testing::eval_model_config(96)), 3);
  const auto& cfg = model.config();
  const auto layout = runtime::HeadLayout::from_mask(mask::random_mask(cfg.n_layers, cfg.n_kv_heads, 0.5, 0),
                                                     StreamWindow{4, 8});
  CapacityOptions o;
  o.prefill_chunk = 32;
  o.kv_dtype = at::kBFloat16;
  o.check = false;  // a run at the capacity: the CLI's job (RSS noise in a test process is MiBs)
  o.memory_gib = 2.0;
  auto r = run_capacity(model, layout, o, /*quiet=*/true);
  EXPECT_GT(r.fixed_bytes, 0);
  EXPECT_EQ(r.probe_tokens, 64);
  // Per token: full heads' K and V at 2 bytes + one int64 position per layer with full heads.
  EXPECT_EQ(r.full.kv_bytes_per_token, cfg.n_layers * (cfg.n_kv_heads * 2 * cfg.head_dim * 2 + 8));
  EXPECT_LT(r.duo.kv_bytes_per_token, r.full.kv_bytes_per_token);
  EXPECT_GT(r.duo.max_tokens, r.full.max_tokens);
  const double budget = 2.0 * 1073741824.0;
  for (const CapacitySide* s : {&r.full, &r.duo}) {
    const double at_max = static_cast<double>(r.fixed_bytes + s->kv_ring_bytes + s->kv_bytes_per_token * (s->max_tokens + 4));
    EXPECT_LE(at_max, budget);
    EXPECT_GT(at_max + static_cast<double>(s->kv_bytes_per_token), budget);  // one more token would not fit
  }
  o.memory_gib = 0;
  EXPECT_THROW(check_capacity_options(o), ::duo::Error);
  o.memory_gib = 1;
  o.prefill_chunk = 0;
  EXPECT_THROW(check_capacity_options(o), ::duo::Error);
}

TEST(Bench, ReportsBothSidesWithFormulaKvBytes) {
  auto model = model::Model::random(model::ModelConfig::from_json(testing::eval_model_config(96)), 3);
  const auto& cfg = model.config();
  const StreamWindow window{4, 8};
  const auto half = mask::random_mask(cfg.n_layers, cfg.n_kv_heads, 0.5, /*seed=*/0);
  const auto layout = runtime::HeadLayout::from_mask(half, window);
  BenchOptions o;
  o.contexts = {48, 24};
  o.decode_tokens = 3;
  o.bandwidth_mib = 8;
  auto r = run_bench(model, layout, o, /*quiet=*/true);
  ASSERT_EQ(r.rows.size(), 2u);
  EXPECT_EQ(r.rows[0].tokens, 24);  // sorted
  EXPECT_GT(r.bandwidth_gb_per_s, 0.0);
  EXPECT_DOUBLE_EQ(r.bandwidth_gb_per_s, std::max(r.bandwidth_before_gb_per_s, r.bandwidth_after_gb_per_s));
  EXPECT_EQ(r.peak_per_side, reset_peak_rss());  // per-run peaks and brackets wherever the kernel allows
  // Each run's bound: the plain read of exactly what a step reads (every weight matrix, the used
  // cache; an untied embedding table's one row is left out), scaled to the step's bytes. The 1 GiB
  // sums give the second reference: its bytes over the bandwidth measured around it (the better of
  // the two measurements on either side where VmHWM resets, else the one after all runs).
  const int64_t embed_row = cfg.tie_word_embeddings ? 0 : cfg.hidden_size * 4;
  for (const auto& row : r.rows) {
    for (const BenchSide* s : {&row.duo, &row.full}) {
      EXPECT_EQ(s->read_bytes + embed_row, s->bytes_per_token);
      EXPECT_GT(s->read_ms, 0.0);
      EXPECT_NEAR(s->bound_ms,
                  s->read_ms * static_cast<double>(s->bytes_per_token) / static_cast<double>(s->read_bytes),
                  1e-9 * s->bound_ms);
      EXPECT_GT(s->bandwidth_gb_per_s, 0.0);
      if (!r.peak_per_side) {
        EXPECT_DOUBLE_EQ(s->bandwidth_gb_per_s, r.bandwidth_after_gb_per_s);
      }
      EXPECT_NEAR(s->sum_bound_ms, 1000.0 * static_cast<double>(s->bytes_per_token) / (s->bandwidth_gb_per_s * 1e9),
                  1e-9 * s->sum_bound_ms);
    }
  }
  if (r.peak_per_side) {
    // Runs in order: mask 24, mask 48, full 24, full 48; each bracket shares a measurement with the
    // next, so the last run's bandwidth is at least the measurement after all runs.
    EXPECT_GE(r.rows[1].full.bandwidth_gb_per_s, r.bandwidth_after_gb_per_s);
    EXPECT_GE(r.rows[0].duo.bandwidth_gb_per_s, r.bandwidth_before_gb_per_s);
  }
  auto jb = r.to_json();
  EXPECT_DOUBLE_EQ(jb["rows"][1]["full"]["bandwidth_gb_per_s"].get<double>(), r.rows[1].full.bandwidth_gb_per_s);
  for (const auto& row : r.rows) {
    const int64_t total = row.tokens + o.decode_tokens;
    EXPECT_EQ(row.duo.kv_bytes, mask::kv_cache_bytes(layout.to_mask(), total, window, cfg.head_dim, 4));
    EXPECT_EQ(row.full.kv_bytes, mask::kv_cache_bytes_full(cfg.n_layers, cfg.n_kv_heads, total, cfg.head_dim, 4));
    EXPECT_EQ(row.full.bytes_per_token, r.weight_bytes + row.full.kv_used_bytes);
    EXPECT_GT(row.full.decode_ms_per_token, 0.0);
    EXPECT_GT(row.duo.peak_rss_bytes, 0);
  }
  auto j = r.to_json();
  EXPECT_TRUE(j["rows"][0]["ratios"].contains("decode_speedup_over_bytes_ratio"));
  // Weights read per token: every parameter but the embedding table, plus one embedding row.
  int64_t params = 0;
  for (const auto& [name, t] : model.named_weights()) params += t.numel();
  EXPECT_EQ(weight_bytes_per_token(model), (params - cfg.vocab_size * cfg.hidden_size + cfg.hidden_size) * 4);
}

}  // namespace
}  // namespace duo::eval
