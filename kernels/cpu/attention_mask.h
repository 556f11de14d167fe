// The attention mask of DESIGN.md section 1 and the block plans the kernels derive from it.
//
// Key j (absolute position) is visible from query i iff
//   j <= i && (window == 0 || i - j < window) && (!streaming || j < sink || i - j < recent).
// Kernels walk query blocks x key blocks; for a block they need (a) the key intervals a query
// block can see (forward, dQ), (b) the query interval that can see a key block (dK, dV), and
// (c) whether a block is entirely visible (no per-element mask), partly visible, or empty.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

namespace duo::kernels::cpu {

// Half-open interval [begin, end) of positions.
struct Span {
  int64_t begin = 0;
  int64_t end = 0;
  int64_t size() const { return end - begin; }
};

// Mask of one head.
struct HeadMask {
  bool streaming = false;  // sink + recent restriction on top of causal (+ window)
  int64_t sink = 0;        // streaming: keys [0, sink) stay visible
  int64_t recent = 0;      // streaming: keys with i - j < recent stay visible (>= 1)
  int64_t window = 0;      // the model's sliding window; 0 = none

  bool visible(int64_t i, int64_t j) const {
    if (j > i || j < 0) return false;
    if (window > 0 && i - j >= window) return false;
    return !streaming || j < sink || i - j < recent;
  }

  // The keys visible from query i as at most two sorted, disjoint intervals; returns how many.
  int visible_runs(int64_t i, Span runs[2]) const {
    const int64_t lo = window > 0 ? std::max<int64_t>(0, i - window + 1) : 0;
    const int64_t hi = i + 1;
    if (i < 0) return 0;
    if (!streaming) {
      runs[0] = Span{lo, hi};
      return 1;
    }
    const Span a{lo, std::min(sink, hi)};
    const Span b{std::max(lo, i - recent + 1), hi};
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
  if (m.window > 0 && q0 - klast >= m.window) return BlockState::kEmpty;
  if (m.streaming && k0 >= m.sink && q0 - klast >= m.recent) return BlockState::kEmpty;
  const bool causal_ok = klast <= q0;
  const bool window_ok = m.window == 0 || qlast - k0 < m.window;
  const bool stream_ok = !m.streaming || k1 <= m.sink || qlast - k0 < m.recent;
  return causal_ok && window_ok && stream_ok ? BlockState::kFull : BlockState::kPartial;
}

// Key intervals (sorted, disjoint) that queries [q0, q1) may see.
inline std::vector<Span> key_spans(const HeadMask& m, int64_t q0, int64_t q1) {
  const int64_t lo = m.window > 0 ? std::max<int64_t>(0, q0 - m.window + 1) : 0;
  const int64_t hi = q1;
  if (!m.streaming) return {Span{lo, hi}};
  const Span sink{lo, std::min(m.sink, hi)};
  const Span band{std::max(lo, q0 - m.recent + 1), hi};
  if (sink.size() <= 0) return {band};
  if (sink.end >= band.begin) return {Span{sink.begin, band.end}};
  return {sink, band};
}

// Query interval [begin, end) that may see some key of [k0, k1); t = sequence length.
inline Span query_span(const HeadMask& m, int64_t k0, int64_t k1, int64_t t) {
  int64_t hi = t;
  if (m.window > 0) hi = std::min(hi, k1 - 1 + m.window);
  if (m.streaming && k0 >= m.sink) hi = std::min(hi, k1 - 1 + m.recent);
  return Span{k0, std::max(k0, hi)};
}

// Splits [0, t) into key blocks of at most `block` keys, cutting at `sink` for streaming heads
// so that each block is entirely sink or entirely non-sink (their query spans differ).
inline std::vector<Span> key_blocks(const HeadMask& m, int64_t t, int64_t block) {
  std::vector<Span> out;
  auto add = [&](int64_t b, int64_t e) {
    for (int64_t k0 = b; k0 < e; k0 += block) out.push_back(Span{k0, std::min(e, k0 + block)});
  };
  if (m.streaming && m.sink > 0 && m.sink < t) {
    add(0, m.sink);
    add(m.sink, t);
  } else {
    add(0, t);
  }
  return out;
}

}  // namespace duo::kernels::cpu
