// Where this process sits in a multi-process run, read from the launcher's environment the way
// the ecosystem's launchers set it:
//   torchrun (and `duo train --nproc`): RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE,
//                                       MASTER_ADDR, MASTER_PORT
//   Open MPI (mpirun):                  OMPI_COMM_WORLD_RANK, OMPI_COMM_WORLD_SIZE,
//                                       OMPI_COMM_WORLD_LOCAL_RANK, OMPI_COMM_WORLD_LOCAL_SIZE
//   Slurm (srun):                       SLURM_PROCID, SLURM_NTASKS, SLURM_LOCALID,
//                                       SLURM_NTASKS_PER_NODE
// in that order of precedence. Neither Open MPI nor Slurm says where rank 0 listens: MASTER_ADDR
// (or the master_addr option) names its host, MASTER_PORT (or master_port) its port, default
// 29500 as torchrun. No variable set (or a world of 1) means one process.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

namespace duo::dist {

inline constexpr int kDefaultMasterPort = 29500;  // torchrun's

struct DistEnv {
  int rank = 0;              // this process, in [0, world_size)
  int world_size = 1;        // processes in the run
  int local_rank = 0;        // this process among those on its machine
  int local_world_size = 1;  // processes on this machine (threads are shared among them)
  std::string master_addr;   // host of rank 0 (TCPStore rendezvous); empty for one process
  int master_port = kDefaultMasterPort;
  std::string source = "none";  // "torchrun" (also duo --nproc), "openmpi", "slurm" or "none"

  bool distributed() const { return world_size > 1; }
  bool is_root() const { return rank == 0; }
};

// Reads a variable; nullptr when unset (std::getenv, or a map in tests).
using EnvReader = std::function<const char*(const char* name)>;

// The process's place from the environment. master_addr / master_port (the options of the same
// name; empty / 0 = not given) are used where the environment does not set MASTER_ADDR /
// MASTER_PORT. Throws duo::Error naming the variable on a malformed or inconsistent value, and
// for Slurm / Open MPI worlds > 1 without any master address.
DistEnv detect_env(const EnvReader& env, const std::string& master_addr = "", int master_port = 0);
DistEnv detect_env(const std::string& master_addr = "", int master_port = 0);  // std::getenv

}  // namespace duo::dist
