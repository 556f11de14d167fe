#include "io/hdf5_probe.h"

#include <H5Cpp.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <new>
#include <vector>

#include "core/error.h"

#if defined(__SANITIZE_ADDRESS__)
#define DUO_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define DUO_ASAN 1
#endif
#endif

// Declared weak: present only in sanitized builds.
extern "C" void __sanitizer_set_death_callback(void (*callback)()) __attribute__((weak));

namespace duo::io {
namespace {

namespace fs = std::filesystem;

// Exit codes of the probing child.
constexpr int kReadAll = 0;    // every object read
constexpr int kHdf5Error = 1;  // HDF5 returned an error (the parent's read reports it)
constexpr int kNoMemory = 3;   // an allocation failed

// A scratch buffer for n elements of `size` bytes, or null when it cannot be had. malloc, not
// new: under AddressSanitizer a failed `new` is a fatal report rather than std::bad_alloc, while
// malloc returns null (allocator_may_return_null); without sanitizers RLIMIT_AS makes both fail.
// (Variable-length data the library allocates is never freed: the child exits right after.)
struct FreeDeleter {
  void operator()(void* p) const { std::free(p); }
};
std::unique_ptr<unsigned char, FreeDeleter> buffer(hssize_t n, size_t size) {
  if (static_cast<uint64_t>(n) > (SIZE_MAX - 1) / size) return nullptr;
  return std::unique_ptr<unsigned char, FreeDeleter>(
      static_cast<unsigned char*>(std::malloc(static_cast<size_t>(n) * size + 1)));
}

// Reads all elements of an attribute or dataset, whose space and type `space` and `ftype` are, in
// their native type with `read(mem_type, buffer)`.
template <class Read>
bool read_elements(hid_t space, hid_t ftype, Read&& read) {
  bool ok = space >= 0 && ftype >= 0;
  if (ok) {
    const hid_t mtype = H5Tget_native_type(ftype, H5T_DIR_DEFAULT);
    const hssize_t n = H5Sget_simple_extent_npoints(space);
    const size_t size = mtype >= 0 ? H5Tget_size(mtype) : 0;
    ok = mtype >= 0 && n >= 0 && size > 0;
    if (ok) {
      auto buf = buffer(n, size);
      if (!buf) _exit(kNoMemory);
      ok = read(mtype, buf.get()) >= 0;
    }
    if (mtype >= 0) H5Tclose(mtype);
  }
  if (ftype >= 0) H5Tclose(ftype);
  if (space >= 0) H5Sclose(space);
  return ok;
}

bool read_attribute(hid_t attr) {
  return read_elements(H5Aget_space(attr), H5Aget_type(attr),
                       [&](hid_t mtype, void* buf) { return H5Aread(attr, mtype, buf); });
}

herr_t on_attribute(hid_t object, const char* name, const H5A_info_t*, void* failed) {
  const hid_t attr = H5Aopen(object, name, H5P_DEFAULT);
  if (attr < 0 || !read_attribute(attr)) *static_cast<bool*>(failed) = true;
  if (attr >= 0) H5Aclose(attr);
  return 0;
}

bool read_dataset(hid_t dset) {
  return read_elements(H5Dget_space(dset), H5Dget_type(dset), [&](hid_t mtype, void* buf) {
    return H5Dread(dset, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf);
  });
}

// Visits every object under the root: its attributes, and a dataset's elements.
herr_t on_object(hid_t root, const char* name, const H5O_info_t* info, void* failed) {
  const hid_t obj = H5Oopen(root, name, H5P_DEFAULT);
  if (obj < 0) {
    *static_cast<bool*>(failed) = true;
    return 0;
  }
  hsize_t idx = 0;
  if (H5Aiterate2(obj, H5_INDEX_NAME, H5_ITER_NATIVE, &idx, on_attribute, failed) < 0) *static_cast<bool*>(failed) = true;
  // duo's reader also opens attributes by position (H5::H5Object::openAttribute(idx)): the same here.
  for (hsize_t i = 0; i < info->num_attrs; ++i) {
    for (H5_index_t order : {H5_INDEX_CRT_ORDER, H5_INDEX_NAME}) {
      const hid_t attr = H5Aopen_by_idx(obj, ".", order, H5_ITER_INC, i, H5P_DEFAULT, H5P_DEFAULT);
      if (attr >= 0) H5Aclose(attr);
    }
  }
  if (info->type == H5O_TYPE_DATASET && !read_dataset(obj)) *static_cast<bool*>(failed) = true;
  H5Oclose(obj);
  return 0;
}

// A crash inside the library ends the child with exit code kCrashedBase + signal, without the
// parent's (or a sanitizer's) crash handlers, which would report it as the parent's own crash.
constexpr int kCrashedBase = 64;

void on_crash(int sig) { _exit(kCrashedBase + sig); }

void catch_crashes() {
  static char alt_stack[64 * 1024];  // a stack overflow must still reach on_crash
  stack_t ss{};
  ss.ss_sp = alt_stack;
  ss.ss_size = sizeof(alt_stack);
  sigaltstack(&ss, nullptr);
  struct sigaction sa{};
  sa.sa_handler = on_crash;
  sa.sa_flags = SA_ONSTACK;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT}) sigaction(sig, &sa, nullptr);
}

[[noreturn]] void probe_child(const fs::path& path) {
  // Under a sanitizer a report in the child (the HDF5 library has overlapping memcpys on some
  // damaged files) must end the child only: drop the death callback a fuzzer installed, which
  // would record the child's death as the fuzzer's own crash.
  if (&__sanitizer_set_death_callback != nullptr) __sanitizer_set_death_callback(nullptr);
  catch_crashes();
  try {
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    const hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    if (file < 0) _exit(kHdf5Error);
    bool failed = false;
    if (H5Ovisit2(file, H5_INDEX_NAME, H5_ITER_NATIVE, on_object, &failed, H5O_INFO_BASIC | H5O_INFO_NUM_ATTRS) < 0) failed = true;
    _exit(failed ? kHdf5Error : kReadAll);
  } catch (const std::bad_alloc&) {
    _exit(kNoMemory);
  } catch (...) {
    _exit(kHdf5Error);
  }
}

// The child's address-space cap: what it has now, plus room for the file's contents several
// times over (reading a dataset needs its bytes once, HDF5's caches a little more).
void limit_memory(const fs::path& path) {
#ifndef DUO_ASAN  // ASan reserves terabytes of shadow address space; its own allocator limits apply
  long pages = 0;
  std::ifstream("/proc/self/statm") >> pages;
  std::error_code ec;
  const auto file = fs::file_size(path, ec);
  const rlim_t cap = static_cast<rlim_t>(pages) * static_cast<rlim_t>(sysconf(_SC_PAGESIZE)) +
                     4 * static_cast<rlim_t>(ec ? 0 : file) + (rlim_t{1} << 30);
  struct rlimit lim{cap, cap};
  setrlimit(RLIMIT_AS, &lim);
#else
  (void)path;
#endif
}

// Reading a file whole takes well under a second per 100 MB; a damaged file can send the library
// round a loop forever (scripts/fuzz.sh found one). The child gets 2 s of CPU time plus 1 s per
// 20 MB (a loop burns CPU; a busy machine does not eat into this), and a wall-clock backstop of
// 30 s plus 1 s per 20 MB.
struct TimeBudget {
  unsigned cpu_seconds;
  unsigned wall_seconds;
};

TimeBudget time_budget(const fs::path& path) {
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  const auto per_size = static_cast<unsigned>((ec ? 0 : size) / (20u << 20));
  return {2 + per_size, 30 + per_size};
}

// Ends the child after its time budget, whatever handlers the parent had installed (a fuzzer's
// SIGALRM handler, inherited across fork, would otherwise let a looping child run on).
void limit_time(const TimeBudget& budget) {
  signal(SIGALRM, SIG_DFL);
  signal(SIGXCPU, SIG_DFL);
  struct rlimit cpu{budget.cpu_seconds, budget.cpu_seconds + 1};  // SIGXCPU, then SIGKILL a second later
  setrlimit(RLIMIT_CPU, &cpu);
  alarm(budget.wall_seconds);
}

}  // namespace

void probe_hdf5_file(const fs::path& path) {
  const pid_t pid = fork();
  DUO_CHECK(pid >= 0, "{}: cannot start the reader check (fork: {})", path.string(), std::strerror(errno));
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);  // a parent killed meanwhile (Ctrl-C, a timeout) takes the child along
    if (getppid() == 1) _exit(kHdf5Error);
    limit_memory(path);
    limit_time(time_budget(path));  // a child the library keeps busy forever is ended
    probe_child(path);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    DUO_CHECK(errno == EINTR, "{}: cannot wait for the reader check (waitpid: {})", path.string(), std::strerror(errno));
  }
  const bool crashed = WIFEXITED(status) && WEXITSTATUS(status) > kCrashedBase;
  if (WIFSIGNALED(status) &&
      (WTERMSIG(status) == SIGALRM || WTERMSIG(status) == SIGXCPU)) {
    const auto budget = time_budget(path);
    fail("{}: the HDF5 library did not finish reading this file within {} s of CPU time ({} s in all); expected an "
         "intact HDF5 file (is it damaged?)",
         path.string(), budget.cpu_seconds, budget.wall_seconds);
  }
  if (WIFSIGNALED(status) || crashed) {
    const int sig = crashed ? WEXITSTATUS(status) - kCrashedBase : WTERMSIG(status);
    fail("{}: the HDF5 library crashed (signal {}, {}) reading this file; expected an intact HDF5 file (is it "
         "damaged or truncated?)",
         path.string(), sig, strsignal(sig));
  }
  DUO_CHECK(WIFEXITED(status) && WEXITSTATUS(status) != kNoMemory,
            "{}: reading this file needs more memory than the file's size can justify; expected an intact HDF5 file "
            "(are its sizes damaged?)",
            path.string());
}

}  // namespace duo::io
