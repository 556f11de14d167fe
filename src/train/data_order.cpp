// Epoch-wise sample order (see data_order.h).
#include "train/data_order.h"

#include <numeric>
#include <random>

#include "core/error.h"

namespace duo::train {
namespace {

uint64_t bounded(std::mt19937_64& rng, uint64_t n) {  // uniform in [0, n), no modulo bias
  const uint64_t limit = UINT64_MAX - UINT64_MAX % n;
  uint64_t x;
  do x = rng();
  while (x >= limit);
  return x % n;
}

uint64_t splitmix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

}  // namespace

std::vector<int64_t> permutation(int64_t n, uint64_t seed) {
  std::vector<int64_t> p(n);
  std::iota(p.begin(), p.end(), 0);
  std::mt19937_64 rng(seed);
  for (int64_t i = n - 1; i > 0; --i) std::swap(p[i], p[bounded(rng, static_cast<uint64_t>(i) + 1)]);
  return p;
}

DataOrder::DataOrder(int64_t n, bool shuffle, uint64_t seed) : n_(n), shuffle_(shuffle), seed_(seed) {
  DUO_CHECK(n > 0, "training data holds no samples; expected at least one");
  make_permutation();
}

void DataOrder::make_permutation() {
  if (shuffle_) {
    perm_ = permutation(n_, splitmix(seed_ ^ splitmix(epoch_)));
  } else {
    perm_.resize(n_);
    std::iota(perm_.begin(), perm_.end(), 0);
  }
}

int64_t DataOrder::next() {
  if (pos_ >= static_cast<uint64_t>(n_)) {
    ++epoch_;
    pos_ = 0;
    make_permutation();
  }
  return perm_[pos_++];
}

void DataOrder::set_state(uint64_t epoch, uint64_t position) {
  DUO_CHECK(position <= static_cast<uint64_t>(n_), "data order state: position {} is past the {} samples", position,
            n_);
  epoch_ = epoch;
  pos_ = position;
  make_permutation();
}

}  // namespace duo::train
