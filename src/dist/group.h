// The process group of a multi-process run: c10d (PyTorch's distributed layer, as LibTorch ships
// it) with a TCPStore rendezvous at rank 0's MASTER_ADDR:MASTER_PORT and the Gloo backend (CPU,
// TCP). A group of one process opens no socket and every collective returns its input, so
// single-process code paths run the same code.
//
// Failures are collective: run_checked() runs a piece of per-rank work (loading, one step's
// samples, a checkpoint) and then agrees with every rank on whether it succeeded, so a bad
// sample on one rank stops all of them at once with that rank's message, instead of leaving the
// others waiting in the next collective. A rank that dies without a word (killed, crashed) is
// seen by the others as a closed connection at their next collective, and a rank that stops
// answering as a timeout after dist_timeout seconds; both end in a duo::Error naming this rank.
//
// Every collective must be called by all ranks in the same order (c10d's rule).
#pragma once

#include <ATen/core/Tensor.h>

#include <functional>
#include <memory>
#include <string>

#include "dist/env.h"
#include "dist/options.h"

namespace duo::dist {

// Throws duo::Error unless `backend` names one this build has: "gloo" always; "nccl" never here
// (Debian's LibTorch has no NCCL process group; the GPU build adds it).
void check_backend(const std::string& backend);

class Group {
 public:
  // One process: no sockets.
  Group();
  // Joins the group `env` describes (env.distributed() must hold). Blocks until all
  // env.world_size ranks have joined, or throws after opts.dist_timeout seconds.
  Group(const DistEnv& env, const DistOptions& opts);
  ~Group();
  Group(const Group&) = delete;
  Group& operator=(const Group&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }
  bool is_root() const { return rank_ == 0; }
  // "rank 1 of 4" (for messages).
  std::string name() const;

  // rows: [n, k] float64, the same n and k on every rank. Returns [size * n, k]: rank r's rows at
  // r * n ... r * n + n - 1, bit for bit as sent. `what` names the collective in errors.
  at::Tensor allgather_rows(const at::Tensor& rows, const std::string& what) const;
  // t: a contiguous CPU tensor of one shape and dtype on every rank; overwritten with rank 0's.
  void broadcast(at::Tensor& t, const std::string& what) const;
  // Runs fn here, then agrees with every rank: if fn threw on any rank, throws on every rank
  // (the failing rank "rank r of n: <its message>", the others "<what>: rank r of n failed:
  // <its message>", r the lowest failing rank). With one process, fn's exception passes unchanged.
  void run_checked(const std::string& what, const std::function<void()>& fn) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;  // null for one process
  int rank_ = 0;
  int size_ = 1;
  double timeout_s_ = 0;
};

}  // namespace duo::dist
