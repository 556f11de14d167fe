// Temp-file + rename output (see atomic_file.h).
#include "core/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <sstream>

#include "core/error.h"

namespace duo::core {
namespace {

std::filesystem::path make_temp_name(const std::filesystem::path& target) {
  static std::atomic<int> counter{0};
  std::filesystem::path p = target;
  p += fmt::format(".tmp.{}.{}", static_cast<long>(::getpid()), counter++);
  return p;
}

void fsync_path(const std::filesystem::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

}  // namespace

AtomicFile::AtomicFile(std::filesystem::path target) : target_(std::move(target)) {
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
    bool ok = static_cast<bool>(stream_);
    stream_.close();
    DUO_CHECK(ok, "{}: write failed (disk full?)", target_.string());
  }
  DUO_CHECK(std::filesystem::exists(temp_), "{}: nothing was written to the temporary file '{}'",
            target_.string(), temp_.string());
  fsync_path(temp_);
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
  std::ifstream in(path, std::ios::binary);
  DUO_CHECK(in.is_open(), "{}: cannot open: {}", path.string(),
            std::filesystem::exists(path) ? std::strerror(errno) : "no such file");
  std::ostringstream ss;
  ss << in.rdbuf();
  DUO_CHECK(!in.bad(), "{}: read failed", path.string());
  return ss.str();
}

}  // namespace duo::core
