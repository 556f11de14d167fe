// A plain read of given memory ranges: the time it takes is what streaming those bytes costs on
// this machine at this moment. `duo bench` times it over exactly the bytes one decoded token
// reads (the weight matrices and the KV cache in use), alternating with the decode steps, and
// takes that as the step's bandwidth bound: measured side by side, so a shared machine's drift
// hits both alike.
//
// Each byte is loaded once, in 64-byte loads summed into integer accumulators (AVX-512 where the
// CPU has it, else 64-bit words); no other work. The ranges are cut into pieces of at most 1 MiB
// spread over the task pool (kernels/cpu/task_pool.h), as the decode kernels spread their rows.
#pragma once

#include <cstdint>
#include <vector>

namespace duo::kernels::cpu {

struct ByteRange {
  const void* data = nullptr;
  int64_t bytes = 0;
};

// Reads every byte of every range once; returns a checksum (the sum of the ranges' 64-bit words,
// wrapping; a trailing piece of fewer than 8 bytes counts byte by byte) so the reads stay
// observable.
uint64_t stream_read(const std::vector<ByteRange>& ranges);

}  // namespace duo::kernels::cpu
