// Checks on the paths a command reads and writes, made before any work: an output must not
// replace something that is not ours (a device node, a FIFO, a folder), and an input must be
// a file, not a folder read as empty input. Each failure is one duo::Error naming the path,
// what was expected and what was found:
//   --out '/dev/null': expected a regular file or a new path, got a character device
//   --prompt-file 'notes': expected a file, got a folder
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace duo::core {

// "a regular file", "a folder", "a FIFO", "a character device", ..., or "nothing" when the path
// does not exist. Symbolic links are followed.
std::string path_kind(const std::filesystem::path& path);

// An output file: a new path or an existing regular file (replaced atomically). `what` names
// the option or key ("--out"); empty for library callers, which then name the path alone.
void check_output_file(const std::filesystem::path& path, std::string_view what = {});
// An output folder: a new path or an existing folder.
void check_output_folder(const std::filesystem::path& path, std::string_view what = {});
// An input read as a stream (YAML, text, prompt): it must exist and must not be a folder.
// FIFOs and character devices are read (`--prompt-file <(...)`, /dev/stdin).
void check_input_file(const std::filesystem::path& path, std::string_view what = {});

}  // namespace duo::core
