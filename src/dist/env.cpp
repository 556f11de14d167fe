// Launcher environment detection (see env.h).
#include "dist/env.h"

#include <cerrno>
#include <cstdlib>

#include "core/error.h"

namespace duo::dist {
namespace {

// The variable's value as an int, or `fallback` when unset. Slurm writes some counts as
// "2(x3)": only the leading number is read there (leading_only).
int read_int(const EnvReader& env, const char* name, int fallback, bool leading_only = false) {
  const char* v = env(name);
  if (v == nullptr) return fallback;
  char* end = nullptr;
  errno = 0;
  const long x = std::strtol(v, &end, 10);
  const bool whole = end != v && (*end == '\0' || (leading_only && *end == '('));
  DUO_CHECK(whole && errno == 0 && x >= 0 && x <= 1000000,
            "environment variable {}='{}'; expected a non-negative integer", name, v);
  return static_cast<int>(x);
}

bool set(const EnvReader& env, const char* name) { return env(name) != nullptr; }

}  // namespace

DistEnv detect_env(const EnvReader& env, const std::string& master_addr, int master_port) {
  DistEnv e;
  const char *rank_var, *size_var;
  if (set(env, "RANK") || set(env, "WORLD_SIZE")) {
    e.source = "torchrun";
    rank_var = "RANK";
    size_var = "WORLD_SIZE";
    e.local_rank = read_int(env, "LOCAL_RANK", 0);
    e.local_world_size = read_int(env, "LOCAL_WORLD_SIZE", 1);
  } else if (set(env, "OMPI_COMM_WORLD_RANK") || set(env, "OMPI_COMM_WORLD_SIZE")) {
    e.source = "openmpi";
    rank_var = "OMPI_COMM_WORLD_RANK";
    size_var = "OMPI_COMM_WORLD_SIZE";
    e.local_rank = read_int(env, "OMPI_COMM_WORLD_LOCAL_RANK", 0);
    e.local_world_size = read_int(env, "OMPI_COMM_WORLD_LOCAL_SIZE", 1);
  } else if (set(env, "SLURM_PROCID") || set(env, "SLURM_NTASKS")) {
    e.source = "slurm";
    rank_var = "SLURM_PROCID";
    size_var = "SLURM_NTASKS";
    e.local_rank = read_int(env, "SLURM_LOCALID", 0);
    e.local_world_size = read_int(env, "SLURM_NTASKS_PER_NODE", 1, /*leading_only=*/true);
  } else {
    return e;
  }
  DUO_CHECK(set(env, rank_var) && set(env, size_var), "{} environment: {} and {} must both be set; got only {}",
            e.source, rank_var, size_var, set(env, rank_var) ? rank_var : size_var);
  e.rank = read_int(env, rank_var, 0);
  e.world_size = read_int(env, size_var, 1);
  DUO_CHECK(e.world_size >= 1 && e.rank < e.world_size, "{} environment: {}={} with {}={}; expected 0 <= rank < {}",
            e.source, rank_var, e.rank, size_var, e.world_size, e.world_size);
  // Local counts only size the thread pools; a local rank past an unset local size is allowed.
  DUO_CHECK(e.local_world_size >= 1 && (e.local_world_size == 1 || e.local_rank < e.local_world_size),
            "{} environment: local rank {} with {} processes on this machine; expected local rank < local world size",
            e.source, e.local_rank, e.local_world_size);
  if (!e.distributed()) return e;
  const char* addr = env("MASTER_ADDR");
  e.master_addr = addr != nullptr && *addr != '\0' ? addr : master_addr;
  DUO_CHECK(!e.master_addr.empty(),
            "{} environment with {} processes: no address for rank 0; expected MASTER_ADDR in the environment or "
            "--master-addr (the host of rank 0)", e.source, e.world_size);
  e.master_port = read_int(env, "MASTER_PORT", master_port > 0 ? master_port : kDefaultMasterPort);
  DUO_CHECK(e.master_port >= 1 && e.master_port <= 65535, "MASTER_PORT (or --master-port) is {}; expected 1..65535",
            e.master_port);
  return e;
}

DistEnv detect_env(const std::string& master_addr, int master_port) {
  return detect_env([](const char* name) { return static_cast<const char*>(std::getenv(name)); }, master_addr,
                    master_port);
}

}  // namespace duo::dist
