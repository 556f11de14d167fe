// Process memory and machine bandwidth, for `duo bench`.
//
// Peak resident memory is VmHWM from /proc/self/status (the kernel's high-water mark of the
// resident set, in bytes; monotonic unless reset_peak_rss() resets it). Bandwidth is measured by summing a large
// float buffer (read traffic only) with the current LibTorch thread count: the best of `reps`.
#pragma once

#include <cstdint>

namespace duo::eval {

// User + system CPU seconds of this process (all threads), from getrusage. On a shared machine
// CPU time is a steadier measure of work than wall time.
double process_cpu_seconds();

// VmHWM and VmRSS in bytes; 0 when /proc is unavailable.
int64_t peak_rss_bytes();
int64_t current_rss_bytes();
// Resets VmHWM to the current resident set (writes 5 to /proc/self/clear_refs, Linux >= 4.0), so
// that the next peak_rss_bytes() is the high-water mark since this call. False where unsupported.
bool reset_peak_rss();

struct Bandwidth {
  double read_gb_per_s = 0.0;  // bytes read / seconds, 1 GB = 1e9 bytes
  int64_t buffer_bytes = 0;
};
// Reads a buffer of `bytes` (default 1 GiB) `reps` times.
Bandwidth measure_read_bandwidth(int64_t bytes = int64_t{1} << 30, int reps = 5);

}  // namespace duo::eval
