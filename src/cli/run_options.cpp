// The run commands' shared options (see run_options.h).
#include "cli/run_options.h"

#include "core/error.h"
#include "core/log.h"
#include "core/threads.h"

namespace duo::cli {

void check_threads(int threads) {
  // More threads than this only oversubscribes the cores (and 100000 of them take minutes to start).
  const int cores = core::available_cores();
  const int most = kMaxThreadsPerCore * cores;
  DUO_CHECK(threads >= 0 && threads <= most,
            "key 'threads' (--threads) must be 0 (all cores) or 1..{} ({} x the {} cores available); got {}", most,
            kMaxThreadsPerCore, cores, threads);
}

int apply_common_options(const CommonOptions& opts) {
  check_threads(opts.threads);
  const int threads = core::set_threads(opts.threads);
  if (opts.quiet) core::set_log_level(core::LogLevel::kWarn);
  return threads;
}

void add_common_options(CLI::App* cmd, CommonOptions& opts) {
  cmd->add_option("--threads", opts.threads, "CPU threads for LibTorch (0 = all cores)")->default_val(0);
  cmd->add_flag("--quiet,-q", opts.quiet, "No progress line; warnings and errors only");
}

std::filesystem::path config_path_beside(const std::filesystem::path& out) {
  auto p = out;
  return p.replace_extension(".config.yaml");  // never `out` itself: x.config.yaml -> x.config.config.yaml
}

void require_key(const std::string& value, const std::string& command, const std::string& key,
                 const std::string& flag, const std::string& what) {
  DUO_CHECK(!value.empty(), "{}: key '{}' is empty; expected {} ({} or '{}:' in --config)", command, key, what, flag,
            key);
}

}  // namespace duo::cli
