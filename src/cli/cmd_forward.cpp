// `duo forward --model DIR --ids 1,2,3 [--dtype fp32|bf16] --out FILE.h5`: one forward pass with
// every head full. Writes HDF5 datasets `logits` (float32 [T, vocab]) and `hidden` (float32
// [T, hidden_size], the final hidden state after the last norm). This interface is how the forward
// pass is checked against an independent implementation: keep it exactly. The file is written
// atomically, and nothing is written on any error (bad ids, bad checkpoint, ...).
#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include <cstdio>
#include <string>
#include <vector>

#include "cli/command.h"
#include "cli/run_options.h"
#include "cli/ids.h"
#include "core/error.h"
#include "core/file_checks.h"
#include "core/log.h"
#include "io/hdf5.h"
#include "model/model.h"

namespace {

struct ForwardOptions {
  std::string model;
  std::string ids;
  std::string dtype = "fp32";
  std::string out;
  duo::cli::CommonOptions common;
};


void run(const ForwardOptions& o) {
  duo::cli::apply_common_options(o.common);
  const auto ids = duo::cli::parse_id_list(o.ids);
  const auto dtype = duo::model::parse_dtype(o.dtype, "--dtype");
  DUO_CHECK(dtype == at::kFloat || dtype == at::kBFloat16, "--dtype: expected fp32 or bf16; got '{}'", o.dtype);
  duo::core::check_output_file(o.out, "forward: --out");  // before the model loads
  auto model = duo::model::Model::load(o.model, {dtype});
  const auto& cfg = model.config();
  for (size_t i = 0; i < ids.size(); ++i) {
    DUO_CHECK(ids[i] >= 0 && ids[i] < cfg.vocab_size, "--ids: token id at position {} out of range; expected 0 <= id < {}, got {}",
              i, cfg.vocab_size, ids[i]);
  }
  c10::NoGradGuard no_grad;
  at::Tensor hidden = model.hidden(at::tensor(ids, at::kLong));  // [T, hidden]
  at::Tensor logits = model.lm_head(hidden);                      // [T, vocab] float32
  duo::io::H5Writer out(o.out);
  out.write("logits", logits.to(at::kFloat).contiguous());
  out.write("hidden", hidden.to(at::kFloat).contiguous());
  out.set_attr("", "model", o.model);
  out.set_attr("", "model_type", cfg.model_type);
  out.set_attr("", "dtype", duo::model::dtype_name(dtype));
  out.commit();
  duo::core::log_info("forward: {} tokens -> {} (logits [{}, {}], hidden [{}, {}])", ids.size(), o.out, ids.size(),
                      cfg.vocab_size, ids.size(), cfg.hidden_size);
}

void add_command(CLI::App& app) {
  auto opts = std::make_shared<ForwardOptions>();
  auto* cmd = app.add_subcommand("forward", "Run one forward pass and write logits and the final hidden state (HDF5)");
  cmd->add_option("--model", opts->model, "Model folder (Hugging Face layout)")->required();
  cmd->add_option("--ids", opts->ids, "Token ids, comma-separated (e.g. 1,2,3)")->required();
  cmd->add_option("--dtype", opts->dtype, "Compute dtype: fp32 or bf16")->default_val("fp32");
  cmd->add_option("--out", opts->out, "Output HDF5 file (datasets logits, hidden)")->required();
  duo::cli::add_common_options(cmd, opts->common);
  cmd->callback([opts] { run(*opts); });
}

DUO_COMMAND(20, add_command);

}  // namespace
