// `duo gen-data`: writes the synthetic passkey-retrieval training set (data_gen/) to HDF5.
//
//   duo gen-data --config configs/data/passkey.yaml --tokenizer DIR --out FILE.h5 [--set k=v]
//                [--preview N]
// --preview N prints N decoded samples with their needles and labels marked (with or without
// --out). The resolved options are stored in the file's "config" attribute and written beside
// it as FILE.config.yaml.
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "cli/command.h"
#include "cli/run_options.h"
#include "core/atomic_file.h"
#include "core/error.h"
#include "core/file_checks.h"
#include "core/log.h"
#include "core/sha256.h"
#include "core/threads.h"
#include "data_gen/generate.h"
#include "data_gen/passkey_samples.h"
#include "io/options.h"
#include "tokenizer/tokenizer.h"

namespace fs = std::filesystem;

namespace {

struct Args {
  duo::cli::CommonOptions common;
  std::string config;
  std::string tokenizer;
  std::string out;
  std::vector<std::string> sets;
  int preview = 0;
};

// The tokenizer.json a --tokenizer argument names (a file, or a folder holding one).
fs::path tokenizer_json(const std::string& arg) {
  fs::path p(arg);
  if (fs::is_directory(p)) p /= "tokenizer.json";
  DUO_CHECK(fs::is_regular_file(p), "--tokenizer: expected tokenizer.json or a folder holding one, got '{}'", arg);
  return p;
}

void run(const Args& a) {
  duo::cli::apply_common_options(a.common);
  DUO_CHECK(!a.out.empty() || a.preview > 0, "gen-data: expected --out FILE.h5 or --preview N, got neither");
  if (!a.out.empty()) duo::core::check_output_file(a.out, "gen-data: --out");  // before the slow part
  if (!a.out.empty()) duo::core::check_output_file(duo::cli::config_path_beside(a.out), "gen-data: --out's config");
  duo::data_gen::GenOptions opts;
  duo::io::resolve_options(opts, a.config, a.sets);  // defaults < YAML < --set; unknown keys are errors
  duo::data_gen::validate_options(opts);  // before the slow part

  fs::path tok_path = tokenizer_json(a.tokenizer);
  auto tok = duo::tokenizer::Tokenizer::load(tok_path.string());
  duo::data_gen::DatasetMeta meta;
  meta.config_yaml = duo::io::options_to_yaml(opts);
  meta.seed = opts.seed;
  meta.tokenizer_sha256 = duo::core::sha256_file_hex(tok_path);
  meta.tokenizer_path = tok_path.string();

  if (a.preview > 0) {
    duo::data_gen::PasskeySampleGenerator gen(tok, opts);
    for (int64_t i = 0; i < std::min<int64_t>(a.preview, opts.num_samples); ++i) {
      std::fputs(duo::data_gen::preview_sample(tok, gen.sample(i)).c_str(), stdout);
    }
    std::fflush(stdout);
  }
  if (a.out.empty()) return;
  const fs::path config_out = duo::cli::config_path_beside(a.out);
  int threads = a.common.threads > 0 ? a.common.threads : duo::core::available_cores();
  auto st = duo::data_gen::generate_dataset(tok, opts, a.out, meta, a.common.quiet, threads);
  duo::core::write_file_atomic(config_out, meta.config_yaml);
  duo::core::log_info("gen-data: wrote {} samples, {} tokens (lengths {}..{}) to {} in {:.1f}s", st.samples, st.tokens,
                      st.min_length, st.max_length, a.out, st.seconds);
}

void add_command(CLI::App& app) {
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("gen-data", "Generate the synthetic passkey-retrieval training set (HDF5)");
  cmd->add_option("--config", args->config, "YAML options (configs/data/passkey.yaml, configs/data/classic.yaml)");
  cmd->add_option("--tokenizer", args->tokenizer, "tokenizer.json or the model folder holding it")->required();
  cmd->add_option("--out", args->out, "output dataset file (.h5)");
  cmd->add_option("--set", args->sets, "override an option: key=value (repeatable)");
  cmd->add_option("--preview", args->preview, "print N decoded samples with needles and labels marked");
  duo::cli::add_common_options(cmd, args->common);
  cmd->footer([] {
    duo::data_gen::GenOptions defaults;
    return "Options (YAML keys and --set):\n" + duo::io::options_help(defaults);
  }());
  cmd->callback([args] { run(*args); });
}

DUO_COMMAND(40, add_command);

}  // namespace
