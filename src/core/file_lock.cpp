// flock-based run-folder lock (see file_lock.h).
#include "core/file_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/error.h"

namespace duo::core {

FileLock::FileLock(const std::filesystem::path& path, const std::string& who) : path_(path) {
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  DUO_CHECK(fd_ >= 0, "{}: cannot open the lock file: {}", path.string(), std::strerror(errno));
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    // The holder wrote its process id when it took the lock; it is only a hint for the message.
    char buf[32] = {};
    const ssize_t n = ::pread(fd_, buf, sizeof(buf) - 1, 0);
    ::close(fd_);
    fd_ = -1;
    const std::string holder = n > 0 ? fmt::format("process {}", std::string(buf, strcspn(buf, "\n"))) : "a process";
    DUO_CHECK(err != EWOULDBLOCK, "{}: in use by another {} ({} holds the lock {}); wait for it to finish or choose "
              "another folder", path.parent_path().string(), who, holder, path.string());
    fail("{}: cannot lock: {}", path.string(), std::strerror(err));
  }
  const std::string pid = fmt::format("{}\n", static_cast<long>(::getpid()));
  if (::ftruncate(fd_, 0) == 0) (void)!::pwrite(fd_, pid.data(), pid.size(), 0);
}

FileLock::~FileLock() {
  if (fd_ >= 0) ::close(fd_);  // closing the descriptor releases the lock
}

}  // namespace duo::core
