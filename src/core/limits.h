// What this machine can hold: the bounds option checks derive their upper limits from, so that a
// typo (--max-new-tokens 1e9, bandwidth_mib 1e7) is refused with one line before any work
// instead of dying in an allocation or swapping for minutes.
#pragma once

#include <cstdint>

namespace duo::core {

// Physical memory in bytes (sysconf); 0 when unknown.
int64_t physical_memory_bytes();

// "12.3 GiB": a byte count for messages.
double gib(int64_t bytes);

}  // namespace duo::core
