// Thread setup. LibTorch defaults to one intra-op thread on this machine, so every command
// sets the count explicitly: --threads N, where 0 (the default) means all cores.
#pragma once

#include <string>

namespace duo::core {

// Sets LibTorch's intra-op (and OpenMP) thread count and OpenBLAS's; n <= 0 means all cores.
// Returns the count.
int set_threads(int n);
// Number of cores this process may use.
int available_cores();

// OpenBLAS (Debian's libopenblas0-pthread) runs gemm on its own thread pool, sized to all cores
// and untouched by at::set_num_threads. These read and set that pool's size; with another BLAS
// (no OpenBLAS symbols in the process) blas_threads() returns 0 and set_blas_threads does nothing.
int blas_threads();
void set_blas_threads(int n);

// How idle workers wait. After each parallel region LibTorch's OpenMP (libgomp) workers
// busy-wait for GOMP_SPINCOUNT (default 300000) spins, and after each gemm OpenBLAS's workers
// spin on sched_yield for 2^OPENBLAS_THREAD_TIMEOUT cycles (default 2^28, ~0.1 s). With both
// pools on the same cores each steals the core the other needs: 2-thread gate training of
// duo-tiny ran 1.9x slower than one thread (31.7 vs 16.7 s for 100 steps), 11.2 s with
// GOMP_SPINCOUNT=10000 and OPENBLAS_THREAD_TIMEOUT=4. Both libraries read these once, when they
// load, so a program that wants them calls this first in main(): where the user set none of
// GOMP_SPINCOUNT, OMP_WAIT_POLICY and OPENBLAS_THREAD_TIMEOUT respectively, it sets duo's values
// and re-executes itself (once: DUO_THREAD_ENV marks the second run). Returns only when no
// re-execution was needed or it failed.
void reexec_with_thread_env(char** argv);
// "GOMP_SPINCOUNT=... OMP_WAIT_POLICY=... OPENBLAS_THREAD_TIMEOUT=..." as in effect (unset: "-").
std::string thread_env_summary();

}  // namespace duo::core
