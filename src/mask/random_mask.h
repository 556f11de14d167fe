// Random head masks: the baseline a trained mask must beat (DuoAttention's claim is that the
// trained gates find the retrieval heads, not merely that some heads can stream). Used by
// `duo sweep --random N` and by the `random:SPARSITY[:SEED]` mask spec of the run commands.
#pragma once

#include <cstdint>

#include "mask/gate_table.h"

namespace duo::mask {

// A binary mask [n_layers, n_kv_heads] (1 full, 0 streaming) with round(sparsity * N) streaming
// heads out of N = n_layers * n_kv_heads, chosen by `seed`; the same mask on every platform.
GateTable random_mask(int64_t n_layers, int64_t n_kv_heads, double sparsity, uint64_t seed);

}  // namespace duo::mask
