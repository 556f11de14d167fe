// Thread setup. LibTorch defaults to one intra-op thread on this machine, so every command
// sets the count explicitly: --threads N, where 0 (the default) means all cores.
#pragma once

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

}  // namespace duo::core
