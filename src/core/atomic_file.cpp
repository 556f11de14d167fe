// Temp-file + rename output (see atomic_file.h).
#include "core/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <sstream>

#include "core/error.h"
#include "core/file_checks.h"

namespace duo::core {
namespace {

std::filesystem::path make_temp_name(const std::filesystem::path& target) {
  static std::atomic<int> counter{0};
  std::filesystem::path p = target;
  p += fmt::format(".tmp.{}.{}", static_cast<long>(::getpid()), counter++);
  return p;
}

// Syncs a written file; a disk that fills up (or fails) may only say so here. Returns 0 or errno.
int fsync_path(const std::filesystem::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) return 0;
  const int err = ::fsync(fd) == 0 ? 0 : errno;
  ::close(fd);
  return err == ENOSPC || err == EDQUOT || err == EIO ? err : 0;
}

// The DUO_FAULT_DISK_FULL_AFTER seam (see atomic_file.h): true when this commit must fail.
bool simulated_disk_full() {
  static const long allowed = [] {
    const char* v = std::getenv("DUO_FAULT_DISK_FULL_AFTER");
    if (v == nullptr || *v == '\0') return -1L;
    char* end = nullptr;
    const long n = std::strtol(v, &end, 10);
    return *end == '\0' && n >= 0 ? n : -1L;
  }();
  static std::atomic<long> commits{0};
  return allowed >= 0 && commits++ >= allowed;
}

}  // namespace

AtomicFile::AtomicFile(std::filesystem::path target) : target_(std::move(target)) {
  check_output_file(target_);  // never rename over a device node, FIFO or folder
  if (target_.has_parent_path()) {
    std::error_code ec;
    std::filesystem::create_directories(target_.parent_path(), ec);
    DUO_CHECK(!ec, "{}: cannot create folder '{}': {}", target_.string(), target_.parent_path().string(),
              ec.message());
  }
  temp_ = make_temp_name(target_);
}

AtomicFile::~AtomicFile() {
  if (!committed_) {
    if (stream_.is_open()) stream_.close();
    std::error_code ec;
    std::filesystem::remove(temp_, ec);
  }
}

std::ofstream& AtomicFile::stream() {
  if (!stream_.is_open()) {
    stream_.open(temp_, std::ios::binary | std::ios::trunc);
    DUO_CHECK(stream_.is_open(), "{}: cannot open for writing: {}", temp_.string(), std::strerror(errno));
  }
  return stream_;
}

void AtomicFile::commit() {
  DUO_CHECK(!committed_, "{}: committed twice", target_.string());
  if (stream_.is_open()) {
    stream_.flush();
    stream_.close();  // sets failbit when the last write or the close fails
    DUO_CHECK(!stream_.fail(), "{}: write failed (disk full?): {}", target_.string(), std::strerror(errno));
  }
  DUO_CHECK(std::filesystem::exists(temp_), "{}: nothing was written to the temporary file '{}'",
            target_.string(), temp_.string());
  const int sync_error = simulated_disk_full() ? ENOSPC : fsync_path(temp_);
  DUO_CHECK(sync_error == 0, "{}: write failed: {}; the previous file, if any, is unchanged", target_.string(),
            std::strerror(sync_error));
  check_output_file(target_);  // again: something may have appeared under that name meanwhile
  std::error_code ec;
  std::filesystem::rename(temp_, target_, ec);
  DUO_CHECK(!ec, "{}: cannot rename '{}' over it: {}", target_.string(), temp_.string(), ec.message());
  committed_ = true;
}

void write_file_atomic(const std::filesystem::path& path, std::string_view bytes) {
  AtomicFile out(path);
  out.stream().write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.commit();
}

std::string read_file(const std::filesystem::path& path) {
  check_input_file(path);  // a folder opens as an empty stream on Linux
  std::ifstream in(path, std::ios::binary);
  DUO_CHECK(in.is_open(), "{}: cannot open: {}", path.string(),
            std::filesystem::exists(path) ? std::strerror(errno) : "no such file");
  std::ostringstream ss;
  ss << in.rdbuf();
  DUO_CHECK(!in.bad(), "{}: read failed", path.string());
  return ss.str();
}

}  // namespace duo::core
