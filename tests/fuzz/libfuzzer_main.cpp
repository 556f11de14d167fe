// The libFuzzer entry point for one target, chosen at compile time with -DDUO_FUZZ_TARGET=<name>
// (scripts/fuzz.sh builds fuzz_<name> for each target in targets.h).
#include <cstddef>
#include <cstdint>

#include "fuzz/targets.h"

#ifndef DUO_FUZZ_TARGET
#error "define DUO_FUZZ_TARGET, e.g. -DDUO_FUZZ_TARGET=safetensors"
#endif
#define DUO_CONCAT2(a, b) a##b
#define DUO_CONCAT(a, b) DUO_CONCAT2(a, b)

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)DUO_CONCAT(duo::fuzz::fuzz_, DUO_FUZZ_TARGET)(data, size);
  return 0;
}
