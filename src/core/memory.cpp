// glibc heap policy (see memory.h).
#include "core/memory.h"

#include <malloc.h>

#include <cstdlib>
#include <string>

namespace duo::core {

void keep_freed_memory() {
  const char* opt = std::getenv("DUO_KEEP_FREED_MEMORY");
  if (opt != nullptr && std::string(opt) == "0") return;
  mallopt(M_MMAP_MAX, 0);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);  // the largest value mallopt takes; bench trims explicitly
}

void release_free_memory() { malloc_trim(0); }

}  // namespace duo::core
