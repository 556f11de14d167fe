// Subcommand registration: each cli/cmd_<name>.cpp registers itself with DUO_COMMAND, so that
// adding a command never touches main.cpp. Commands are listed in `order`.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>

namespace duo::cli {

using AddCommandFn = std::function<void(CLI::App&)>;

// Thrown by a command whose work ended with an exit code of its own (the `duo train --nproc`
// launcher returns its first failing child's): main returns `code` and prints nothing.
struct ExitStatus {
  int code = 0;
};
struct CommandRegistrar {
  CommandRegistrar(int order, AddCommandFn add);
};
void add_registered_commands(CLI::App& app);

}  // namespace duo::cli

#define DUO_COMMAND_CAT2(a, b) a##b
#define DUO_COMMAND_CAT(a, b) DUO_COMMAND_CAT2(a, b)
// DUO_COMMAND(order, fn): registers fn(CLI::App&) that adds one subcommand.
#define DUO_COMMAND(order, fn) \
  static ::duo::cli::CommandRegistrar DUO_COMMAND_CAT(duo_command_registrar_, __LINE__)(order, fn)
