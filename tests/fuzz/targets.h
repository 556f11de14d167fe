// Fuzz targets: one entry point per parser that reads a user's file, shared by the libFuzzer
// harnesses (scripts/fuzz.sh, built with clang + ASan + UBSan) and by the corpus replay test of the
// normal suite (tests/fuzz/corpus_replay_test.cpp, any compiler).
//
// Each target feeds the bytes to the parser as a user's file would reach it (through a file in a
// scratch folder where the parser reads files) and then checks what must hold:
//   - a rejection is a duo::Error with a message (never another exception type, never a crash,
//     never an "internal error" assertion);
//   - an accepted input satisfies the parser's documented invariants (offsets inside the file,
//     ids inside the vocabulary, ...) and round-trips where the format has a writer
//     (parse(format(x)) == x).
// A broken invariant or an unexpected exception calls fuzz_bug(), which prints and aborts, so that
// libFuzzer records a crash and the replay test dies loudly.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace duo::fuzz {

enum class Outcome { kAccepted, kRejected };

using TargetFn = Outcome (*)(const uint8_t* data, size_t size);

struct Target {
  const char* name;  // also the corpus folder: tests/fuzz/corpus/<name>/
  TargetFn fn;
};

Outcome fuzz_safetensors(const uint8_t* data, size_t size);       // a .safetensors file
Outcome fuzz_checkpoint_index(const uint8_t* data, size_t size);  // model.safetensors.index.json
Outcome fuzz_model_config(const uint8_t* data, size_t size);      // config.json -> ModelConfig
Outcome fuzz_tokenizer(const uint8_t* data, size_t size);         // tokenizer.json, then encode/decode
Outcome fuzz_gate_tsv(const uint8_t* data, size_t size);          // full_attention_heads.tsv
Outcome fuzz_yaml_options(const uint8_t* data, size_t size);      // a gen-data YAML config
Outcome fuzz_dataset(const uint8_t* data, size_t size);           // the passkey dataset HDF5
Outcome fuzz_run_state(const uint8_t* data, size_t size);         // checkpoint/state.h5 of a run
// The same two formats' items, decoded from the bytes, through the checks that follow the read
// (targets_items.cpp: no file, no HDF5 library, thousands of inputs a second).
Outcome fuzz_dataset_items(const uint8_t* data, size_t size);
Outcome fuzz_run_state_items(const uint8_t* data, size_t size);

// Every target above, in this order.
const std::vector<Target>& all_targets();

// Prints "fuzz: BUG in <target>: <what>" to stderr and aborts.
[[noreturn]] void fuzz_bug(const char* target, const std::string& what);

}  // namespace duo::fuzz
