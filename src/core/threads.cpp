// --threads: LibTorch intra-op threads (at::set_num_threads also sets OpenMP's count) and
// OpenBLAS's own pool.
#include "core/threads.h"

#include <ATen/Parallel.h>
#include <dlfcn.h>
#include <sched.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include <thread>

namespace duo::core {

int available_cores() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    int n = CPU_COUNT(&set);
    if (n > 0) return n;
  }
  unsigned n = std::thread::hardware_concurrency();
  return n > 0 ? static_cast<int>(n) : 1;
}

namespace {

// OpenBLAS's thread-count functions, looked up at run time so that duo links against any BLAS.
struct OpenBlasThreads {
  int (*get)() = nullptr;
  void (*set)(int) = nullptr;
};

const OpenBlasThreads& openblas() {
  static const OpenBlasThreads fns = [] {
    OpenBlasThreads f;
    f.get = reinterpret_cast<int (*)()>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
    f.set = reinterpret_cast<void (*)(int)>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
    if (f.get == nullptr || f.set == nullptr) f = OpenBlasThreads{};
    return f;
  }();
  return fns;
}

}  // namespace

int blas_threads() { return openblas().get ? openblas().get() : 0; }

void set_blas_threads(int n) {
  if (openblas().set && n >= 1) openblas().set(n);
}

int set_threads(int n) {
  if (n <= 0) n = available_cores();
  at::set_num_threads(n);
  set_blas_threads(n);  // else --threads 1 still runs every large gemm on all cores
  return n;
}

void reexec_with_thread_env(char** argv) {
  if (std::getenv("DUO_THREAD_ENV") != nullptr) return;
  setenv("DUO_THREAD_ENV", "1", 1);
  bool changed = false;
  if (std::getenv("GOMP_SPINCOUNT") == nullptr && std::getenv("OMP_WAIT_POLICY") == nullptr) {
    setenv("GOMP_SPINCOUNT", "10000", 1);
    changed = true;
  }
  if (std::getenv("OPENBLAS_THREAD_TIMEOUT") == nullptr) {
    setenv("OPENBLAS_THREAD_TIMEOUT", "4", 1);
    changed = true;
  }
  if (changed) execv("/proc/self/exe", argv);  // returns only on failure: run on as we are
}

std::string thread_env_summary() {
  std::string out;
  for (const char* name : {"GOMP_SPINCOUNT", "OMP_WAIT_POLICY", "OPENBLAS_THREAD_TIMEOUT"}) {
    const char* v = std::getenv(name);
    if (!out.empty()) out += ' ';
    out += std::string(name) + '=' + (v != nullptr ? v : "-");
  }
  return out;
}

}  // namespace duo::core
