// Parses tokenizer.json text into a JSON tree, except for model.vocab and model.merges, which
// go straight into ModelTables: those two hold hundreds of thousands of entries, and keeping
// them out of the tree (a std::map of strings) roughly halves the load time.
#pragma once

#include "tokenizer/json_fields.h"
#include "tokenizer/model.h"

#include <string>

namespace duo::tokenizer {

// The tree of `text` with model.vocab left as {} and model.merges as [] when they were
// captured into `tables` (an object vocabulary, a list of merges). `source` names the file.
Json parse_tokenizer_json(const std::string& text, const std::string& source, ModelTables& tables);

}  // namespace duo::tokenizer
