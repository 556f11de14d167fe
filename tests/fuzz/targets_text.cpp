// Fuzz targets for the text formats: config.json, tokenizer.json, the gate/mask TSV, YAML options.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "data_gen/gen_options.h"
#include "data_gen/passkey_samples.h"
#include "fuzz/guard.h"
#include "io/json.h"
#include "io/options.h"
#include "mask/gate_table.h"
#include "model/model_config.h"
#include "tokenizer/tokenizer.h"

namespace duo::fuzz {

[[noreturn]] void fuzz_bug(const char* target, const std::string& what) {
  std::fprintf(stderr, "fuzz: BUG in %s: %s\n", target, what.c_str());
  std::fflush(stderr);
  std::abort();
}

namespace {
std::string as_text(const uint8_t* data, size_t size) { return std::string(reinterpret_cast<const char*>(data), size); }
}  // namespace

// config.json -> ModelConfig; an accepted config round-trips through to_json().
Outcome fuzz_model_config(const uint8_t* data, size_t size) {
  const char* name = "model_config";
  return guarded(name, [&] {
    auto cfg = model::ModelConfig::from_json(io::parse_json(as_text(data, size), "config.json"), "config.json");
    cfg.validate("config.json");
    const auto j = cfg.to_json();
    const auto again = model::ModelConfig::from_json(j, "round-trip").to_json();
    expect(again == j, name, "to_json() does not round-trip: " + j.dump() + " vs " + again.dump());
    expect(cfg.n_gqa() >= 1 && cfg.n_heads % cfg.n_kv_heads == 0, name, "accepted heads not divisible by KV heads");
  });
}

// tokenizer.json -> Tokenizer; encodes a few texts, every id is in the vocabulary and decodes.
Outcome fuzz_tokenizer(const uint8_t* data, size_t size) {
  const char* name = "tokenizer";
  static const std::string_view kTexts[] = {
      "", "Hello world", "  two  spaces\tand\ttabs\n", "The pass key is 71432. Remember it.",
      "caf\xc3\xa9 \xe4\xb8\xad\xe6\x96\x87 \xf0\x9f\x98\x80", "\xff\xfe broken utf-8 \xc3", "<s></s><unk>"};
  return guarded(name, [&] {
    auto tok = tokenizer::Tokenizer::from_json_string(as_text(data, size), "tokenizer.json");
    const int64_t vocab = tok.vocab_size();
    for (auto text : kTexts) {
      for (bool special : {false, true}) {
        const auto ids = tok.encode(text, special);
        for (int32_t id : ids) {
          expect(id >= 0 && id < vocab, name, "encode gave id " + std::to_string(id) + " outside [0, " +
                                                  std::to_string(vocab) + ")");
        }
        tok.decode(ids, false);  // an id that encode produced has a token: a throw here is a bug
        tok.decode(ids, true);
      }
    }
  });
}

// full_attention_heads.tsv -> GateTable; accepted tables are finite, rectangular and round-trip.
Outcome fuzz_gate_tsv(const uint8_t* data, size_t size) {
  const char* name = "gate_tsv";
  return guarded(name, [&] {
    const auto t = mask::parse_gate_tsv(as_text(data, size), "full_attention_heads.tsv");
    expect(t.n_layers > 0 && t.n_kv_heads > 0 && t.size() == static_cast<int64_t>(t.values.size()), name,
           "accepted table has shape " + t.shape_string() + " and " + std::to_string(t.values.size()) + " values");
    for (double v : t.values) expect(std::isfinite(v), name, "accepted a non-finite value");
    const auto again = mask::parse_gate_tsv(mask::format_gate_tsv(t), "round-trip");
    expect(again.n_layers == t.n_layers && again.n_kv_heads == t.n_kv_heads && again.values == t.values, name,
           "format_gate_tsv() does not round-trip");
  });
}

// A gen-data YAML config -> GenOptions (nested sections, lists, strings); the resolved YAML that
// duo writes beside its outputs loads back to the same options.
Outcome fuzz_yaml_options(const uint8_t* data, size_t size) {
  const char* name = "yaml_options";
  Outcome loaded = guarded(name, [&] {
    data_gen::GenOptions opts;
    io::load_yaml_options_string(opts, as_text(data, size), "gen.yaml");
    const std::string yaml = io::options_to_yaml(opts);
    data_gen::GenOptions again;
    try {
      io::load_yaml_options_string(again, yaml, "round-trip");
    } catch (const duo::Error& e) {
      fuzz_bug(name, std::string("the written YAML does not load back: ") + e.what() + "\n" + yaml);
    }
    expect(io::options_to_yaml(again) == yaml, name, "options_to_yaml() does not round-trip:\n" + yaml);
  });
  if (loaded == Outcome::kAccepted) {
    // Validation of the loaded values is part of the parser's contract too.
    data_gen::GenOptions opts;
    io::load_yaml_options_string(opts, as_text(data, size), "gen.yaml");
    return guarded(name, [&] { data_gen::validate_options(opts); });
  }
  return loaded;
}

}  // namespace duo::fuzz
