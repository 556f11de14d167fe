// Progress line implementation (see progress.h).
#include "core/progress.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>

namespace duo::core {

std::string format_duration(double s) {
  if (!std::isfinite(s) || s < 0) return "?";
  if (s < 60) return fmt::format("{:.1f}s", s);
  auto total = static_cast<int64_t>(s + 0.5);
  if (total < 3600) return fmt::format("{}m{:02d}s", total / 60, static_cast<int>(total % 60));
  return fmt::format("{}h{:02d}m", total / 3600, static_cast<int>((total % 3600) / 60));
}

Progress::Progress(std::string label, int64_t total, bool quiet, double log_every_seconds)
    : label_(std::move(label)),
      total_(total),
      quiet_(quiet),
      tty_(::isatty(STDERR_FILENO) != 0),
      log_every_(log_every_seconds),
      start_(std::chrono::steady_clock::now()),
      last_print_(start_) {}

double Progress::elapsed_seconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void Progress::update(int64_t done, const std::string& detail) {
  if (start_done_ < 0) start_done_ = done > 0 ? done - 1 : 0;  // resumed runs: ETA from here
  if (quiet_) return;
  auto now = std::chrono::steady_clock::now();
  double since = std::chrono::duration<double>(now - last_print_).count();
  if (tty_ ? since < 0.2 : (since < log_every_ && printed_)) return;
  last_print_ = now;
  print(done, detail, false);
}

void Progress::finish(const std::string& detail) {
  if (quiet_) return;
  print(total_, detail, true);
}

void Progress::print(int64_t done, const std::string& detail, bool final) {
  double el = elapsed_seconds();
  int64_t progressed = done - (start_done_ < 0 ? 0 : start_done_);
  double eta = progressed > 0 ? el / static_cast<double>(progressed) * static_cast<double>(total_ - done) : NAN;
  std::string line = fmt::format("{} {}/{}", label_, done, total_);
  if (!detail.empty()) line += " | " + detail;
  line += final ? fmt::format(" | {} total", format_duration(el)) : fmt::format(" | ETA {}", format_duration(eta));
  if (tty_) {
    std::fprintf(stderr, "\r\033[K%s%s", line.c_str(), final ? "\n" : "");
  } else {
    std::fprintf(stderr, "%s\n", line.c_str());
  }
  std::fflush(stderr);
  printed_ = true;
}

}  // namespace duo::core
