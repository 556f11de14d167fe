// `duo threads`: prints how many CPU threads duo would use (a smoke check of the install);
// `--env` prints what the thread pools and matrix products run on instead.
#include "cli/command.h"
#include "core/blas_info.h"
#include "core/threads.h"
#include "kernels/cpu/gemm.h"

#include <cstdio>
#include <memory>

namespace {

void add_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("threads", "Print the CPU threads duo uses by default");
  auto env = std::make_shared<bool>(false);
  cmd->add_flag("--env", *env,
                "Print instead the thread pools' wait settings, the matrix-product backend (DUO_GEMM) and the "
                "BLAS, one per line");
  cmd->callback([env] {
    if (!*env) {
      std::printf("%d\n", duo::core::available_cores());
      return;
    }
    std::printf("threads: %d (%s)\n", duo::core::available_cores(), duo::core::thread_env_summary().c_str());
    std::printf("gemm: %s\n", duo::kernels::cpu::gemm_summary().c_str());
    std::printf("blas: %s\n", duo::core::blas_summary().c_str());
  });
}

DUO_COMMAND(1000, add_command);

}  // namespace
