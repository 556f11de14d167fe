// Atomic file output: write to a temporary file beside the target, then rename over it, so a
// crash or an exception never leaves a half-written result under the final name.
//
//   duo::core::AtomicFile out(path);      // creates "<path>.tmp.<pid>.<n>"
//   write into out.temp_path() (any API) or out.stream()
//   out.commit();                          // fsync + rename; without commit() the temp is removed
//
// The target must be a new path or a regular file: a device node, FIFO, socket or folder under
// that name is refused (AtomicFile's constructor throws), never renamed over.
//
// Test seam: with DUO_FAULT_DISK_FULL_AFTER=N in the environment, the first N commits of the
// process succeed and every later one fails as on a full disk (ENOSPC, before the rename), so
// tests can check what a command leaves behind without filling a real disk.
#pragma once

#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

namespace duo::core {

class AtomicFile {
 public:
  explicit AtomicFile(std::filesystem::path target);
  ~AtomicFile();  // removes the temporary file unless commit() succeeded
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  const std::filesystem::path& target() const { return target_; }
  const std::filesystem::path& temp_path() const { return temp_; }
  // A binary stream on the temporary file, opened on first use.
  std::ofstream& stream();
  // Flushes and closes the stream (if used), syncs the temporary file to disk, renames it over
  // the target. Throws duo::Error on failure (the temporary file is then removed by the
  // destructor and the target is left as it was).
  void commit();

 private:
  std::filesystem::path target_;
  std::filesystem::path temp_;
  std::ofstream stream_;
  bool committed_ = false;
};

// Writes `bytes` to `path` atomically (creates parent folders).
void write_file_atomic(const std::filesystem::path& path, std::string_view bytes);

// Reads a whole file; throws duo::Error naming the file when it cannot be read or is a folder.
std::string read_file(const std::filesystem::path& path);

}  // namespace duo::core
