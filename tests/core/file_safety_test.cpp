// Output and input path checks, and the run-folder lock: an atomic write never replaces a FIFO,
// device node or folder; a folder is never read as an empty file; a second holder of a run
// folder's lock is refused, and a killed holder's lock is released by the kernel.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "common/error_of.h"
#include "common/temp_dir.h"
#include "core/atomic_file.h"
#include "core/error.h"
#include "core/file_checks.h"
#include "core/file_lock.h"

namespace fs = std::filesystem;
using duo::testing::error_of;

namespace {

fs::path fresh(const std::string& name) { return duo::testing::fresh_temp_dir("file_safety", name); }

int count_entries(const fs::path& dir) {
  int n = 0;
  for (auto& e : fs::directory_iterator(dir)) n += e.path().filename() != ".lock";
  return n;
}

}  // namespace

TEST(FileSafety, AtomicWriteRefusesFifoAndFolder) {
  const auto dir = fresh("fifo");
  const auto fifo = dir / "out.json";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  std::string msg = error_of([&] { duo::core::write_file_atomic(fifo, "x"); });
  EXPECT_NE(msg.find("expected a regular file or a new path, got a FIFO"), std::string::npos) << msg;
  EXPECT_TRUE(fs::is_fifo(fifo));  // left as it was
  EXPECT_EQ(count_entries(dir), 1);  // and no temporary file beside it
  fs::create_directories(dir / "folder");
  msg = error_of([&] { duo::core::AtomicFile f(dir / "folder"); });
  EXPECT_NE(msg.find("got a folder"), std::string::npos) << msg;
  EXPECT_TRUE(fs::is_directory(dir / "folder"));
  // A folder target must not be a file.
  duo::core::write_file_atomic(dir / "file", "x");
  msg = error_of([&] { duo::core::check_output_folder(dir / "file", "--out"); });
  EXPECT_EQ(msg, "--out '" + (dir / "file").string() + "': expected a folder or a new path, got a regular file");
  EXPECT_NO_THROW(duo::core::check_output_folder(dir / "new", "--out"));
  EXPECT_NO_THROW(duo::core::check_output_file(dir / "file", "--out"));
  fs::remove_all(dir);
}

TEST(FileSafety, FolderIsNotReadAsEmptyFile) {
  const auto dir = fresh("read");
  std::string msg = error_of([&] { duo::core::read_file(dir); });
  EXPECT_EQ(msg, dir.string() + ": expected a file, got a folder");
  msg = error_of([&] { duo::core::check_input_file(dir, "--prompt-file"); });
  EXPECT_EQ(msg, "--prompt-file '" + dir.string() + "': expected a file, got a folder");
  msg = error_of([&] { duo::core::read_file(dir / "missing"); });
  EXPECT_NE(msg.find("missing: cannot open: no such file"), std::string::npos) << msg;
  fs::remove_all(dir);
}

TEST(FileSafety, SecondLockHolderIsRefusedUntilTheFirstReleases) {
  const auto dir = fresh("lock");
  const auto path = duo::core::run_lock_path(dir);
  {
    duo::core::FileLock first(path, "duo train");
    const std::string msg = error_of([&] { duo::core::FileLock second(path, "duo train"); });
    EXPECT_NE(msg.find("in use by another duo train (process " + std::to_string(::getpid())), std::string::npos)
        << msg;
  }
  EXPECT_NO_THROW(duo::core::FileLock again(path, "duo train"));
  fs::remove_all(dir);
}

TEST(FileSafety, LockOfAKilledProcessIsReleased) {
  const auto dir = fresh("lock_kill");
  const auto path = duo::core::run_lock_path(dir);
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    try {
      duo::core::FileLock held(path, "duo train");
      (void)!::write(ready[1], "1", 1);
      ::pause();  // holds the lock until killed
    } catch (...) {
    }
    ::_exit(1);
  }
  char c = 0;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  EXPECT_THROW(duo::core::FileLock(path, "duo train"), duo::Error);  // the child holds it
  ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
  EXPECT_NO_THROW(duo::core::FileLock(path, "duo train"));  // released by the kernel
  ::close(ready[0]);
  ::close(ready[1]);
  fs::remove_all(dir);
}
