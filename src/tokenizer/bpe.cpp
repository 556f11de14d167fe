// BPE model (see bpe.h). Semantics follow huggingface/tokenizers models/bpe/{model,word}.rs;
// merge order and tie-breaking also match the JavaScript reference's heap (leftmost first).
#include "tokenizer/bpe.h"

#include "tokenizer/unicode.h"

#include <fmt/format.h>

#include <queue>
#include "core/printable.h"

namespace duo::tokenizer {

BpeModel::~BpeModel() = default;

BpeModel::BpeModel(const Json& j, ModelTables tables, const std::string& where) {
  if (auto it = j.find("dropout"); it != j.end() && !it->is_null()) {
    DUO_CHECK(it->is_number() && it->get<double>() == 0.0,
              "{}: BPE dropout {} is not supported (expected null or 0)", where, it->dump());
  }
  read_vocab(tables, where, vocab_, tokens_);
  has_token_.assign(tokens_.size(), 0);
  for (size_t id = 0; id < tokens_.size(); ++id)
    has_token_[id] = vocab_.find(tokens_[id]) == static_cast<int32_t>(id);

  prefix_ = optional_string(j, "continuing_subword_prefix", where).value_or("");
  suffix_ = optional_string(j, "end_of_word_suffix", where).value_or("");
  fuse_unk_ = bool_or(j, "fuse_unk", false, where);
  byte_fallback_ = bool_or(j, "byte_fallback", false, where);
  ignore_merges_ = bool_or(j, "ignore_merges", false, where);
  if (auto unk = optional_string(j, "unk_token", where)) {
    unk_id_ = vocab_.find(*unk);
    DUO_CHECK(unk_id_ >= 0, "{}: unk_token '{}' is not in the vocabulary", where, core::printable(*unk));
  }

  DUO_CHECK(tables.has_merges, "{}: missing field 'merges' (expected a list)", where);
  merges_.reserve(tables.merges.size());
  std::string merged;
  for (size_t rank = 0; rank < tables.merges.size(); ++rank) {
    const std::string& a = tables.merges[rank].first;
    const std::string& b = tables.merges[rank].second;
    int32_t ia = vocab_.find(a), ib = vocab_.find(b);
    merged.assign(a);
    if (!prefix_.empty() && b.compare(0, prefix_.size(), prefix_) == 0)
      merged.append(b, prefix_.size(), std::string::npos);
    else
      merged.append(b);
    int32_t im = vocab_.find(merged);
    if (ia < 0 || ib < 0 || im < 0) {
      const std::string& missing = ia < 0 ? a : ib < 0 ? b : merged;
      fail("{}.merges[{}]: '{}' + '{}' -> '{}': '{}' is not in the vocabulary", where, rank, core::printable(a),
           core::printable(b), core::printable(merged), core::printable(missing));
    }
    merges_.set_if_absent(ia, ib, {static_cast<int32_t>(rank), im});
  }

  small_char_ids_.assign(0x800, -1);
  std::string buf;
  for (uint32_t cp = 0; cp < 0x800; ++cp) {
    buf.clear();
    append_utf8(buf, cp);
    small_char_ids_[cp] = vocab_.find(buf);
  }
  for (int b = 0; b < 256; ++b) byte_ids_[b] = vocab_.find(fmt::format("<0x{:02X}>", b));
  find_cut_char();
}

void BpeModel::find_cut_char() {
  if (!prefix_.empty() || !suffix_.empty()) return;
  for (std::string c : {std::string("\xE2\x96\x81"), std::string(" ")}) {
    if (vocab_.find(c) < 0) continue;
    bool safe = true;
    for (size_t id = 0; id < tokens_.size() && safe; ++id) {
      if (!has_token_[id]) continue;
      const std::string& t = tokens_[id];
      for (size_t at = t.find(c, 1); at != std::string::npos && safe; at = t.find(c, at + 1)) {
        // The character before `at` must be `c` itself.
        safe = at >= c.size() && t.compare(at - c.size(), c.size(), c) == 0;
      }
    }
    if (safe) {
      cut_char_ = c;
      return;
    }
  }
}

const std::string* BpeModel::id_to_token(int32_t id) const {
  if (id < 0 || static_cast<size_t>(id) >= tokens_.size() || !has_token_[id]) return nullptr;
  return &tokens_[id];
}

int32_t BpeModel::char_id(std::string_view piece, size_t start, size_t end, bool first, bool last) const {
  bool plain = (prefix_.empty() || first) && (suffix_.empty() || !last);
  if (plain) {
    if (end - start <= 2) {
      size_t i = start;
      uint32_t cp = next_code_point(piece, i);
      if (cp < 0x800 && i == end) return small_char_ids_[cp];
    }
    return vocab_.find(piece.substr(start, end - start));
  }
  std::string s;
  if (!first) s += prefix_;
  s.append(piece.data() + start, end - start);
  if (last) s += suffix_;
  return vocab_.find(s);
}

void BpeModel::tokenize_uncached(std::string_view piece, std::vector<int32_t>& out) const {
  struct Symbol {
    int32_t id;
    int32_t prev;
    int32_t next;
  };
  std::vector<Symbol> sym;
  sym.reserve(piece.size());
  bool last_is_unk = false;
  for (size_t i = 0; i < piece.size();) {
    size_t start = i;
    i += utf8_length(static_cast<unsigned char>(piece[i]));
    if (i > piece.size()) i = piece.size();
    int32_t id = char_id(piece, start, i, start == 0, i == piece.size());
    if (id >= 0) {
      sym.push_back({id, 0, 0});
      last_is_unk = false;
      continue;
    }
    if (byte_fallback_) {
      bool all = true;
      for (size_t k = start; k < i; ++k) all = all && byte_ids_[static_cast<unsigned char>(piece[k])] >= 0;
      if (all) {
        for (size_t k = start; k < i; ++k) sym.push_back({byte_ids_[static_cast<unsigned char>(piece[k])], 0, 0});
        last_is_unk = false;
        continue;
      }
    }
    if (unk_id_ >= 0) {
      if (!(fuse_unk_ && last_is_unk)) sym.push_back({unk_id_, 0, 0});
      last_is_unk = true;
    }
  }
  const int32_t n = static_cast<int32_t>(sym.size());
  for (int32_t k = 0; k < n; ++k) {
    sym[k].prev = k - 1;
    sym[k].next = k + 1 < n ? k + 1 : -1;
  }

  struct Candidate {
    int32_t rank;
    int32_t pos;
    int32_t new_id;
    bool operator<(const Candidate& o) const {  // std::priority_queue pops the largest
      return rank != o.rank ? rank > o.rank : pos > o.pos;
    }
  };
  std::vector<Candidate> storage;
  storage.reserve(n);
  std::priority_queue<Candidate> heap(std::less<Candidate>(), std::move(storage));
  for (int32_t k = 0; k + 1 < n; ++k) {
    PairMap::Value v = merges_.find(sym[k].id, sym[k + 1].id);
    if (v.rank >= 0) heap.push({v.rank, k, v.id});
  }
  while (!heap.empty()) {
    Candidate top = heap.top();
    heap.pop();
    Symbol& left = sym[top.pos];
    if (left.id < 0 || left.next < 0) continue;
    // Stale entries: the pair at pos is no longer the merge of this rank.
    PairMap::Value v = merges_.find(left.id, sym[left.next].id);
    if (v.rank != top.rank) continue;
    int32_t right = left.next;
    left.id = top.new_id;
    left.next = sym[right].next;
    if (left.next >= 0) sym[left.next].prev = top.pos;
    sym[right].id = -1;
    if (left.prev >= 0) {
      PairMap::Value p = merges_.find(sym[left.prev].id, left.id);
      if (p.rank >= 0) heap.push({p.rank, left.prev, p.id});
    }
    if (left.next >= 0) {
      PairMap::Value q = merges_.find(left.id, sym[left.next].id);
      if (q.rank >= 0) heap.push({q.rank, top.pos, q.id});
    }
  }
  for (int32_t k = n > 0 ? 0 : -1; k >= 0; k = sym[k].next) out.push_back(sym[k].id);
}

void BpeModel::tokenize(std::string_view piece, std::vector<int32_t>& out) const {
  if (piece.empty()) return;
  if (ignore_merges_) {
    int32_t id = vocab_.find(piece);
    if (id >= 0) {
      out.push_back(id);
      return;
    }
  }
  if (cut_char_.empty()) {
    tokenize_cached(piece, out);
    return;
  }
  // Cut before each cut_char_ that follows a different character.
  const std::string& c = cut_char_;
  size_t start = 0;
  for (size_t at = piece.find(c, 1); at != std::string_view::npos; at = piece.find(c, at + c.size())) {
    bool after_same = at >= c.size() && piece.compare(at - c.size(), c.size(), c) == 0;
    if (after_same || at == start) continue;
    tokenize_cached(piece.substr(start, at - start), out);
    start = at;
  }
  tokenize_cached(piece.substr(start), out);
}

void BpeModel::tokenize_cached(std::string_view piece, std::vector<int32_t>& out) const {
  if (piece.size() >= kMaxCachedLength) {
    tokenize_uncached(piece, out);
    return;
  }
  Shard& shard = cache_[hash_bytes(piece) % kShards];
  {
    std::lock_guard<std::mutex> lock(shard.mutex);
    auto it = shard.map.find(std::string(piece));
    if (it != shard.map.end()) {
      out.insert(out.end(), it->second.begin(), it->second.end());
      return;
    }
  }
  size_t before = out.size();
  tokenize_uncached(piece, out);
  std::lock_guard<std::mutex> lock(shard.mutex);
  if (shard.map.size() < kMaxCachedPerShard)
    shard.map.emplace(std::string(piece), std::vector<int32_t>(out.begin() + before, out.end()));
}

}  // namespace duo::tokenizer
