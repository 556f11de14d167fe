// A scratch folder for the fuzz targets that must hand the parser a file: one per process,
// created on first use under $TMPDIR (the fuzzer writes a file there per input), removed at exit.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>

namespace duo::fuzz {

// The process's scratch folder.
const std::filesystem::path& scratch_dir();

// Writes the bytes to scratch_dir()/name (replacing it) and returns the path.
std::filesystem::path write_scratch(const std::string& name, const uint8_t* data, size_t size);

}  // namespace duo::fuzz
