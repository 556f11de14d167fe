// Byte-pair encoding (tokenizer.json "model": {"type": "BPE"}): vocabulary, ranked merges
// (as "a b" strings or ["a", "b"] pairs), unk_token with fuse_unk, byte_fallback,
// ignore_merges, continuing_subword_prefix and end_of_word_suffix.
//
// Merging applies the lowest-ranked adjacent pair first, leftmost on ties, with a binary heap
// over a linked list of symbols (O(n log n) per word, as huggingface/tokenizers' word.rs).
// Results for pieces shorter than 256 bytes are cached; the cache is sharded and locked, so
// concurrent tokenize() calls are safe.
//
// Without a pre-tokenizer (SentencePiece-style BPE such as Llama 2) a whole text is one piece.
// Such pieces are cut before each word-start character ("▁" or " ") that follows another
// character, when the vocabulary proves no merge can cross that point: every token holding the
// character past its first position holds only that character before it. The cut is exact
// (merges on either side commute) and lets the cache work per word.
#pragma once

#include "tokenizer/flat_maps.h"
#include "tokenizer/model.h"

#include <array>
#include <mutex>
#include <optional>
#include <unordered_map>

namespace duo::tokenizer {

class BpeModel : public TokenModel {
 public:
  BpeModel(const Json& j, ModelTables tables, const std::string& where);
  // Reads vocab and merges from `j` itself.
  BpeModel(const Json& j, const std::string& where) : BpeModel(j, tables_from_json(j, where), where) {}
  ~BpeModel() override;

  void tokenize(std::string_view piece, std::vector<int32_t>& out) const override;
  int32_t token_to_id(std::string_view token) const override { return vocab_.find(token); }
  const std::string* id_to_token(int32_t id) const override;
  int64_t vocab_size() const override { return static_cast<int64_t>(tokens_.size()); }

  // The merge algorithm without the cache (the reference the cached path is tested against).
  void tokenize_uncached(std::string_view piece, std::vector<int32_t>& out) const;

 private:
  int32_t char_id(std::string_view piece, size_t start, size_t end, bool first, bool last) const;
  // tokenize() of one chunk, through the cache.
  void tokenize_cached(std::string_view piece, std::vector<int32_t>& out) const;
  // Chooses cut_char_ (see the file comment) from the vocabulary.
  void find_cut_char();

  StringIdMap vocab_;
  std::vector<std::string> tokens_;  // id -> token ("" for holes)
  std::vector<char> has_token_;      // id -> whether tokens_[id] is real
  PairMap merges_;
  std::vector<int32_t> small_char_ids_;  // code point < 0x800 -> id (-1 absent); plain chars only
  std::array<int32_t, 256> byte_ids_{};  // <0xXX> -> id (-1 absent)
  int32_t unk_id_ = -1;
  bool fuse_unk_ = false;
  bool byte_fallback_ = false;
  bool ignore_merges_ = false;
  std::string prefix_;  // continuing_subword_prefix
  std::string suffix_;  // end_of_word_suffix
  std::string cut_char_;  // UTF-8 of the word-start character pieces are cut before; "" for none

  static constexpr size_t kShards = 16;
  static constexpr size_t kMaxCachedPerShard = 16384;
  static constexpr size_t kMaxCachedLength = 256;
  struct Shard {
    std::mutex mutex;
    std::unordered_map<std::string, std::vector<int32_t>> map;
  };
  mutable std::array<Shard, kShards> cache_;
};

}  // namespace duo::tokenizer
