// gen-data pipeline and sample preview (see generate.h).
#include "data_gen/generate.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

#include "core/error.h"
#include "core/progress.h"
#include "tokenizer/tokenizer.h"

namespace duo::data_gen {

GenerateStats generate_dataset(const tokenizer::Tokenizer& tok, const GenOptions& opts, const std::filesystem::path& out,
                               const DatasetMeta& meta, bool quiet, int threads) {
  auto t0 = std::chrono::steady_clock::now();
  PasskeySampleGenerator gen(tok, opts);
  DatasetWriter writer(opts.num_passkeys);
  GenerateStats st;
  const int64_t n = opts.num_samples;
  core::Progress progress("gen-data", n, quiet);
  st.min_length = INT64_MAX;

  // Samples are pure functions of (options, index): build them in blocks, in parallel, and add
  // them in index order so the file does not depend on the thread count.
  threads = std::max(1, threads);
  const int64_t block = 16 * threads;
  std::vector<PasskeySample> slots(static_cast<size_t>(block));
  for (int64_t start = 0; start < n; start += block) {
    int64_t count = std::min(block, n - start);
    if (threads == 1) {
      for (int64_t i = 0; i < count; ++i) slots[static_cast<size_t>(i)] = gen.sample(start + i);
    } else {
      std::atomic<int64_t> next{0};
      std::exception_ptr error;
      std::mutex error_mutex;
      std::vector<std::thread> pool;
      for (int t = 0; t < threads; ++t) {
        pool.emplace_back([&] {
          for (int64_t i; (i = next.fetch_add(1)) < count;) {
            try {
              slots[static_cast<size_t>(i)] = gen.sample(start + i);
            } catch (...) {
              std::lock_guard<std::mutex> lock(error_mutex);
              if (!error) error = std::current_exception();
            }
          }
        });
      }
      for (auto& th : pool) th.join();
      if (error) std::rethrow_exception(error);
    }
    for (int64_t i = 0; i < count; ++i) {
      const auto& s = slots[static_cast<size_t>(i)];
      auto len = static_cast<int64_t>(s.input_ids.size());
      st.min_length = std::min(st.min_length, len);
      st.max_length = std::max(st.max_length, len);
      writer.add(s);
    }
    progress.update(start + count, fmt::format("{} tokens", writer.total_tokens()));
  }
  writer.commit(out, meta);
  st.samples = writer.size();
  st.tokens = writer.total_tokens();
  st.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  progress.finish(fmt::format("{} tokens, lengths {}..{}", st.tokens, st.min_length, st.max_length));
  return st;
}

std::string preview_sample(const tokenizer::Tokenizer& tok, const PasskeySample& s, int64_t keep) {
  const auto& ids = s.input_ids;
  const auto T = static_cast<int64_t>(ids.size());
  auto decode = [&](int64_t b, int64_t e) {
    return tok.decode(std::vector<int32_t>(ids.begin() + b, ids.begin() + e));
  };
  // Plain stretches are shortened to keep + "[...]" + keep.
  auto plain = [&](int64_t b, int64_t e) {
    if (e - b <= 2 * keep) return decode(b, e);
    return decode(b, b + keep) + fmt::format(" [... {} tokens ...] ", e - b - 2 * keep) + decode(e - keep, e);
  };
  int64_t label_start = T;
  for (int64_t i = 0; i < T; ++i) {
    if (s.label_mask[static_cast<size_t>(i)] != 0) {
      label_start = i;
      break;
    }
  }
  std::string out = fmt::format("--- sample: {} tokens, context length {}, haystack {} tokens, depths [{:.3f}]\n", T,
                                s.context_length, s.haystack_length, fmt::join(s.depths, ", "));
  int64_t pos = 0;
  for (size_t j = 0; j < s.needle_starts.size(); ++j) {
    out += plain(pos, s.needle_starts[j]);
    out += fmt::format("[[NEEDLE {}]]", j + 1) + decode(s.needle_starts[j], s.needle_ends[j]) + "[[/NEEDLE]]";
    pos = s.needle_ends[j];
  }
  out += plain(pos, label_start);
  out += "[[LABEL]]" + decode(label_start, T) + "[[/LABEL]]\n";
  out += fmt::format("--- answer: {}\n", s.answer());
  return out;
}

}  // namespace duo::data_gen
