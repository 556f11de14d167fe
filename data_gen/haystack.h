// Haystack text: the long filler the needles are hidden in, and its token array.
//
// Sources (one string, `haystack` in the configs):
//   "builtin"            the classic passkey filler, "The grass is green. The sky is blue. The sun
//                        is yellow. Here we go. There and back again." repeated (needs no files)
//   path/to/file.txt     one text file (any extension other than the JSON Lines ones)
//   path/to/dir          every regular file in the folder, in name order
//   path/to/f.jsonl      JSON Lines, one document per line in its string field "text"
//   path/to/f.jsonl.zst  the same, zstd-compressed (read streaming)
// Documents are concatenated with nothing between them, as the official generator does
// (`haystack += sample`), until enough text exists; the text is then tokenized once. When a
// source runs out first, its text is repeated (as the official needle test re-reads its essays).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace duo::tokenizer {
class Tokenizer;
}

namespace duo::data_gen {

// The classic filler sentence group (without a trailing space).
extern const char* const kBuiltinFiller;

// A stream of haystack documents.
class DocumentSource {
 public:
  virtual ~DocumentSource() = default;
  // The next document; false when the source is exhausted.
  virtual bool next(std::string& doc) = 0;
  // A short description for messages ("essays/ (49 files)").
  virtual std::string describe() const = 0;
};

// Opens a source by its spec (see the file comment). Throws duo::Error naming the path when it
// is missing, or a folder holds no files.
std::unique_ptr<DocumentSource> open_haystack(const std::string& spec);

// Tokens of the first `min_tokens` (or more) of the haystack, without special tokens. Throws
// when the source holds no text at all ("empty haystack").
std::vector<int32_t> tokenize_haystack(const tokenizer::Tokenizer& tok, const std::string& spec, int64_t min_tokens);

}  // namespace duo::data_gen
