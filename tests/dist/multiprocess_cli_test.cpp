// `duo train` on several processes, as users start it, on the committed models/duo-tiny with
// short generated samples (128..256 tokens) and one thread per process:
//   - 1 process, `--nproc 2`, and 4 ranks started here with the torchrun environment on a free
//     127.0.0.1 port give the same gates, history and optimizer state, bit for bit;
//   - a bad sample on rank 1 (DUO_FAULT_BAD_SAMPLE) stops both ranks within seconds with one
//     message naming rank 1; the last checkpoint stays, and --resume on 4 ranks (another world
//     size) finishes the run equal to an uninterrupted one;
//   - Ctrl-C (SIGINT) to the `--nproc` launcher, or SIGKILL of it, leaves no rank alive; a rank
//     killed outright stops the other (closed connection) and the launcher;
//   - a backend this build lacks (nccl) and bad --nproc values are one error line.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "common/free_port.h"
#include "common/cli_runner.h"
#include "io/hdf5.h"

namespace fs = std::filesystem;
using duo::testing::RunResult;
using duo::testing::run_duo;
using duo::testing::slurp;
using Clock = std::chrono::steady_clock;

namespace {

const fs::path kSource = DUO_SOURCE_DIR;
const fs::path kModel = kSource / "models" / "duo-tiny";

fs::path fresh(const std::string& name) {
  auto d = fs::temp_directory_path() / ("duo_dist_cli_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

// The duo-tiny data recipe with shorter samples (a step takes milliseconds).
fs::path short_data_config(const fs::path& dir) {
  std::string y = slurp(kSource / "configs/data/duo-tiny.yaml");
  auto set = [&](const std::string& from, const std::string& to) {
    const auto pos = y.find(from);
    EXPECT_NE(pos, std::string::npos) << from;
    if (pos != std::string::npos) y.replace(pos, from.size(), to);
  };
  set("context_min: 256", "context_min: 128");
  set("context_max: 1024", "context_max: 256");
  set("num_samples: 500", "num_samples: 40");
  const auto p = dir / "data.yaml";
  std::ofstream(p) << y;
  return p;
}

std::string train_args(const fs::path& dir, const fs::path& out, int steps, int batch, bool shuffle = true) {
  return "train -q --threads 1 --config '" + (kSource / "configs/train/duo-tiny.yaml").string() + "' --set model='" +
         kModel.string() + "' --set data_config='" + short_data_config(dir).string() + "' --set steps=" +
         std::to_string(steps) + " --set batch_size=" + std::to_string(batch) + " --set shuffle=" +
         (shuffle ? "true" : "false") + " --set checkpoint_every=1 --dist-timeout 60 --set output_dir='" +
         out.string() + "'";
}

using duo::testing::free_port;

// Starts `duo <args>` with stdout/stderr to <dir>/<tag>.out|.err and extra environment variables.
pid_t spawn_duo(const std::string& args, const fs::path& dir, const std::string& tag,
                const std::vector<std::pair<std::string, std::string>>& env) {
  const std::string cmd = "exec " + std::string(DUO_BINARY) + " " + args + " >'" + (dir / (tag + ".out")).string() +
                          "' 2>'" + (dir / (tag + ".err")).string() + "'";
  const pid_t pid = ::fork();
  if (pid == 0) {
    for (const auto& [k, v] : env) ::setenv(k.c_str(), v.c_str(), 1);
    ::execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  return pid;
}

int wait_code(pid_t pid) {
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// `world` ranks started here as torchrun would (RANK, WORLD_SIZE, ... on a free port); returns
// each rank's exit code; rank r's stderr is <dir>/rank<r>.err.
std::vector<int> run_ranks(const std::string& args, const fs::path& dir, int world,
                           std::vector<std::pair<std::string, std::string>> extra = {}) {
  const std::string port = std::to_string(free_port());
  std::vector<pid_t> pids;
  for (int r = 0; r < world; ++r) {
    auto env = extra;
    env.insert(env.end(), {{"RANK", std::to_string(r)}, {"WORLD_SIZE", std::to_string(world)},
                           {"LOCAL_RANK", std::to_string(r)}, {"LOCAL_WORLD_SIZE", std::to_string(world)},
                           {"MASTER_ADDR", "127.0.0.1"}, {"MASTER_PORT", port}});
    pids.push_back(spawn_duo(args, dir, "rank" + std::to_string(r), env));
  }
  std::vector<int> codes;
  for (pid_t p : pids) codes.push_back(wait_code(p));
  return codes;
}

void expect_same_results(const fs::path& a, const fs::path& b) {
  EXPECT_EQ(slurp(a / "full_attention_heads.tsv"), slurp(b / "full_attention_heads.tsv")) << a << " vs " << b;
  duo::io::H5Reader ha(a / "history.h5"), hb(b / "history.h5");
  EXPECT_EQ(ha.read_vector<double>("distill_loss"), hb.read_vector<double>("distill_loss"));
  EXPECT_EQ(ha.read_vector<float>("gates"), hb.read_vector<float>("gates"));
  EXPECT_EQ(ha.read_vector<int64_t>("seq_len"), hb.read_vector<int64_t>("seq_len"));
  duo::io::H5Reader sa(a / "checkpoint" / "state.h5"), sb(b / "checkpoint" / "state.h5");
  EXPECT_EQ(sa.read_vector<float>("gates"), sb.read_vector<float>("gates"));
  EXPECT_EQ(sa.read_vector<float>("adam_m"), sb.read_vector<float>("adam_m"));
  EXPECT_EQ(sa.read_vector<float>("adam_v"), sb.read_vector<float>("adam_v"));
  EXPECT_EQ(sa.attr_int("", "data_pos"), sb.attr_int("", "data_pos"));
}

int64_t checkpoint_step(const fs::path& run) {
  return duo::io::H5Reader(run / "checkpoint" / "state.h5").attr_int("", "step");
}

// Children of `parent` (from /proc/<pid>/stat).
std::vector<pid_t> children_of(pid_t parent) {
  std::vector<pid_t> out;
  for (const auto& e : fs::directory_iterator("/proc")) {
    const std::string name = e.path().filename().string();
    if (name.empty() || !std::all_of(name.begin(), name.end(), ::isdigit)) continue;
    std::ifstream f(e.path() / "stat");
    std::string stat((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    const auto close = stat.rfind(')');
    if (close == std::string::npos) continue;
    char state = 0;
    int ppid = 0;
    if (std::sscanf(stat.c_str() + close + 1, " %c %d", &state, &ppid) == 2 && ppid == parent)
      out.push_back(std::stoi(name));
  }
  return out;
}

// RANK in a process's environment (-1 when unreadable).
int rank_of(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/environ", std::ios::binary);
  std::string var;
  while (std::getline(f, var, '\0'))
    if (var.rfind("RANK=", 0) == 0) return std::stoi(var.substr(5));
  return -1;
}

// A process that is gone, or a zombie nobody reaped (no longer running).
bool gone(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  if (!f) return true;
  std::string stat((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  const auto close = stat.rfind(')');
  return close != std::string::npos && close + 2 < stat.size() && (stat[close + 2] == 'Z' || stat[close + 2] == 'X');
}

bool all_gone_within(const std::vector<pid_t>& pids, std::chrono::seconds limit) {
  const auto deadline = Clock::now() + limit;
  while (Clock::now() < deadline) {
    if (std::all_of(pids.begin(), pids.end(), gone)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

}  // namespace

// batch 4: one process, 2 local processes (--nproc), 4 ranks with the torchrun environment.
TEST(MultiProcess, OneTwoAndFourProcessesGiveTheSameGates) {
  const auto dir = fresh("equal");
  const RunResult one = run_duo(train_args(dir, dir / "one", 3, 4), dir);
  ASSERT_EQ(one.code, 0) << one.err;
  const RunResult two = run_duo(train_args(dir, dir / "two", 3, 4) + " --nproc 2", dir);
  ASSERT_EQ(two.code, 0) << two.err;
  EXPECT_NE(two.out.find("trained 3 steps"), std::string::npos) << two.out;  // rank 0 alone prints it
  EXPECT_EQ(std::count(two.out.begin(), two.out.end(), '\n'), 1) << two.out;
  const auto codes = run_ranks(train_args(dir, dir / "four", 3, 4), dir, 4);
  ASSERT_EQ(codes, (std::vector<int>{0, 0, 0, 0})) << slurp(dir / "rank0.err") << slurp(dir / "rank3.err");
  expect_same_results(dir / "one", dir / "two");
  expect_same_results(dir / "one", dir / "four");
  // 4 samples per step: 3 steps moved the data order 12 samples on.
  EXPECT_EQ(duo::io::H5Reader(dir / "four" / "checkpoint" / "state.h5").attr_int("", "data_pos"), 12);
  // batch 4 is not batch 1 (the comparison above can fail).
  const RunResult b1 = run_duo(train_args(dir, dir / "b1", 3, 1), dir);
  ASSERT_EQ(b1.code, 0) << b1.err;
  EXPECT_NE(slurp(dir / "one" / "full_attention_heads.tsv"), slurp(dir / "b1" / "full_attention_heads.tsv"));
  fs::remove_all(dir);
}

// shuffle off, batch 2: step 3 draws samples 4 and 5; sample 5 (batch position 1) is rank 1's.
TEST(MultiProcess, BadSampleOnOneRankStopsAllThenResumeOnFourRanks) {
  const auto dir = fresh("fail");
  const RunResult ref = run_duo(train_args(dir, dir / "ref", 5, 2, /*shuffle=*/false), dir);
  ASSERT_EQ(ref.code, 0) << ref.err;
  const auto t0 = Clock::now();
  const auto codes =
      run_ranks(train_args(dir, dir / "run", 5, 2, /*shuffle=*/false), dir, 2, {{"DUO_FAULT_BAD_SAMPLE", "5"}});
  const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  EXPECT_LT(seconds, 45.0);  // the failure reaches rank 0 at once, not after dist_timeout (60 s)
  EXPECT_EQ(codes, (std::vector<int>{1, 1}));
  const std::string e0 = slurp(dir / "rank0.err"), e1 = slurp(dir / "rank1.err");
  EXPECT_EQ(e1, "error: rank 1 of 2: sample 5: rejected (DUO_FAULT_BAD_SAMPLE test seam); expected a valid sample\n");
  EXPECT_NE(e0.find("error: step 3: rank 1 of 2 failed: sample 5: rejected"), std::string::npos) << e0;
  EXPECT_EQ(std::count(e0.begin(), e0.end(), '\n'), 1) << e0;
  EXPECT_EQ(checkpoint_step(dir / "run"), 2);
  // Resume on 4 ranks (batch 2: ranks 2 and 3 idle, warned about) and then on 1: as uninterrupted.
  const auto again = run_ranks(train_args(dir, dir / "run", 5, 2, /*shuffle=*/false) + " --resume", dir, 4);
  ASSERT_EQ(again, (std::vector<int>{0, 0, 0, 0})) << slurp(dir / "rank0.err");
  EXPECT_NE(slurp(dir / "rank0.err").find("ranks 2..3 get no samples"), std::string::npos);
  expect_same_results(dir / "ref", dir / "run");
  fs::remove_all(dir);
}

TEST(MultiProcess, ResumeFromOneProcessOnTwo) {
  const auto dir = fresh("resume12");
  const RunResult ref = run_duo(train_args(dir, dir / "ref", 4, 2, /*shuffle=*/false), dir);
  ASSERT_EQ(ref.code, 0) << ref.err;
  ::setenv("DUO_FAULT_BAD_SAMPLE", "6", 1);  // step 4 fails on the one process
  const RunResult part = run_duo(train_args(dir, dir / "run", 4, 2, /*shuffle=*/false), dir);
  ::unsetenv("DUO_FAULT_BAD_SAMPLE");
  EXPECT_EQ(part.code, 1);
  EXPECT_EQ(part.err, "error: sample 6: rejected (DUO_FAULT_BAD_SAMPLE test seam); expected a valid sample\n");
  EXPECT_EQ(checkpoint_step(dir / "run"), 3);
  const RunResult rest = run_duo(train_args(dir, dir / "run", 4, 2, /*shuffle=*/false) + " --resume --nproc 2", dir);
  ASSERT_EQ(rest.code, 0) << rest.err;
  expect_same_results(dir / "ref", dir / "run");
  fs::remove_all(dir);
}

// Ctrl-C to the launcher: it forwards SIGINT, every rank stops, exit code 130. SIGKILL to the
// launcher: the ranks die with it (PR_SET_PDEATHSIG).
TEST(MultiProcess, LauncherLeavesNoOrphans) {
  const auto dir = fresh("orphans");
  for (int sig : {SIGINT, SIGKILL}) {
    const auto out = dir / ("run" + std::to_string(sig));
    const pid_t sh = spawn_duo(train_args(dir, out, 100000, 2) + " --nproc 2", dir, "launcher", {});
    // `exec` in the shell: sh's pid is the launcher's. Wait until both ranks run and trained a step.
    std::vector<pid_t> ranks;
    const auto deadline = Clock::now() + std::chrono::seconds(60);
    while (Clock::now() < deadline) {
      ranks = children_of(sh);
      if (ranks.size() == 2 && fs::exists(out / "checkpoint" / "state.h5")) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ASSERT_EQ(ranks.size(), 2u) << slurp(dir / "launcher.err");
    ::kill(sh, sig);
    const int code = wait_code(sh);
    EXPECT_EQ(code, 128 + sig) << slurp(dir / "launcher.err");
    EXPECT_TRUE(all_gone_within(ranks, std::chrono::seconds(20))) << "a rank outlived the launcher (signal " << sig << ")";
  }
  fs::remove_all(dir);
}

// A rank killed outright (no message): the other notices the closed connection at its next
// collective and stops with an error naming itself; the launcher exits with the killed rank's
// status (128 + 9) and leaves nothing running.
TEST(MultiProcess, KilledRankStopsTheOthers) {
  const auto dir = fresh("killed");
  const auto out = dir / "run";
  const pid_t sh = spawn_duo(train_args(dir, out, 100000, 2) + " --nproc 2", dir, "launcher", {});
  std::vector<pid_t> ranks;
  const auto deadline = Clock::now() + std::chrono::seconds(60);
  while (Clock::now() < deadline) {
    ranks = children_of(sh);
    if (ranks.size() == 2 && fs::exists(out / "checkpoint" / "state.h5")) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_EQ(ranks.size(), 2u) << slurp(dir / "launcher.err");
  if (rank_of(ranks[0]) == 1) std::swap(ranks[0], ranks[1]);
  ASSERT_EQ(rank_of(ranks[1]), 1);
  const auto t0 = Clock::now();
  ::kill(ranks[1], SIGKILL);
  const int code = wait_code(sh);
  EXPECT_LT(Clock::now() - t0, std::chrono::seconds(20));
  EXPECT_EQ(code, 128 + SIGKILL);
  EXPECT_TRUE(all_gone_within(ranks, std::chrono::seconds(10)));
  const std::string err = slurp(dir / "launcher.err");
  EXPECT_NE(err.find("rank 1 (pid " + std::to_string(ranks[1]) + ") was killed by signal 9"), std::string::npos) << err;
  EXPECT_NE(err.find("rank 0 of 2 lost contact with the other ranks"), std::string::npos) << err;
  fs::remove_all(dir);
}

TEST(MultiProcess, BadDistributedOptionsAreOneErrorLine) {
  const auto dir = fresh("bad");
  struct Case {
    std::string args, expected;
  };
  const std::vector<Case> cases = {
      {" --dist-backend nccl", "this build of duo has no NCCL process group"},
      {" --nproc 0", "--nproc is 0; expected 1..256"},
      {" --set batch_size=0", "key 'batch_size' must be in 1..65536; got 0"},
  };
  for (const auto& c : cases) {
    const RunResult r = run_duo(train_args(dir, dir / "out", 2, 1) + c.args, dir);
    EXPECT_EQ(r.code, 1) << c.args;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << c.args << "\n" << r.err;
    EXPECT_NE(r.err.find(c.expected), std::string::npos) << c.args << "\n" << r.err;
  }
  ::setenv("RANK", "two", 1);
  ::setenv("WORLD_SIZE", "2", 1);
  const RunResult r = run_duo(train_args(dir, dir / "out", 2, 1), dir);
  ::unsetenv("RANK");
  ::unsetenv("WORLD_SIZE");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("environment variable RANK='two'; expected a non-negative integer"), std::string::npos) << r.err;
  fs::remove_all(dir);
}
