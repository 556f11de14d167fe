// The streaming window of DuoAttention (DESIGN.md section 1): a streaming head keeps the first
// `sink` tokens (the attention sink) and the `recent` most recent tokens, the query itself
// included. One type carries the pair end to end, from a YAML key or a mask folder's
// config.json to the kernels' mask and the decoder's ring cache, and it is validated once, where
// it is built (StreamWindow::make); code that receives a StreamWindow never re-checks it.
//
// Two windows exist and are never confused:
//   - the training window (kTrainWindow, the official 128 / 256), used while gates are trained;
//   - the deploy window (kDeployWindow, the official 64 / 256), written into a mask folder by
//     `duo export` and used by the runtime.
// Both are stored as sink_size / recent_size in their folder's config.json (the official format);
// duo's own options name them train_sink / train_recent and deploy_sink / deploy_recent.
//
// Plain data with constexpr members only (no ATen, no allocation), so CPU kernels and CUDA
// device code can share the predicate and the ring slot.
#pragma once

#include <cstdint>
#include <string_view>

#include "core/error.h"

namespace duo {

namespace stream_window_detail {
[[noreturn]] inline void invalid(int64_t sink, int64_t recent) {
  fail("streaming window: expected sink >= 0 and recent >= 1; got sink {}, recent {}", sink, recent);
}
}  // namespace stream_window_detail

struct StreamWindow {
  int64_t sink = 0;    // leading tokens every query keeps (>= 0)
  int64_t recent = 1;  // most recent tokens every query keeps, itself included (>= 1)

  constexpr StreamWindow() = default;
  // Every construction is checked (at compile time for constants, else it throws).
  constexpr StreamWindow(int64_t sink_, int64_t recent_) : sink(sink_), recent(recent_) {
    if (sink_ < 0 || recent_ < 1) stream_window_detail::invalid(sink_, recent_);
  }

  // The same check from user input: `what` names the source in the error, e.g.
  // "--deploy-sink/--deploy-recent" or "masks/x/config.json (sink_size, recent_size)".
  static StreamWindow make(int64_t sink, int64_t recent, std::string_view what) {
    DUO_CHECK(sink >= 0 && recent >= 1,
              "{}: the streaming window needs sink >= 0 and recent >= 1; got sink {}, recent {}", what, sink, recent);
    return StreamWindow(sink, recent);
  }

  // Slots of a full ring: the most tokens a streaming head ever keeps.
  constexpr int64_t slots() const { return sink + recent; }

  // The streaming rule for a query at position i and a key at position j <= i (causality and
  // the model's own sliding window are checked by the caller, see kernels/cpu/attention_mask.h).
  constexpr bool keeps(int64_t i, int64_t j) const { return j < sink || i - j < recent; }

  // Ring slot of token t in a ring of slots() slots: sink slots first, then the recent slots cycle.
  constexpr int64_t ring_slot(int64_t t) const { return t < sink ? t : sink + (t - sink) % recent; }

  constexpr bool operator==(const StreamWindow& o) const { return sink == o.sink && recent == o.recent; }
  constexpr bool operator!=(const StreamWindow& o) const { return !(*this == o); }
};

// The official DuoAttention training window (duo_attn/train.py: sink 128, recent 256).
inline constexpr StreamWindow kTrainWindow{128, 256};
// The official deploy window of the released masks (sink 64, recent 256).
inline constexpr StreamWindow kDeployWindow{64, 256};

}  // namespace duo
