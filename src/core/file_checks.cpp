// Path checks before reading or writing (see file_checks.h).
#include "core/file_checks.h"

#include "core/error.h"

namespace duo::core {
namespace fs = std::filesystem;
namespace {

std::string kind_of(fs::file_type t) {
  switch (t) {
    case fs::file_type::not_found: return "nothing";
    case fs::file_type::regular: return "a regular file";
    case fs::file_type::directory: return "a folder";
    case fs::file_type::symlink: return "a symbolic link";
    case fs::file_type::block: return "a block device";
    case fs::file_type::character: return "a character device";
    case fs::file_type::fifo: return "a FIFO";
    case fs::file_type::socket: return "a socket";
    default: return "an unknown kind of file";
  }
}

// "--out '/x'" for commands, "/x" for library callers.
std::string subject(const fs::path& path, std::string_view what) {
  return what.empty() ? path.string() : fmt::format("{} '{}'", what, path.string());
}

fs::file_type type_of(const fs::path& path) {
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);  // follows links; not_found when missing
  return st.type() == fs::file_type::none ? fs::file_type::not_found : st.type();
}

}  // namespace

std::string path_kind(const fs::path& path) { return kind_of(type_of(path)); }

void check_output_file(const fs::path& path, std::string_view what) {
  const fs::file_type t = type_of(path);
  DUO_CHECK(t == fs::file_type::not_found || t == fs::file_type::regular,
            "{}: expected a regular file or a new path, got {}", subject(path, what), kind_of(t));
}

void check_output_folder(const fs::path& path, std::string_view what) {
  const fs::file_type t = type_of(path);
  DUO_CHECK(t == fs::file_type::not_found || t == fs::file_type::directory,
            "{}: expected a folder or a new path, got {}", subject(path, what), kind_of(t));
}

void check_input_file(const fs::path& path, std::string_view what) {
  const fs::file_type t = type_of(path);
  DUO_CHECK(t != fs::file_type::not_found, "{}: cannot open: no such file", subject(path, what));
  DUO_CHECK(t == fs::file_type::regular || t == fs::file_type::fifo || t == fs::file_type::character,
            "{}: expected a file, got {}", subject(path, what), kind_of(t));
}

}  // namespace duo::core
