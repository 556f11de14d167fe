// Thread setup. LibTorch defaults to one intra-op thread on this machine, so every command
// sets the count explicitly: --threads N, where 0 (the default) means all cores.
#pragma once

namespace duo::core {

// Sets LibTorch's intra-op (and OpenMP) thread count; n <= 0 means all cores. Returns the count.
int set_threads(int n);
// Number of cores this process may use.
int available_cores();

}  // namespace duo::core
