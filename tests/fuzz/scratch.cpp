#include "fuzz/scratch.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>

namespace duo::fuzz {
namespace fs = std::filesystem;

namespace {
struct Scratch {
  fs::path dir;
  Scratch() {
    dir = fs::temp_directory_path() / ("duo_fuzz_" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
  }
  ~Scratch() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};
}  // namespace

const fs::path& scratch_dir() {
  static Scratch s;
  return s.dir;
}

fs::path write_scratch(const std::string& name, const uint8_t* data, size_t size) {
  fs::path p = scratch_dir() / name;
  std::FILE* f = std::fopen(p.c_str(), "wb");
  if (!f || (size > 0 && std::fwrite(data, 1, size, f) != size) || std::fclose(f) != 0) {
    std::perror(("fuzz: cannot write " + p.string()).c_str());
    std::abort();
  }
  return p;
}

}  // namespace duo::fuzz
