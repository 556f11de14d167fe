// Test helper: runs the built `duo` binary (DUO_BINARY) as a user would, capturing its exit
// code, stdout and stderr. Header-only.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace duo::testing {

struct RunResult {
  int code = -1;    // exit code (-1 when killed by a signal)
  std::string out;  // stdout
  std::string err;  // stderr
};

inline std::string slurp(const std::filesystem::path& p) {
  std::ifstream f(p);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// Runs `duo <args>`; stdout and stderr go through files in `dir`.
inline RunResult run_duo(const std::string& args, const std::filesystem::path& dir) {
  const auto out = dir / "stdout.txt", err = dir / "stderr.txt";
  std::string cmd = std::string(DUO_BINARY) + " " + args + " >" + out.string() + " 2>" + err.string();
  int status = std::system(cmd.c_str());
  RunResult r;
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = slurp(out);
  r.err = slurp(err);
  return r;
}

// Runs `duo <args>` as the end-to-end tests do: in `cwd` (the source folder, where presets
// resolve), one OpenMP thread, after `env_prefix` (e.g. "env -u NAME" or "NAME=value"); stdout and
// stderr together in .out.
inline RunResult duo_cli(const std::string& args, const std::filesystem::path& cwd = DUO_SOURCE_DIR,
                         const std::string& env_prefix = "") {
  const auto dir = std::filesystem::temp_directory_path() / ("duo_cli_log_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto log = dir / "out.txt";
  const std::string cmd = "cd '" + cwd.string() + "' && OMP_NUM_THREADS=1 " + env_prefix + " '" +
                          std::string(DUO_BINARY) + "' " + args + " > '" + log.string() + "' 2>&1";
  const int status = std::system(cmd.c_str());
  RunResult r;
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = slurp(log);
  return r;
}

}  // namespace duo::testing
