// Logging to stderr; the level comes from DUO_LOG (error|warn|info|debug) or set_log_level.
#include "core/log.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>

namespace duo::core {
namespace {

LogLevel initial_level() {
  const char* env = std::getenv("DUO_LOG");
  if (env == nullptr) return LogLevel::kInfo;
  if (std::strcmp(env, "error") == 0) return LogLevel::kError;
  if (std::strcmp(env, "warn") == 0) return LogLevel::kWarn;
  if (std::strcmp(env, "debug") == 0) return LogLevel::kDebug;
  return LogLevel::kInfo;
}

std::atomic<int> g_level{static_cast<int>(initial_level())};
std::mutex g_mutex;

}  // namespace

void set_log_level(LogLevel level) { g_level = static_cast<int>(level); }
LogLevel log_level() { return static_cast<LogLevel>(g_level.load()); }

void log_line(LogLevel level, std::string_view message) {
  static const char* const kPrefix[] = {"error: ", "warning: ", "", "debug: "};
  std::lock_guard<std::mutex> lock(g_mutex);
  std::fprintf(stderr, "%s%.*s\n", kPrefix[static_cast<int>(level)], static_cast<int>(message.size()),
               message.data());
  std::fflush(stderr);
}

}  // namespace duo::core
