// The local launcher behind `duo train --nproc N` (see launcher.h).
#include "dist/launcher.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include "core/error.h"
#include "core/log.h"

extern char** environ;

namespace duo::dist {
namespace {

volatile std::sig_atomic_t g_signal = 0;
void on_signal(int sig) { g_signal = sig; }

// This process's argv, as the kernel keeps it (the launcher runs inside a subcommand's callback,
// which has no argv).
std::vector<std::string> self_argv() {
  std::ifstream f("/proc/self/cmdline", std::ios::binary);
  const std::string all((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  std::vector<std::string> args;
  std::string cur;
  for (char c : all) {
    if (c == '\0') {
      args.push_back(cur);
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  if (!cur.empty()) args.push_back(cur);
  DUO_CHECK(!args.empty(), "duo train --nproc: cannot read this process's arguments from /proc/self/cmdline");
  return args;
}

// A TCP port on 127.0.0.1 that is free now (the kernel's choice for port 0). Rank 0's store binds
// it a moment later; another program taking it in between makes rendezvous fail with a clear
// error, not a hang.
int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  DUO_CHECK(fd >= 0, "duo train --nproc: cannot open a socket to find a free port: {}", std::strerror(errno));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof(a);
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0 &&
                  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0;
  const int err = errno;
  ::close(fd);
  DUO_CHECK(ok, "duo train --nproc: cannot bind a free port on 127.0.0.1: {}", std::strerror(err));
  return ntohs(a.sin_port);
}

// The environment of rank `rank`: this one minus any launcher variables, plus torchrun's.
std::vector<std::string> child_env(int rank, int nproc, int port) {
  static const char* const kOurs[] = {"RANK=", "WORLD_SIZE=", "LOCAL_RANK=", "LOCAL_WORLD_SIZE=", "MASTER_ADDR=",
                                      "MASTER_PORT=", "DUO_NPROC_CHILD="};
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    bool ours = false;
    for (const char* k : kOurs) ours |= std::strncmp(*e, k, std::strlen(k)) == 0;
    if (!ours) env.emplace_back(*e);
  }
  env.push_back("RANK=" + std::to_string(rank));
  env.push_back("WORLD_SIZE=" + std::to_string(nproc));
  env.push_back("LOCAL_RANK=" + std::to_string(rank));
  env.push_back("LOCAL_WORLD_SIZE=" + std::to_string(nproc));
  env.push_back("MASTER_ADDR=127.0.0.1");
  env.push_back("MASTER_PORT=" + std::to_string(port));
  env.push_back(std::string(kChildMarker) + "=1");
  return env;
}

std::vector<char*> pointers(std::vector<std::string>& v) {
  std::vector<char*> p;
  for (auto& s : v) p.push_back(s.data());
  p.push_back(nullptr);
  return p;
}

int exit_code(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

std::string describe(int status) {
  if (WIFSIGNALED(status))
    return fmt::format("was killed by signal {} ({})", WTERMSIG(status), strsignal(WTERMSIG(status)));
  return fmt::format("exited with status {}", exit_code(status));
}

}  // namespace

bool launched_by_duo() {
  const char* v = std::getenv(kChildMarker);
  return v != nullptr && std::strcmp(v, "1") == 0;
}

int launch_local(int nproc) {
  DUO_CHECK(nproc >= 2 && nproc <= kMaxLocalProcesses, "--nproc is {}; expected 1..{}", nproc, kMaxLocalProcesses);
  std::vector<std::string> args = self_argv();
  auto argv = pointers(args);
  const int port = free_port();
  // Built before fork: between fork and exec the child only calls async-signal-safe functions.
  std::vector<std::vector<std::string>> envs;
  std::vector<std::vector<char*>> envps;
  for (int r = 0; r < nproc; ++r) envs.push_back(child_env(r, nproc, port));
  for (auto& e : envs) envps.push_back(pointers(e));

  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  struct sigaction old_int {}, old_term {};
  ::sigaction(SIGINT, &sa, &old_int);
  ::sigaction(SIGTERM, &sa, &old_term);

  const pid_t parent = ::getpid();
  std::vector<pid_t> pids(nproc, -1);
  std::vector<bool> alive(nproc, false);
  int n_alive = 0;
  auto signal_all = [&](int sig) {
    for (int r = 0; r < nproc; ++r)
      if (alive[r]) ::kill(pids[r], sig);
  };
  for (int r = 0; r < nproc; ++r) {
    const pid_t pid = ::fork();
    if (pid < 0) {
      const int err = errno;
      signal_all(SIGKILL);
      for (int q = 0; q < r; ++q) ::waitpid(pids[q], nullptr, 0);
      fail("duo train --nproc: cannot start process {} of {}: {}", r, nproc, std::strerror(err));
    }
    if (pid == 0) {
      ::signal(SIGINT, SIG_DFL);
      ::signal(SIGTERM, SIG_DFL);
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(1);  // the launcher died before prctl took effect
      ::execve("/proc/self/exe", argv.data(), envps[r].data());
      ::_exit(127);
    }
    pids[r] = pid;
    alive[r] = true;
    ++n_alive;
  }
  core::log_info("duo train --nproc {}: started ranks 0..{} (pids {}), rendezvous at 127.0.0.1:{}", nproc, nproc - 1,
                 fmt::join(pids, " "), port);

  using Clock = std::chrono::steady_clock;
  int code = 0;
  int forwarded = 0;
  bool stopping = false, terminated = false;
  Clock::time_point term_at{}, kill_at{};
  while (n_alive > 0) {
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid > 0) {
      int r = 0;
      while (r < nproc && pids[r] != pid) ++r;
      if (r == nproc) continue;  // not ours
      alive[r] = false;
      --n_alive;
      const int c = exit_code(status);
      if (c != 0 && code == 0 && forwarded == 0) {
        code = c;
        if (n_alive > 0)
          core::log_line(core::LogLevel::kError,
                         fmt::format("duo train --nproc {}: rank {} (pid {}) {}; stopping the other ranks", nproc, r,
                                     pid, describe(status)));
      }
      if (c != 0 && !stopping) {
        stopping = true;
        term_at = Clock::now() + std::chrono::milliseconds(static_cast<int>(kStopGrace * 1000));
      }
      continue;
    }
    if (g_signal != 0 && forwarded == 0) {
      forwarded = g_signal;
      code = 128 + forwarded;
      signal_all(forwarded);
      stopping = true;
      term_at = Clock::now() + std::chrono::milliseconds(static_cast<int>(kStopGrace * 1000));
    }
    const auto now = Clock::now();
    if (stopping && !terminated && now >= term_at) {
      signal_all(SIGTERM);
      terminated = true;
      kill_at = now + std::chrono::milliseconds(static_cast<int>(kStopGrace * 1000));
    }
    if (terminated && now >= kill_at) signal_all(SIGKILL);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ::sigaction(SIGINT, &old_int, nullptr);
  ::sigaction(SIGTERM, &old_term, nullptr);
  return code;
}

}  // namespace duo::dist
