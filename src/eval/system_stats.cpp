// Memory and bandwidth measurements (see system_stats.h).
#include "eval/system_stats.h"

#include <ATen/ATen.h>

#include <sys/resource.h>

#include <chrono>
#include <fstream>
#include <string>

namespace duo::eval {

namespace {

int64_t status_kb(const std::string& key) {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind(key + ":", 0) == 0) return std::stoll(line.substr(key.size() + 1)) * 1024;
  }
  return 0;
}

}  // namespace

double process_cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         1e-6 * static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

int64_t peak_rss_bytes() { return status_kb("VmHWM"); }
int64_t current_rss_bytes() { return status_kb("VmRSS"); }

bool reset_peak_rss() {
  std::ofstream f("/proc/self/clear_refs");
  if (!f) return false;
  f << "5";
  f.flush();
  return static_cast<bool>(f);
}

Bandwidth measure_read_bandwidth(int64_t bytes, int reps) {
  auto buf = at::ones({bytes / 4}, at::TensorOptions().dtype(at::kFloat));  // touched: resident
  double best = 0.0;
  volatile float sink = 0.0f;
  for (int r = 0; r < reps; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    sink = buf.sum().item<float>();
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    best = std::max(best, static_cast<double>(buf.numel() * 4) / s / 1e9);
  }
  (void)sink;
  return {best, buf.numel() * 4};
}

}  // namespace duo::eval
