// The order in which training samples are visited: every epoch visits all n samples once, in
// file order (shuffle off) or in a permutation drawn from (seed, epoch) (shuffle on). The state
// is just (epoch, position), so a checkpoint restores it exactly.
#pragma once

#include <cstdint>
#include <vector>

namespace duo::train {

class DataOrder {
 public:
  DataOrder(int64_t n, bool shuffle, uint64_t seed);
  int64_t next();  // the sample index for the next step
  uint64_t epoch() const { return epoch_; }
  uint64_t position() const { return pos_; }
  void set_state(uint64_t epoch, uint64_t position);

 private:
  void make_permutation();
  int64_t n_;
  bool shuffle_;
  uint64_t seed_;
  uint64_t epoch_ = 0;
  uint64_t pos_ = 0;
  std::vector<int64_t> perm_;  // [n] for epoch_
};

// Fisher-Yates with an unbiased bounded draw from std::mt19937_64 (portable across libraries).
std::vector<int64_t> permutation(int64_t n, uint64_t seed);

}  // namespace duo::train
