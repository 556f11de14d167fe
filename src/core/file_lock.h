// An exclusive lock on a run folder, so that two runs (two `duo train`, two `duo pretrain`) never
// write into one folder at once. flock(2) on a lock file inside the folder: held for the life of
// the FileLock, released by the kernel when the process exits or is killed (a crashed run never
// leaves a stale lock; the lock file itself stays, empty of meaning until locked again).
#pragma once

#include <filesystem>
#include <string>

namespace duo::core {

class FileLock {
 public:
  // Takes the lock on `path` (created if missing) without waiting. When another process holds
  // it, throws duo::Error: "<folder> is in use by another <who> (process N holds <path>); ...".
  FileLock(const std::filesystem::path& path, const std::string& who);
  ~FileLock();
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  int fd_ = -1;
};

// The lock file of a run folder: "<dir>/.lock".
inline std::filesystem::path run_lock_path(const std::filesystem::path& dir) { return dir / ".lock"; }

}  // namespace duo::core
