// Options of a multi-process run (`duo train`), visited like every task's options (YAML keys,
// --set, flags). The process count itself is not here: torchrun, srun or mpirun decide it, or
// `duo train --nproc N` for local processes (a flag only, see dist/launcher.h).
#pragma once

#include <string>

namespace duo::dist {

struct DistOptions {
  std::string dist_backend = "gloo";  // process group: gloo (CPU, TCP); nccl needs a CUDA build
  double dist_timeout = 1800;         // seconds a rank waits in rendezvous or a collective (torch's default)
  std::string master_addr;            // host of rank 0 when the environment has no MASTER_ADDR (Slurm, Open MPI)
  int master_port = 0;                // port of rank 0 when the environment has no MASTER_PORT (0 = 29500)

  template <class V>
  void visit(V& v) {
    v("dist_backend", dist_backend, "multi-process backend: gloo (CPU over TCP); nccl needs a CUDA build");
    v("dist_timeout", dist_timeout, "seconds a rank waits for the others (rendezvous, each collective)");
    v("master_addr", master_addr, "host of rank 0 where the environment sets no MASTER_ADDR (Slurm, Open MPI)");
    v("master_port", master_port, "port of rank 0 where the environment sets no MASTER_PORT (0 = 29500)");
  }
};

}  // namespace duo::dist
