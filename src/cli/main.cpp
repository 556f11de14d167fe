// duo: one binary, one subcommand per file under src/cli (registered with DUO_COMMAND).
// Only this file catches errors: it prints "error: <message>" and returns 1.
#include <ATen/core/Tensor.h>
#include <c10/util/Exception.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <vector>

#include "cli/command.h"
#include "core/error.h"
#include "core/memory.h"
#include "core/printable.h"
#include "core/threads.h"

namespace duo::cli {
namespace {

std::vector<std::pair<int, AddCommandFn>>& registry() {
  static std::vector<std::pair<int, AddCommandFn>> r;
  return r;
}

}  // namespace

CommandRegistrar::CommandRegistrar(int order, AddCommandFn add) { registry().emplace_back(order, std::move(add)); }

void add_registered_commands(CLI::App& app) {
  auto& r = registry();
  std::stable_sort(r.begin(), r.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  for (auto& [order, add] : r) add(app);
}

}  // namespace duo::cli

namespace {

// LibTorch errors carry a C++ backtrace after the first line; users need only the message.
std::string first_line(const std::string& s) {
  auto pos = s.find('\n');
  return pos == std::string::npos ? s : s.substr(0, pos);
}

// A command's output that did not reach stdout (`duo ... > /dev/full`, a closed pipe) is a
// failure: flush both streams and report the first error as one line.
bool stdout_ok() {
  std::cout.flush();
  const bool cout_ok = !std::cout.fail();
  const bool flushed = std::fflush(stdout) == 0;
  if (cout_ok && flushed && std::ferror(stdout) == 0) return true;
  const int err = errno;
  std::fprintf(stderr, "error: cannot write the output to stdout: %s\n",
               err != 0 ? std::strerror(err) : "write error");
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  duo::core::reexec_with_thread_env(argv);  // thread pools' wait settings (see core/threads.h)
  duo::core::keep_freed_memory();           // no page-fault storm per layer (core/memory.h)
  CLI::App app{"duo: find the retrieval heads of a long-context LLM and stream the rest (DuoAttention)", "duo"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "duo 0.1.0");
  duo::cli::add_registered_commands(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const duo::cli::ExitStatus& e) {
    return e.code == 0 && !stdout_ok() ? 1 : e.code;
  } catch (const duo::Error& e) {
    // Messages may quote a corrupt file's bytes: never send raw control bytes to the terminal.
    std::fprintf(stderr, "error: %s\n", duo::core::printable(e.what(), /*keep_newlines=*/true).c_str());
    return 1;
  } catch (const c10::Error& e) {
    std::fprintf(stderr, "error: %s\n", duo::core::printable(first_line(e.what_without_backtrace())).c_str());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", duo::core::printable(first_line(e.what())).c_str());
    return 1;
  }
  return stdout_ok() ? 0 : 1;
}
