// NFC by the book (UAX #15): full canonical decomposition, canonical ordering of combining
// marks, then composition with blocking. Only the non-ASCII stretches (plus the ASCII starter
// before each) go through it, since ASCII never decomposes nor composes as a second element.
#include "tokenizer/nfc.h"

#include "tokenizer/unicode.h"

#include <algorithm>
#include <cstdint>
#include <unordered_map>
#include <vector>

namespace duo::tokenizer {
namespace {

#include "tokenizer/nfc_tables.inc"

constexpr uint32_t kSBase = 0xAC00, kLBase = 0x1100, kVBase = 0x1161, kTBase = 0x11A7;
constexpr uint32_t kLCount = 19, kVCount = 21, kTCount = 28, kNCount = kVCount * kTCount;
constexpr uint32_t kSCount = kLCount * kNCount;

struct Tables {
  std::unordered_map<uint32_t, uint8_t> ccc;
  std::unordered_map<uint32_t, std::pair<uint32_t, uint32_t>> decomp;
  std::unordered_map<uint64_t, uint32_t> compose;
  Tables() {
    for (const auto& r : kCcc)
      for (uint32_t cp = r[0]; cp <= r[1]; ++cp) ccc[cp] = static_cast<uint8_t>(r[2]);
    decomp.reserve(std::size(kDecomp));
    for (const auto& r : kDecomp) decomp[r[0]] = {r[1], r[2]};
    compose.reserve(std::size(kCompose));
    for (const auto& r : kCompose) compose[(uint64_t{r[0]} << 32) | r[1]] = r[2];
  }
};

const Tables& tables() {
  static const Tables t;
  return t;
}

uint8_t ccc_of(const Tables& t, uint32_t cp) {
  if (cp < 0x300) return 0;
  auto it = t.ccc.find(cp);
  return it == t.ccc.end() ? 0 : it->second;
}

void decompose(const Tables& t, uint32_t cp, std::vector<uint32_t>& out) {
  if (cp >= kSBase && cp < kSBase + kSCount) {
    uint32_t s = cp - kSBase;
    out.push_back(kLBase + s / kNCount);
    out.push_back(kVBase + (s % kNCount) / kTCount);
    if (s % kTCount != 0) out.push_back(kTBase + s % kTCount);
    return;
  }
  if (cp >= 0xC0) {
    auto it = t.decomp.find(cp);
    if (it != t.decomp.end()) {
      decompose(t, it->second.first, out);
      if (it->second.second != 0) decompose(t, it->second.second, out);
      return;
    }
  }
  out.push_back(cp);
}

// The primary composite of (a, b), or 0.
uint32_t compose_pair(const Tables& t, uint32_t a, uint32_t b) {
  if (a >= kLBase && a < kLBase + kLCount && b >= kVBase && b < kVBase + kVCount)
    return kSBase + ((a - kLBase) * kVCount + (b - kVBase)) * kTCount;
  if (a >= kSBase && a < kSBase + kSCount && (a - kSBase) % kTCount == 0 && b > kTBase &&
      b < kTBase + kTCount)
    return a + (b - kTBase);
  auto it = t.compose.find((uint64_t{a} << 32) | b);
  return it == t.compose.end() ? 0 : it->second;
}

void nfc_segment(const Tables& t, std::string_view seg, std::string& out) {
  std::vector<uint32_t> d;
  d.reserve(seg.size() * 2);
  for (size_t i = 0; i < seg.size();) decompose(t, next_code_point(seg, i), d);
  // Canonical ordering: stable sort each run of non-starters by combining class.
  for (size_t i = 0; i < d.size();) {
    if (ccc_of(t, d[i]) == 0) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < d.size() && ccc_of(t, d[j]) != 0) ++j;
    std::stable_sort(d.begin() + i, d.begin() + j,
                     [&](uint32_t a, uint32_t b) { return ccc_of(t, a) < ccc_of(t, b); });
    i = j;
  }
  std::vector<uint32_t> c;
  c.reserve(d.size());
  long starter = -1;
  uint8_t prev_cc = 0;
  for (uint32_t cp : d) {
    uint8_t cc = ccc_of(t, cp);
    if (starter >= 0) {
      bool adjacent = static_cast<size_t>(starter) + 1 == c.size();
      bool unblocked = adjacent || (prev_cc != 0 && prev_cc < cc);
      if (unblocked) {
        uint32_t composite = compose_pair(t, c[starter], cp);
        if (composite != 0) {
          c[starter] = composite;
          continue;
        }
      }
    }
    if (cc == 0) starter = static_cast<long>(c.size());
    c.push_back(cp);
    prev_cc = cc;
  }
  for (uint32_t cp : c) append_utf8(out, cp);
}

}  // namespace

std::string nfc(std::string_view s) {
  size_t i = 0;
  while (i < s.size() && static_cast<unsigned char>(s[i]) < 0x80) ++i;
  if (i == s.size()) return std::string(s);
  const Tables& t = tables();
  std::string out;
  out.reserve(s.size() + 16);
  size_t pos = 0;
  while (pos < s.size()) {
    size_t next = pos;
    while (next < s.size() && static_cast<unsigned char>(s[next]) < 0x80) ++next;
    if (next == s.size()) {
      out.append(s.data() + pos, next - pos);
      break;
    }
    // Keep the ASCII character just before the non-ASCII run with it: it may be a starter
    // that composes with the marks that follow.
    size_t seg_start = next > pos ? next - 1 : next;
    out.append(s.data() + pos, seg_start - pos);
    size_t seg_end = next;
    while (seg_end < s.size() && static_cast<unsigned char>(s[seg_end]) >= 0x80) ++seg_end;
    nfc_segment(t, s.substr(seg_start, seg_end - seg_start), out);
    pos = seg_end;
  }
  return out;
}

}  // namespace duo::tokenizer
