// A live progress line for long work: "label 120/2000 | seq 4096 | loss 0.0123 | 812 tok/s | ETA 3m12s".
// On a terminal the line is redrawn in place (\r); otherwise (logs, --quiet off) a full line is
// printed at most every `log_every_seconds`. Quiet mode prints nothing until finish().
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace duo::core {

class Progress {
 public:
  Progress(std::string label, int64_t total, bool quiet = false, double log_every_seconds = 10.0);
  // Reports that `done` of `total` units are complete; `detail` is appended to the line.
  void update(int64_t done, const std::string& detail = "");
  // Ends the line (newline on a terminal) and prints a last summary unless quiet.
  void finish(const std::string& detail = "");
  double elapsed_seconds() const;

 private:
  void print(int64_t done, const std::string& detail, bool final);
  std::string label_;
  int64_t total_;
  bool quiet_;
  bool tty_;
  double log_every_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_print_;
  int64_t start_done_ = -1;
  bool printed_ = false;
};

// "3m12s", "1h02m", "45.2s".
std::string format_duration(double seconds);

}  // namespace duo::core
