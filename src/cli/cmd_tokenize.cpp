// `duo tokenize`: encodes text with a Hugging Face tokenizer.json and prints the ids on one
// line, separated by single spaces; with --decode, prints the text of --ids instead.
//   duo tokenize --tokenizer models/llama3 --text "Hello world"
//   duo tokenize --tokenizer tokenizer.json --text-file essay.txt --add-special-tokens
//   duo tokenize --tokenizer tokenizer.json --decode --ids 9906,1917
#include "cli/command.h"
#include "cli/run_options.h"
#include "cli/ids.h"
#include "core/error.h"
#include "core/log.h"
#include "core/printable.h"
#include "core/file_checks.h"
#include "tokenizer/tokenizer.h"

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace {

struct TokenizeOptions {
  duo::cli::CommonOptions common;
  std::string tokenizer;          // tokenizer.json or a model directory holding one
  std::string text;               // --text
  std::string text_file;          // --text-file
  bool add_special_tokens = false;
  bool decode = false;            // decode --ids instead of encoding
  std::string ids;                // --ids: comma- or space-separated
  bool skip_special_tokens = false;
  bool strict_utf8 = false;       // refuse text that is not valid UTF-8 (else warn)
};

std::string read_all(const std::string& path) {
  duo::core::check_input_file(path, "tokenize: --text-file");  // a folder would read as empty text
  std::ifstream in(path, std::ios::binary);
  DUO_CHECK(in.good(), "tokenize: cannot open --text-file '{}'", path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}


// Token ids outside int32 cannot exist in any vocabulary; the tokenizer rejects unknown ids.
std::vector<int32_t> to_int32(const std::vector<int64_t>& ids) {
  std::vector<int32_t> out;
  for (int64_t id : ids) {
    DUO_CHECK(id >= 0 && id < (int64_t{1} << 31), "tokenize: --ids item {} is not a token id; expected a non-negative "
              "integer below 2^31", id);
    out.push_back(static_cast<int32_t>(id));
  }
  return out;
}

void run(const TokenizeOptions& o) {
  duo::cli::apply_common_options(o.common);
  auto tok = duo::tokenizer::Tokenizer::load(o.tokenizer);
  if (o.decode) {
    std::string text = tok.decode(to_int32(duo::cli::parse_id_list(o.ids)), o.skip_special_tokens);
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fputc('\n', stdout);
    return;
  }
  std::string text = o.text_file.empty() ? o.text : read_all(o.text_file);
  // Invalid UTF-8 is encoded as U+FFFD per bad byte (as Hugging Face's lossy decoding): never
  // silently, and not at all with --strict-utf8.
  if (const size_t bad = duo::core::count_invalid_utf8(text); bad > 0) {
    const std::string source = o.text_file.empty() ? "--text" : o.text_file;
    const size_t at = duo::core::first_invalid_utf8(text);
    DUO_CHECK(!o.strict_utf8,
              "tokenize: {} is not valid UTF-8: {} invalid bytes, the first at byte offset {} (0x{:02x}); expected "
              "UTF-8 text (--strict-utf8)",
              source, bad, at, static_cast<unsigned>(static_cast<unsigned char>(text[at])));
    duo::core::log_warn("tokenize: {} is not valid UTF-8: {} invalid bytes (the first at byte offset {}) are encoded "
                        "as U+FFFD; --strict-utf8 refuses such input", source, bad, at);
  }
  std::vector<int32_t> ids = tok.encode(text, o.add_special_tokens);
  std::string line;
  line.reserve(ids.size() * 7 + 1);
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i > 0) line += ' ';
    line += std::to_string(ids[i]);
  }
  line += '\n';
  std::fwrite(line.data(), 1, line.size(), stdout);
}

void add_command(CLI::App& app) {
  auto opts = std::make_shared<TokenizeOptions>();
  auto* cmd = app.add_subcommand("tokenize", "Encode text to token ids (or decode ids) with a tokenizer.json");
  duo::cli::add_common_options(cmd, opts->common);
  cmd->add_option("--tokenizer", opts->tokenizer, "tokenizer.json, or a model directory holding one")->required();
  auto* text = cmd->add_option("--text", opts->text, "Text to encode");
  auto* file = cmd->add_option("--text-file", opts->text_file, "File whose bytes to encode");
  cmd->add_flag("--add-special-tokens", opts->add_special_tokens, "Apply the post-processor's template (e.g. BOS)");
  auto* decode = cmd->add_flag("--decode", opts->decode, "Decode --ids and print the text");
  auto* ids = cmd->add_option("--ids", opts->ids, "Ids to decode, comma-separated");
  cmd->add_flag("--skip-special-tokens", opts->skip_special_tokens, "With --decode: drop special tokens");
  cmd->add_flag("--strict-utf8", opts->strict_utf8,
                "Refuse text that is not valid UTF-8 (default: warn and encode each invalid byte as U+FFFD)");
  text->excludes(file);
  decode->excludes(text)->excludes(file);
  ids->needs(decode);
  cmd->callback([opts, text, file, decode, ids] {
    if (opts->decode) {
      DUO_CHECK(ids->count() > 0, "tokenize: --decode needs --ids");
    } else {
      DUO_CHECK(text->count() + file->count() == 1, "tokenize: give --text or --text-file (or --decode --ids)");
    }
    run(*opts);
  });
}

DUO_COMMAND(30, add_command);

}  // namespace
