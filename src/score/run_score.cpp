// Dispatch to the scorers (see run_score.h).
#include "score/run_score.h"

#include <algorithm>
#include <chrono>
#include <set>
#include <vector>

#include "core/error.h"
#include "score/attention_mass.h"
#include "score/head_scores.h"
#include "score/razor_score.h"
#include "score/retrieval_score.h"
#include "score/score_prompts.h"

namespace duo::score {

namespace {

// Token ids a razor probe may use: the model's vocabulary (capped by the tokenizer's), without
// special tokens and the configured BOS / EOS / pad ids.
std::vector<int64_t> razor_vocabulary(const model::Model& model, const tokenizer::Tokenizer& tok) {
  const auto& cfg = model.config();
  std::set<int64_t> excluded;
  for (const auto* ids : {&cfg.bos_token_ids, &cfg.eos_token_ids, &cfg.pad_token_ids}) excluded.insert(ids->begin(), ids->end());
  if (auto b = tok.bos_id()) excluded.insert(*b);
  if (auto e = tok.eos_id()) excluded.insert(*e);
  const int64_t n = std::min<int64_t>(cfg.vocab_size, tok.vocab_size());
  std::vector<int64_t> out;
  for (int64_t id = 0; id < n; ++id)
    if (!excluded.count(id) && !tok.is_special(static_cast<int32_t>(id))) out.push_back(id);
  return out;
}

}  // namespace

ScoreResult run_score(const model::Model& model, const tokenizer::Tokenizer& tok, const ScoreOptions& opts, bool quiet) {
  check_score_options(opts);
  const auto t0 = std::chrono::steady_clock::now();
  const auto src = model_qk_source(model);
  const int64_t n_kv = model.config().n_kv_heads;
  ScoreResult r;
  r.method = opts.method;
  if (opts.method == "retrieval") {
    const auto traces = generate_copy_traces(model, tok, opts.prompts, quiet);
    r.query_scores = retrieval_scores(src, traces, opts.block, quiet);
    r.kv_scores = reduce_to_kv_heads(r.query_scores, n_kv);
    int64_t generated = 0;
    for (const auto& t : traces) generated += static_cast<int64_t>(t.generated.size());
    r.details = {{"prompts", traces.size()}, {"generated_tokens", generated}};
  } else if (opts.method == "attention-mass") {
    std::vector<std::vector<int64_t>> samples;
    for (const auto& p : build_score_prompts(tok, opts.prompts)) samples.emplace_back(p.ids.begin(), p.ids.end());
    r.query_scores = attention_mass_scores(src, samples, opts.window, opts.block, quiet);
    r.kv_scores = reduce_to_kv_heads(r.query_scores, n_kv);
    r.details = {{"samples", samples.size()}, {"sink", opts.window.sink}, {"recent", opts.window.recent}};
  } else {
    const auto& ro = opts.razor;
    const auto vocab = razor_vocabulary(model, tok);
    int64_t bos = -1;
    if (auto b = tok.bos_id()) bos = *b;
    else if (!model.config().bos_token_ids.empty()) bos = model.config().bos_token_ids.front();
    std::vector<std::vector<int64_t>> seqs;
    for (int64_t i = 0; i < ro.sequences; ++i)
      seqs.push_back(razor_sequence(vocab, ro.length, ro.copies, static_cast<uint64_t>(ro.seed + i), bos));
    const auto st = razor_stats(src, seqs, ro.length, bos >= 0 ? 1 : 0, opts.block, quiet);
    r.query_scores = razor_combine(st.echo, st.induction, ro.echo_share, ro.induction_share);
    const auto echo_kv = reduce_to_kv_heads(st.echo, n_kv), ind_kv = reduce_to_kv_heads(st.induction, n_kv);
    r.kv_scores = razor_combine(echo_kv, ind_kv, ro.echo_share, ro.induction_share);
    r.details = {{"echo_query_heads", table_rows_json(st.echo)},
                 {"induction_query_heads", table_rows_json(st.induction)},
                 {"echo_kv_heads", table_rows_json(echo_kv)},
                 {"induction_kv_heads", table_rows_json(ind_kv)},
                 {"probe_tokens", seqs.front().size()},
                 {"vocabulary_drawn_from", vocab.size()}};
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

}  // namespace duo::score
