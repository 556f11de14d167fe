// `duo train --nproc N`: N local processes without torchrun. The launcher re-runs this
// executable (/proc/self/exe, same arguments) N times with the torchrun environment (RANK,
// WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR=127.0.0.1, MASTER_PORT = a free port) and
// kChildMarker set, and supervises them:
//   - SIGINT / SIGTERM to the launcher are forwarded to every child;
//   - when a child exits non-zero (or is killed) the others get kStopGrace seconds to stop on
//     their own (they see the failure at their next collective), then SIGTERM, then SIGKILL;
//   - each child has PR_SET_PDEATHSIG = SIGKILL, so none outlives a launcher that is killed;
//   - the exit code is 0 when every child succeeded, else the first failing child's code
//     (128 + signal for a child killed by a signal; 128 + the signal the launcher got).
#pragma once

namespace duo::dist {

// Set (to "1") in the environment of the processes the launcher starts.
inline constexpr const char* kChildMarker = "DUO_NPROC_CHILD";
inline constexpr int kMaxLocalProcesses = 256;
inline constexpr double kStopGrace = 5.0;  // seconds

// True in a process started by launch_local.
bool launched_by_duo();

// Starts and supervises nproc (2..kMaxLocalProcesses) copies of this process as described above;
// returns the exit code. Throws duo::Error when a process cannot be started.
int launch_local(int nproc);

}  // namespace duo::dist
