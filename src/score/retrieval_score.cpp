// The retrieval scorer (see retrieval_score.h).
#include "score/retrieval_score.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <algorithm>

#include "core/error.h"
#include "core/progress.h"
#include "runtime/decoder.h"
#include "runtime/head_layout.h"
#include "score/attention_stats.h"
#include "score/score_prompts.h"

namespace duo::score {

namespace {

void check_trace(const CopyTrace& t) {
  const auto n = static_cast<int64_t>(t.ids.size());
  DUO_CHECK(n >= 1 && t.needle_begin >= 0 && t.needle_begin < t.needle_end && t.needle_end <= n,
            "retrieval score: expected a needle span inside the prompt, 0 <= begin < end <= {}; got [{}, {})", n,
            t.needle_begin, t.needle_end);
}

}  // namespace

std::vector<int64_t> retrieval_hits(const at::Tensor& top1_in, const CopyTrace& trace) {
  check_trace(trace);
  const auto steps = static_cast<int64_t>(trace.generated.size());
  DUO_CHECK(top1_in.dim() == 2 && top1_in.size(1) == steps && top1_in.scalar_type() == at::kLong,
            "retrieval score: expected top-1 positions [Hq, {}] int64; got {} dims, {} values", steps, top1_in.dim(),
            top1_in.numel());
  auto top1 = top1_in.to(at::kCPU).contiguous();
  const int64_t hq = top1.size(0);
  const int64_t* p = top1.data_ptr<int64_t>();
  std::vector<int64_t> hits(static_cast<size_t>(hq), 0);
  for (int64_t h = 0; h < hq; ++h) {
    for (int64_t s = 0; s < steps; ++s) {
      const int64_t pos = p[h * steps + s];
      if (pos >= trace.needle_begin && pos < trace.needle_end &&
          trace.ids[static_cast<size_t>(pos)] == trace.generated[static_cast<size_t>(s)])
        ++hits[static_cast<size_t>(h)];
    }
  }
  return hits;
}

std::vector<at::Tensor> generation_top1(const QkSource& src, const CopyTrace& trace, int64_t block) {
  check_trace(trace);
  const auto p = static_cast<int64_t>(trace.ids.size());
  const auto steps = static_cast<int64_t>(trace.generated.size());
  std::vector<at::Tensor> out(static_cast<size_t>(src.n_layers));
  if (steps == 0) {
    for (auto& t : out) t = at::zeros({src.n_heads, 0}, at::TensorOptions().dtype(at::kLong));
    return out;
  }
  // prompt + every generated token but the last: the query at p - 1 + s produced generated[s].
  std::vector<int64_t> seq = trace.ids;
  seq.insert(seq.end(), trace.generated.begin(), trace.generated.end() - 1);
  auto q_pos = at::arange(p - 1, p - 1 + steps, at::TensorOptions().dtype(at::kLong));  // [S]
  src.run(seq, [&](int64_t l, const at::Tensor& q, const at::Tensor& k, int64_t sliding_window) {
    StatsSpec spec;
    spec.block = block;
    spec.sliding_window = sliding_window;
    out[static_cast<size_t>(l)] = row_argmax(q.narrow(1, p - 1, steps), q_pos, k, spec);  // [Hq, S]
  });
  return out;
}

mask::GateTable retrieval_scores(const QkSource& src, const std::vector<CopyTrace>& traces, int64_t block, bool quiet) {
  DUO_CHECK(!traces.empty(), "retrieval score: no prompts; expected at least one (context_lengths x depth_percents)");
  mask::GateTable t{src.n_layers, src.n_heads, std::vector<double>(static_cast<size_t>(src.n_layers * src.n_heads), 0.0)};
  core::Progress progress("score retrieval", static_cast<int64_t>(traces.size()), quiet);
  int64_t done = 0;
  for (const auto& trace : traces) {
    const auto top1 = generation_top1(src, trace, block);
    const double needle = static_cast<double>(trace.needle_end - trace.needle_begin);
    for (int64_t l = 0; l < src.n_layers; ++l) {
      const auto hits = retrieval_hits(top1[static_cast<size_t>(l)], trace);
      for (int64_t h = 0; h < src.n_heads; ++h)
        t.at(l, h) += std::min(1.0, static_cast<double>(hits[static_cast<size_t>(h)]) / needle);
    }
    progress.update(++done, fmt::format("{} tokens, {} generated", trace.ids.size(), trace.generated.size()));
  }
  progress.finish();
  for (double& v : t.values) v /= static_cast<double>(traces.size());
  return t;
}

std::vector<CopyTrace> generate_copy_traces(const model::Model& model, const tokenizer::Tokenizer& tok,
                                            const eval::NiahEvalOptions& opts, bool quiet) {
  const auto prompts = build_score_prompts(tok, opts);
  const auto& cfg = model.config();
  const auto layout = runtime::HeadLayout::all_full(cfg.n_layers, cfg.n_kv_heads);
  runtime::GenerateOptions go;
  go.max_new_tokens = opts.max_new_tokens;
  go.prefill_chunk = opts.prefill_chunk;
  if (auto eos = tok.eos_id()) go.stop_ids.push_back(*eos);
  for (int64_t id : cfg.eos_token_ids) go.stop_ids.push_back(id);
  std::vector<CopyTrace> traces;
  core::Progress progress("score retrieval: generate", static_cast<int64_t>(prompts.size()), quiet);
  for (const auto& pr : prompts) {
    CopyTrace t;
    t.ids.assign(pr.ids.begin(), pr.ids.end());
    t.needle_begin = pr.needle_token_start;
    t.needle_end = pr.needle_token_end;
    t.generated = runtime::generate_greedy(model, layout, t.ids, go).tokens;
    traces.push_back(std::move(t));
    progress.update(static_cast<int64_t>(traces.size()));
  }
  progress.finish();
  return traces;
}

}  // namespace duo::score
