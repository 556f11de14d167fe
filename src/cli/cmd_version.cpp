// `duo threads`: prints how many CPU threads duo would use (a smoke check of the install).
#include "cli/command.h"
#include "core/threads.h"

#include <cstdio>

namespace {

void add_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("threads", "Print the CPU threads duo uses by default");
  cmd->callback([] { std::printf("%d\n", duo::core::available_cores()); });
}

DUO_COMMAND(1000, add_command);

}  // namespace
