// Needle-in-a-haystack grid (see niah.h).
#include "eval/niah.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/log.h"
#include "core/progress.h"
#include "eval/niah_score.h"
#include "io/options.h"
#include "io/svg.h"
#include "runtime/decoder.h"
#include "tokenizer/tokenizer.h"

namespace duo::eval {

namespace fs = std::filesystem;

NiahEvalOptions niah_defaults(const std::string& kind) {
  DUO_CHECK(kind == "needle" || kind == "passkey", "niah kind: expected 'needle' or 'passkey', got '{}'", kind);
  NiahEvalOptions o;
  o.kind = kind;
  if (kind == "passkey") {
    o.prompt = data_gen::NiahOptions::passkey_variant();
    o.prompt.haystack_dir = "builtin";
    o.max_new_tokens = 8;
    o.context_lengths = {256, 512, 1024};
  } else {
    for (const char* d : {"../shared/reference/needle-haystack", "shared/reference/needle-haystack"}) {
      if (fs::is_directory(d)) {
        o.prompt.haystack_dir = d;
        break;
      }
    }
  }
  o.prompt.kind = kind;
  return o;
}

NiahEvalOptions resolve_niah_options(const fs::path& config, const std::vector<std::string>& sets) {
  NiahEvalOptions first = niah_defaults("needle");
  io::resolve_options(first, config, sets);  // only to learn the kind
  NiahEvalOptions o = niah_defaults(first.kind);
  io::resolve_options(o, config, sets);
  finish_niah_options(o);
  return o;
}

void check_niah_options(const NiahEvalOptions& o) {
  DUO_CHECK(o.kind == "needle" || o.kind == "passkey", "niah: key 'kind' must be needle or passkey; got '{}'", o.kind);
  DUO_CHECK(!o.context_lengths.empty() && !o.depth_percents.empty(),
            "niah: context_lengths and depth_percents must not be empty; got {} and {} values",
            o.context_lengths.size(), o.depth_percents.size());
  for (size_t i = 0; i < o.context_lengths.size(); ++i) {
    DUO_CHECK(o.context_lengths[i] >= 1, "niah: key 'context_lengths[{}]' must be >= 1 token; got {}", i,
              o.context_lengths[i]);
  }
  for (size_t i = 0; i < o.depth_percents.size(); ++i) {
    DUO_CHECK(o.depth_percents[i] >= 0.0 && o.depth_percents[i] <= 100.0,
              "niah: key 'depth_percents[{}]' must be in [0, 100]; got {}", i, o.depth_percents[i]);
  }
  DUO_CHECK(o.max_new_tokens >= 1, "niah max_new_tokens: expected >= 1, got {}", o.max_new_tokens);
  DUO_CHECK(o.prefill_chunk >= 0, "niah: key 'prefill_chunk' must be >= 0 (0 = whole prompt); got {}",
            o.prefill_chunk);
  DUO_CHECK(o.samples >= 1, "niah: samples must be >= 1; got {}", o.samples);
  DUO_CHECK(o.prompt.buffer >= 0, "niah: key 'prompt.buffer' must be >= 0; got {}", o.prompt.buffer);
  DUO_CHECK(o.prompt.passkey_length >= 1, "niah: key 'prompt.passkey_length' must be >= 1; got {}",
            o.prompt.passkey_length);
}

void finish_niah_options(NiahEvalOptions& o) {
  o.prompt.kind = o.kind;
  check_niah_options(o);
}

double NiahRun::mean_score() const {
  if (points.empty()) return 0.0;
  double s = 0.0;
  for (const auto& p : points) s += p.score;
  return s / static_cast<double>(points.size());
}

NiahRun run_niah(const model::Model& model, const tokenizer::Tokenizer& tok, const runtime::HeadLayout& layout,
                 const NiahEvalOptions& opts, bool quiet) {
  int64_t max_len = 0;
  for (int64_t c : opts.context_lengths) max_len = std::max(max_len, c);
  check_niah_options(opts);
  const int64_t max_pos = model.config().max_position_embeddings;
  if (max_len + opts.max_new_tokens > max_pos) {
    core::log_warn("niah: context {} + {} new tokens is past the model's max_position_embeddings ({}); expect "
                   "degraded answers there", max_len, opts.max_new_tokens, max_pos);
  }
  DUO_CHECK(opts.samples == 1 || opts.kind == "passkey",
            "niah: samples > 1 needs kind passkey (the needle kind has one fixed needle); got samples {} with kind {}",
            opts.samples, opts.kind);
  data_gen::NiahOptions popts = opts.prompt;
  popts.kind = opts.kind;
  // Sample i of every cell draws its key from seed + i.
  std::vector<data_gen::NiahPromptBuilder> builders;
  for (int64_t i = 0; i < opts.samples; ++i) {
    data_gen::NiahOptions o = popts;
    o.seed = popts.seed + i;
    builders.emplace_back(tok, o, max_len);
  }
  runtime::GenerateOptions go;
  go.max_new_tokens = opts.max_new_tokens;
  go.prefill_chunk = opts.prefill_chunk;
  go.kv_dtype = opts.kv_dtype;
  if (auto eos = tok.eos_id()) go.stop_ids.push_back(*eos);
  for (int64_t id : model.config().eos_token_ids) go.stop_ids.push_back(id);

  NiahRun run;
  run.context_lengths = opts.context_lengths;
  run.depth_percents = opts.depth_percents;
  core::Progress progress(
      "niah", static_cast<int64_t>(opts.context_lengths.size() * opts.depth_percents.size()) * opts.samples, quiet);
  int64_t done = 0;
  for (double depth : opts.depth_percents) {
    for (int64_t len : opts.context_lengths) {
      for (int64_t i = 0; i < opts.samples; ++i) {
        const auto prompt = builders[static_cast<size_t>(i)].build(len, depth);
        std::vector<int64_t> ids(prompt.ids.begin(), prompt.ids.end());
        auto r = runtime::generate_greedy(model, layout, ids, go);
        std::vector<int32_t> out;
        // Stop tokens and ids past the tokenizer's vocabulary (padded embedding rows) are not text.
        for (int64_t t : r.tokens) {
          const bool stop = std::find(go.stop_ids.begin(), go.stop_ids.end(), t) != go.stop_ids.end();
          if (!stop && t < tok.vocab_size()) out.push_back(static_cast<int32_t>(t));
        }
        NiahPoint p;
        p.context_length = len;
        p.depth_percent = depth;
        p.actual_depth_percent = prompt.actual_depth_percent;
        p.prompt_tokens = static_cast<int64_t>(ids.size());
        p.sample = i;
        p.expected = prompt.answer;
        p.response = tok.decode(out, /*skip_special_tokens=*/true);
        p.score = opts.kind == "passkey" ? passkey_exact_score(p.response, prompt.answer)
                                         : needle_word_score(p.response, prompt.answer);
        p.prefill_seconds = r.prefill_seconds;
        p.decode_ms_per_token = r.decode_ms_per_token();
        p.kv_bytes = r.kv_bytes;
        run.points.push_back(p);
        progress.update(++done, fmt::format("len {} depth {} score {:.2f}", len, depth, p.score));
      }
    }
  }
  progress.finish(fmt::format("mean score {:.3f}", run.mean_score()));
  return run;
}

namespace {

std::string csv_quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

}  // namespace

std::string niah_csv(const NiahRun& run) {
  std::string out =
      "context_length,depth_percent,sample,actual_depth_percent,prompt_tokens,score,prefill_seconds,"
      "decode_ms_per_token,kv_bytes,expected,response\n";
  for (const auto& p : run.points) {
    out += fmt::format("{},{},{},{:.4f},{},{:.6f},{:.4f},{:.3f},{},{},{}\n", p.context_length, p.depth_percent,
                       p.sample, p.actual_depth_percent, p.prompt_tokens, p.score, p.prefill_seconds, p.decode_ms_per_token,
                       p.kv_bytes, csv_quote(p.expected), csv_quote(p.response));
  }
  return out;
}

std::string niah_svg(const NiahRun& run, const std::string& title) {
  io::Heatmap h;
  h.title = fmt::format("{} (mean score {:.3f})", title, run.mean_score());
  h.x_label = "Context length (tokens)";
  h.y_label = "Depth percent";
  for (int64_t c : run.context_lengths) h.col_labels.push_back(std::to_string(c));
  for (double d : run.depth_percents) h.row_labels.push_back(fmt::format("{:g}", d));
  const size_t rows = run.depth_percents.size(), cols = run.context_lengths.size();
  std::vector<double> sum(rows * cols, 0.0), n(rows * cols, 0.0);
  for (const auto& p : run.points) {
    for (size_t r = 0; r < rows; ++r) {
      if (run.depth_percents[r] != p.depth_percent) continue;
      for (size_t c = 0; c < cols; ++c) {
        if (run.context_lengths[c] != p.context_length) continue;
        sum[r * cols + c] += p.score;
        n[r * cols + c] += 1.0;
      }
    }
  }
  for (size_t i = 0; i < rows * cols; ++i)
    h.values.push_back(n[i] > 0 ? sum[i] / n[i] : std::numeric_limits<double>::quiet_NaN());
  h.vmin = 0.0;
  h.vmax = 1.0;
  return io::render_heatmap_svg(h);
}

void write_niah_outputs(const fs::path& dir, const NiahRun& run, const std::string& title) {
  fs::create_directories(dir);
  core::write_file_atomic(dir / "results.csv", niah_csv(run));
  core::write_file_atomic(dir / "niah.svg", niah_svg(run, title));
}

}  // namespace duo::eval
