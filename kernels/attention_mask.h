// The attention mask of DESIGN.md section 1 (the one predicate every kernel, the reference and
// the runtime use) and the block plans the kernels derive from it. Shared by every backend.
//
// Key j (absolute position) is visible from query i iff
//   0 <= j <= i && (sliding_window == 0 || i - j < sliding_window)
//   && (!streaming || j < window.sink || i - j < window.recent)      (StreamWindow::keeps)
// Kernels walk query blocks x key blocks; for a block they need (a) the key intervals a query
// block can see (forward, dQ), (b) the query interval that can see a key block (dK, dV), and
// (c) whether a block is entirely visible (no per-element mask), partly visible, or empty.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "core/stream_window.h"

namespace duo::kernels {

// Half-open interval [begin, end) of positions.
struct Span {
  int64_t begin = 0;
  int64_t end = 0;
  int64_t size() const { return end - begin; }
};

// Mask of one head.
struct HeadMask {
  bool streaming = false;      // the streaming window's restriction on top of causal (+ sliding window)
  StreamWindow window;         // streaming: keys [0, sink) and i - j < recent stay visible
  int64_t sliding_window = 0;  // the model's own sliding window; 0 = none

  // THE mask predicate (DESIGN.md section 1).
  constexpr bool visible(int64_t i, int64_t j) const {
    if (j > i || j < 0) return false;
    if (sliding_window > 0 && i - j >= sliding_window) return false;
    return !streaming || window.keeps(i, j);
  }

  // The keys visible from query i as at most two sorted, disjoint intervals; returns how many.
  int visible_runs(int64_t i, Span runs[2]) const {
    const int64_t lo = sliding_window > 0 ? std::max<int64_t>(0, i - sliding_window + 1) : 0;
    const int64_t hi = i + 1;
    if (i < 0) return 0;
    if (!streaming) {
      runs[0] = Span{lo, hi};
      return 1;
    }
    const Span a{lo, std::min(window.sink, hi)};
    const Span b{std::max(lo, i - window.recent + 1), hi};
    if (a.size() <= 0) {
      runs[0] = b;
      return b.size() > 0 ? 1 : 0;
    }
    if (a.end >= b.begin) {
      runs[0] = Span{a.begin, std::max(a.end, b.end)};
      return 1;
    }
    runs[0] = a;
    runs[1] = b;
    return 2;
  }
};


enum class BlockState { kEmpty, kPartial, kFull };

// Queries [q0, q1) x keys [k0, k1), both non-empty. kFull: every pair visible; kEmpty: none.
// kPartial may occasionally be returned for an empty block; the per-element mask handles it.
inline BlockState block_state(const HeadMask& m, int64_t q0, int64_t q1, int64_t k0, int64_t k1) {
  const int64_t qlast = q1 - 1, klast = k1 - 1;
  if (k0 > qlast) return BlockState::kEmpty;
  if (m.sliding_window > 0 && q0 - klast >= m.sliding_window) return BlockState::kEmpty;
  if (m.streaming && k0 >= m.window.sink && q0 - klast >= m.window.recent) return BlockState::kEmpty;
  const bool causal_ok = klast <= q0;
  const bool window_ok = m.sliding_window == 0 || qlast - k0 < m.sliding_window;
  const bool stream_ok = !m.streaming || k1 <= m.window.sink || qlast - k0 < m.window.recent;
  return causal_ok && window_ok && stream_ok ? BlockState::kFull : BlockState::kPartial;
}

// Key intervals (sorted, disjoint) that queries [q0, q1) may see.
inline std::vector<Span> key_spans(const HeadMask& m, int64_t q0, int64_t q1) {
  const int64_t lo = m.sliding_window > 0 ? std::max<int64_t>(0, q0 - m.sliding_window + 1) : 0;
  const int64_t hi = q1;
  if (!m.streaming) return {Span{lo, hi}};
  const Span sink{lo, std::min(m.window.sink, hi)};
  const Span band{std::max(lo, q0 - m.window.recent + 1), hi};
  if (sink.size() <= 0) return {band};
  if (sink.end >= band.begin) return {Span{sink.begin, band.end}};
  return {sink, band};
}

// Query interval [begin, end) that may see some key of [k0, k1); t = sequence length.
inline Span query_span(const HeadMask& m, int64_t k0, int64_t k1, int64_t t) {
  int64_t hi = t;
  if (m.sliding_window > 0) hi = std::min(hi, k1 - 1 + m.sliding_window);
  if (m.streaming && k0 >= m.window.sink) hi = std::min(hi, k1 - 1 + m.window.recent);
  return Span{k0, std::max(k0, hi)};
}

// Splits [0, t) into key blocks of at most `block` keys, cutting at `sink` for streaming heads
// so that each block is entirely sink or entirely non-sink (their query spans differ).
inline std::vector<Span> key_blocks(const HeadMask& m, int64_t t, int64_t block) {
  std::vector<Span> out;
  auto add = [&](int64_t b, int64_t e) {
    for (int64_t k0 = b; k0 < e; k0 += block) out.push_back(Span{k0, std::min(e, k0 + block)});
  };
  if (m.streaming && m.window.sink > 0 && m.window.sink < t) {
    add(0, m.window.sink);
    add(m.window.sink, t);
  } else {
    add(0, t);
  }
  return out;
}

}  // namespace duo::kernels
