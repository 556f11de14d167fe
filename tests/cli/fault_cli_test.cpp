// Faults as a user meets them, through the `duo` binary on the committed models/duo-tiny: a full
// disk while `duo train` checkpoints and while `duo gen-data` writes (simulated by the
// DUO_FAULT_DISK_FULL_AFTER seam, and for real by a file-size limit on the child), a second
// train on a folder whose lock is held, outputs onto a FIFO, folders given as input files, and
// `kill -9` at a random step followed by --resume. Each ends in one "error: ..." line and exit
// code 1 with the previous outputs intact and no temporary files, or (resume) in results
// bitwise equal to an uninterrupted run.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <thread>

#include "common/cli_runner.h"
#include "io/hdf5.h"

namespace fs = std::filesystem;
using duo::testing::RunResult;
using duo::testing::run_duo;
using duo::testing::slurp;

namespace {

const fs::path kSource = DUO_SOURCE_DIR;
const fs::path kModel = kSource / "models" / "duo-tiny";
constexpr int kSteps = 8;  // every run below: 8 steps, a checkpoint after each

fs::path fresh(const std::string& name) {
  auto d = fs::temp_directory_path() / ("duo_fault_cli_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

std::string train_args(const fs::path& out) {
  return "train -q --threads 1 --config '" + (kSource / "configs/train/duo-tiny.yaml").string() + "' --set model='" +
         kModel.string() + "' --set data_config='" + (kSource / "configs/data/duo-tiny.yaml").string() +
         "' --set steps=" + std::to_string(kSteps) + " --set checkpoint_every=1 --set output_dir='" + out.string() + "'";
}

std::string gen_data_args(const fs::path& out) {
  return "gen-data -q --threads 1 --tokenizer '" + kModel.string() + "' --config '" +
         (kSource / "configs/data/duo-tiny.yaml").string() + "' --set num_samples=4 --out '" + out.string() + "'";
}

int lines(const std::string& s) { return static_cast<int>(std::count(s.begin(), s.end(), '\n')); }

// Files named "*.tmp.*" anywhere under `dir` (an atomic writer's leftovers).
int temp_files(const fs::path& dir) {
  int n = 0;
  for (auto& e : fs::recursive_directory_iterator(dir)) n += e.path().filename().string().find(".tmp.") != std::string::npos;
  return n;
}

// run_duo with DUO_FAULT_DISK_FULL_AFTER=n in the child's environment.
RunResult run_duo_disk_full_after(int n, const std::string& args, const fs::path& dir) {
  ::setenv("DUO_FAULT_DISK_FULL_AFTER", std::to_string(n).c_str(), 1);
  RunResult r = run_duo(args, dir);
  ::unsetenv("DUO_FAULT_DISK_FULL_AFTER");
  return r;
}

// Starts `duo <args>` (stdout/stderr to files in `dir`) in a child process. With max_file_bytes
// > 0 the child may not write any file past that size: a real write failure (EFBIG) in every
// writer, as on a full disk, without mounting anything.
pid_t spawn_duo(const std::string& args, const fs::path& dir, rlim_t max_file_bytes = 0) {
  const std::string cmd = "exec " + std::string(DUO_BINARY) + " " + args + " >" + (dir / "stdout.txt").string() +
                          " 2>" + (dir / "stderr.txt").string();
  const pid_t pid = ::fork();
  if (pid == 0) {
    if (max_file_bytes > 0) {
      ::signal(SIGXFSZ, SIG_IGN);  // the write fails with EFBIG instead of killing the process
      struct rlimit lim = {max_file_bytes, max_file_bytes};
      ::setrlimit(RLIMIT_FSIZE, &lim);
    }
    ::execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  return pid;
}

RunResult wait_duo(pid_t pid, const fs::path& dir) {
  int status = 0;
  ::waitpid(pid, &status, 0);
  RunResult r;
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = slurp(dir / "stdout.txt");
  r.err = slurp(dir / "stderr.txt");
  return r;
}

int64_t checkpoint_step(const fs::path& run) {
  return duo::io::H5Reader(run / "checkpoint" / "state.h5").attr_int("", "step");
}

// The results of a run that must equal the uninterrupted reference bit for bit.
void expect_same_results(const fs::path& a, const fs::path& b) {
  EXPECT_EQ(slurp(a / "full_attention_heads.tsv"), slurp(b / "full_attention_heads.tsv"));
  duo::io::H5Reader ha(a / "history.h5"), hb(b / "history.h5");
  EXPECT_EQ(ha.read_vector<double>("distill_loss"), hb.read_vector<double>("distill_loss"));
  EXPECT_EQ(ha.read_vector<float>("gates"), hb.read_vector<float>("gates"));
  duo::io::H5Reader sa(a / "checkpoint" / "state.h5"), sb(b / "checkpoint" / "state.h5");
  EXPECT_EQ(sa.read_vector<float>("gates"), sb.read_vector<float>("gates"));
  EXPECT_EQ(sa.read_vector<float>("adam_v"), sb.read_vector<float>("adam_v"));
}

class FaultCli : public ::testing::Test {
 protected:
  // One uninterrupted run, shared by the tests that compare against it.
  static void SetUpTestSuite() {
    reference_ = new fs::path(fresh("reference"));
    const RunResult r = run_duo(train_args(*reference_ / "run"), *reference_);
    ASSERT_EQ(r.code, 0) << r.err;
  }
  static void TearDownTestSuite() {
    fs::remove_all(*reference_);
    delete reference_;
  }
  static fs::path reference() { return *reference_ / "run"; }

 private:
  static fs::path* reference_;
};
fs::path* FaultCli::reference_ = nullptr;

}  // namespace

// Commits: config.yaml, config.json, then per step state.h5 and the TSV. After 4, the state of
// step 2 fails: the state of step 1 stays, nothing temporary is left, and --resume finishes the
// run exactly as if the disk had never filled.
TEST_F(FaultCli, DiskFullWhileTrainCheckpointsKeepsThePreviousState) {
  const auto dir = fresh("train_full");
  const auto run = dir / "run";
  RunResult r = run_duo_disk_full_after(4, train_args(run), dir);
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_EQ(lines(r.err), 1) << r.err;
  EXPECT_NE(r.err.find("state.h5: write failed: No space left on device"), std::string::npos) << r.err;
  EXPECT_EQ(temp_files(run), 0);
  EXPECT_EQ(checkpoint_step(run), 1);
  r = run_duo(train_args(run) + " --resume", dir);
  ASSERT_EQ(r.code, 0) << r.err;
  expect_same_results(reference(), run);
  fs::remove_all(dir);
}

// A real write failure (a 4 KiB file-size limit: state.h5 is ~11 KB) used to crash in HDF5's
// cleanup (segfault, temp file left). Now: one error line, exit 1, no temp file, no state.
TEST_F(FaultCli, RealWriteFailureInTrainIsOneErrorLine) {
  const auto dir = fresh("train_efbig");
  const auto run = dir / "run";
  const RunResult r = wait_duo(spawn_duo(train_args(run), dir, /*max_file_bytes=*/4096), dir);
  EXPECT_EQ(r.code, 1) << r.err;  // -1: killed by a signal
  EXPECT_EQ(lines(r.err), 1) << r.err;
  EXPECT_NE(r.err.find("state.h5: write failed"), std::string::npos) << r.err;
  EXPECT_EQ(temp_files(run), 0);
  EXPECT_FALSE(fs::exists(run / "checkpoint" / "state.h5"));
  fs::remove_all(dir);
}

TEST_F(FaultCli, DiskFullWhileGenDataKeepsThePreviousDataset) {
  const auto dir = fresh("gen_full");
  const auto data = dir / "data.h5";
  RunResult r = run_duo(gen_data_args(data), dir);
  ASSERT_EQ(r.code, 0) << r.err;
  const std::string before = slurp(data);
  ASSERT_FALSE(before.empty());
  r = run_duo_disk_full_after(0, gen_data_args(data) + " --set seed=7", dir);
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_EQ(lines(r.err), 1) << r.err;
  EXPECT_NE(r.err.find("data.h5: write failed: No space left on device"), std::string::npos) << r.err;
  EXPECT_EQ(slurp(data), before);
  EXPECT_EQ(temp_files(dir), 0);
  // For real: the dataset (~25 KB) cannot be written under a 4 KiB file-size limit.
  r = wait_duo(spawn_duo(gen_data_args(data) + " --set seed=8", dir, /*max_file_bytes=*/4096), dir);
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_EQ(lines(r.err), 1) << r.err;
  EXPECT_EQ(slurp(data), before);
  EXPECT_EQ(temp_files(dir), 0);
  fs::remove_all(dir);
}

// A running train holds <output_dir>/.lock (flock); here the test holds it, as a first train would.
TEST_F(FaultCli, SecondTrainOnOneFolderIsRefused) {
  const auto dir = fresh("lock");
  const auto run = dir / "run";
  fs::create_directories(run);
  const int fd = ::open((run / ".lock").c_str(), O_RDWR | O_CREAT, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::flock(fd, LOCK_EX | LOCK_NB), 0);
  const RunResult r = run_duo(train_args(run), dir);
  ::close(fd);
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_EQ(lines(r.err), 1) << r.err;
  EXPECT_NE(r.err.find("in use by another duo train"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(run / "config.yaml"));  // refused before writing anything
  EXPECT_FALSE(fs::exists(run / "checkpoint"));
  fs::remove_all(dir);
}

// The same for duo pretrain: its run folder's lock is held, so a second pretrain is refused.
TEST_F(FaultCli, SecondPretrainOnOneFolderIsRefused) {
  const auto dir = fresh("pretrain_lock");
  const auto run = dir / "run";
  fs::create_directories(run);
  const int fd = ::open((run / ".lock").c_str(), O_RDWR | O_CREAT, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::flock(fd, LOCK_EX | LOCK_NB), 0);
  const RunResult r = run_duo("pretrain -q --threads 1 --config '" + (kSource / "configs/pretrain/duo-tiny.yaml").string() +
                                  "' --out '" + run.string() + "'",
                              dir);
  ::close(fd);
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_EQ(lines(r.err), 1) << r.err;
  EXPECT_NE(r.err.find("in use by another duo pretrain"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(run / "checkpoint.safetensors"));  // refused before any step
  fs::remove_all(dir);
}

TEST_F(FaultCli, OutputOntoFifoOrWrongKindIsRefused) {
  const auto dir = fresh("fifo");
  const auto fifo = dir / "node";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const std::string m = " --model '" + kModel.string() + "'";
  const std::string f = "'" + fifo.string() + "'";
  const std::pair<std::string, std::string> cases[] = {
      {gen_data_args(fifo), "gen-data: --out '" + fifo.string() + "': expected a regular file or a new path, got a FIFO"},
      {"decode" + m + " --ids 1,2,3 --max-new-tokens 2 --out " + f, "got a FIFO"},
      {"bench" + m + " --mask random:0.5 --out " + f, "got a FIFO"},
      {"export --gates nowhere --sparsity 0.5 --out " + f, "expected a folder or a new path, got a FIFO"},
      {"niah" + m + " --out " + f, "expected a folder or a new path, got a FIFO"},
      {train_args(fifo), "train: output_dir '" + fifo.string() + "': expected a folder or a new path, got a FIFO"},
      {"forward" + m + " --ids 1,2 --out " + f, "forward: --out '" + fifo.string() + "': expected a regular file"},
      {"make-checkpoint --preset '" + (kSource / "configs/models/tiny-llama.yaml").string() + "' --out " + f,
       "make-checkpoint: --out '" + fifo.string() + "': expected a folder or a new path, got a FIFO"},
      {"pretrain -q --config '" + (kSource / "configs/pretrain/duo-tiny.yaml").string() + "' --out " + f,
       "expected a folder or a new path, got a FIFO"},
      {gen_data_args(dir), "got a folder"},  // a folder where a file is expected
  };
  for (const auto& [args, expected] : cases) {
    const RunResult r = run_duo(args, dir);
    EXPECT_EQ(r.code, 1) << args << "\n" << r.err;
    EXPECT_EQ(lines(r.err), 1) << args << "\n" << r.err;
    EXPECT_NE(r.err.find(expected), std::string::npos) << args << "\n" << r.err;
    EXPECT_TRUE(fs::is_fifo(fifo)) << args;  // left as it was
  }
  fs::remove_all(dir);
}

TEST_F(FaultCli, FolderGivenAsInputFileIsRefused) {
  const auto dir = fresh("dir_input");
  const std::string d = "'" + dir.string() + "'";
  const std::pair<std::string, std::string> cases[] = {
      {"niah --print-config --config " + d, dir.string() + ": expected a file, got a folder"},
      {"train --config " + d, dir.string() + ": expected a file, got a folder"},
      {"decode --model '" + kModel.string() + "' --prompt-file " + d,
       "decode: --prompt-file '" + dir.string() + "': expected a file, got a folder"},
      {"tokenize --tokenizer '" + kModel.string() + "' --text-file " + d,
       "tokenize: --text-file '" + dir.string() + "': expected a file, got a folder"},
  };
  for (const auto& [args, expected] : cases) {
    const RunResult r = run_duo(args, dir);
    EXPECT_EQ(r.code, 1) << args << "\n" << r.out << r.err;
    EXPECT_EQ(lines(r.err), 1) << args << "\n" << r.err;
    EXPECT_NE(r.err.find(expected), std::string::npos) << args << "\n" << r.err;
  }
  fs::remove_all(dir);
}

// kill -9 once the checkpoint of a random step k (1..kSteps-2) is on disk: the process dies mid
// step or mid write. --resume then gives the uninterrupted run's results bit for bit (and the
// dead process's lock is gone).
TEST_F(FaultCli, KillAtRandomStepThenResumeEqualsUninterrupted) {
  const auto dir = fresh("kill");
  const auto run = dir / "run";
  std::random_device rd;
  const int k = 1 + static_cast<int>(rd() % (kSteps - 2));
  const pid_t pid = spawn_duo(train_args(run), dir);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  bool reached = false;
  while (!reached && std::chrono::steady_clock::now() < deadline) {
    try {
      reached = fs::exists(run / "checkpoint" / "state.h5") && checkpoint_step(run) >= k;
    } catch (const std::exception&) {
    }
    if (!reached) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ::kill(pid, SIGKILL);
  const RunResult killed = wait_duo(pid, dir);
  ASSERT_TRUE(reached) << "no checkpoint of step " << k << " within 120 s\n" << killed.err;
  const int64_t at = checkpoint_step(run);
  ASSERT_LT(at, kSteps) << "the run finished before the kill (k = " << k << ")";
  EXPECT_EQ(killed.code, -1);  // killed by the signal
  const RunResult r = run_duo(train_args(run) + " --resume", dir);
  ASSERT_EQ(r.code, 0) << "killed after step " << at << ": " << r.err;
  expect_same_results(reference(), run);
  fs::remove_all(dir);
}
