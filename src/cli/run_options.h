// The option surface of the run commands (train, decode, bench, export, sweep, niah). Each command
// has one plain options struct with a visit() (io/options.h) naming every YAML key, filled as
//
//   defaults < --config FILE.yaml < --set key=value (in order) < flags given on the command line.
//
// A flag is bound to a field of a spare copy of the struct; only a flag the user gave (CLI11's
// count()) is copied over the YAML and --set values, so no field needs a "not given" sentinel.
// `--help` lists the keys with their defaults, and each command writes its resolved options
// beside its outputs (io::write_options_yaml).
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "core/stream_window.h"
#include "io/options.h"

namespace duo::cli {

// Options every run command shares. Their YAML keys sit at the top level of each command's keys
// (`threads: 2`, not `common: {threads: 2}`), as in the train YAMLs.
struct CommonOptions {
  int threads = 0;     // LibTorch threads; 0 = all cores
  bool quiet = false;  // no progress line, warnings and errors only

  template <class V>
  void visit(V& v) {
    v("threads", threads, "CPU threads for LibTorch (0 = all cores)");
    v("quiet", quiet, "no progress line; warnings and errors only");
  }
};

// Storage precision for the commands that decode (decode, niah, sweep, bench); the compute dtype
// (--dtype) is separate.
// - kv_dtype: the KV cache holds K/V in this dtype and the decode kernel reads it directly,
//   accumulating in fp32 (runtime/decoder.h, "KV precision"). bf16 halves the bytes decoding reads
//   per token; tests hold logits within a stated tolerance of an fp32 cache and the duo-tiny
//   passkey grid unchanged.
// - weight_dtype: how the weight matrices (linear layers, embedding) are stored. "auto" keeps a
//   bf16/f16 checkpoint's matrices in 16 bits under fp32 compute (no widening at load; the
//   linears widen exactly, so results are those of the widened weights) and otherwise uses the
//   compute dtype; bf16 / f16 round the matrices to 16 bits (fp32 compute only); fp32 widens them.
struct StorageOptions {
  std::string kv_dtype = "bf16";      // fp32 | bf16 | f16
  std::string weight_dtype = "auto";  // auto | fp32 | bf16 | f16

  template <class V>
  void visit(V& v) {
    v("kv_dtype", kv_dtype, "KV cache dtype: bf16 | f16 | fp32 (attention accumulates in fp32)");
    v("weight_dtype", weight_dtype,
      "weight matrices' storage: auto (a bf16/f16 checkpoint stays 16-bit) | bf16 | f16 | fp32; compute is dtype");
  }
};

// Threads per available core --threads accepts at most.
constexpr int kMaxThreadsPerCore = 4;
// Throws unless 0 <= threads <= kMaxThreadsPerCore x the cores this process may run on.
void check_threads(int threads);

// Validates and applies the common options (thread count, log level); returns the threads in use.
// Call it first in a command's callback, before any work.
int apply_common_options(const CommonOptions& opts);
// Adds --threads and --quiet/-q bound to `opts` (commands without a --config surface).
void add_common_options(CLI::App* cmd, CommonOptions& opts);

// The deploy window of the masks a command exports or builds (random:S masks): written into a
// mask folder's config.json as sink_size / recent_size. Never the training window
// (train_sink / train_recent).
struct DeployWindowOptions {
  int64_t deploy_sink = kDeployWindow.sink;      // leading tokens a streaming head keeps
  int64_t deploy_recent = kDeployWindow.recent;  // most recent tokens a streaming head keeps

  template <class V>
  void visit(V& v) {
    v("deploy_sink", deploy_sink, "deploy window: sink tokens every streaming head keeps");
    v("deploy_recent", deploy_recent, "deploy window: most recent tokens every streaming head keeps (>= 1)");
  }
  // The validated window (errors name the keys and flags).
  StreamWindow window() const {
    return StreamWindow::make(deploy_sink, deploy_recent, "deploy_sink/deploy_recent (--deploy-sink/--deploy-recent)");
  }
};

// Where a command that writes one file puts its resolved options: FILE.json -> FILE.config.yaml
// (the extension replaced, as gen-data's FILE.h5 -> FILE.config.yaml).
std::filesystem::path config_path_beside(const std::filesystem::path& out);

// Throws "<command>: key '<key>' is empty; expected <what> (<flag> or <key>: in --config)"
// when `value` is empty: for keys a command cannot run without.
void require_key(const std::string& value, const std::string& command, const std::string& key,
                 const std::string& flag, const std::string& what);

// Binds --config, --set and flags of one command to an options struct T (see the file comment).
// Create it with std::make_shared in the function that adds the command: the command's flags
// point into it.
template <class T>
class OptionSurface {
 public:
  // Adds --config FILE and --set key=value to `cmd`, and T's keys with their defaults to its
  // --help footer.
  OptionSurface(CLI::App* cmd, const std::string& config_help) : cmd_(cmd) {
    cmd->add_option("--config", config_, config_help);
    cmd->add_option("--set", sets_, "Override an option: key=value (repeatable; keys below)");
    T defaults;
    cmd->footer("Options (YAML keys for --config and --set; a flag given wins):\n" + io::options_help(defaults));
  }

  // Adds an option for the field at `path` (members from T down, e.g. &X::common,
  // &CommonOptions::threads); given on the command line it wins over the YAML and --set.
  template <class... Path>
  CLI::Option* option(const std::string& names, const std::string& help, Path... path) {
    auto& field = (flags_ .* ... .* path);
    auto* opt = cmd_->add_option(names, field, help)->capture_default_str();
    bind(opt, path...);
    return opt;
  }
  // The same for a bool field set by a flag without a value.
  template <class... Path>
  CLI::Option* flag(const std::string& names, const std::string& help, Path... path) {
    auto* opt = cmd_->add_flag(names, (flags_ .* ... .* path), help);
    bind(opt, path...);
    return opt;
  }
  // Adds --kv-dtype and --weight-dtype for the StorageOptions at `path`.
  template <class... Path>
  void storage_flags(Path... path) {
    option("--kv-dtype", "KV cache dtype: bf16, f16 or fp32", path..., &StorageOptions::kv_dtype);
    option("--weight-dtype", "Weight matrices' storage: auto, bf16, f16 or fp32 (compute: --dtype)", path...,
           &StorageOptions::weight_dtype);
  }
  // Adds --threads and --quiet/-q for the CommonOptions at `path`.
  template <class... Path>
  void common_flags(Path... path) {
    option("--threads", "CPU threads for LibTorch (0 = all cores)", path..., &CommonOptions::threads);
    flag("--quiet,-q", "No progress line; warnings and errors only", path..., &CommonOptions::quiet);
  }

  // The resolved options: `start` (the defaults) < YAML < --set < the flags given.
  T resolve(T start = T()) const {
    io::resolve_options(start, config_, sets_);
    for (const auto& [opt, copy] : given_)
      if (opt->count() > 0) copy(start, flags_);
    return start;
  }

 private:
  template <class... Path>
  void bind(const CLI::Option* opt, Path... path) {
    given_.emplace_back(opt, [path...](T& to, const T& from) { (to .* ... .* path) = (from .* ... .* path); });
  }

  CLI::App* cmd_;
  std::string config_;
  std::vector<std::string> sets_;
  T flags_;  // what the flags parse into
  std::vector<std::pair<const CLI::Option*, std::function<void(T&, const T&)>>> given_;
};

}  // namespace duo::cli
