// The few-row products over 16-bit K/V rows: the conversion against LibTorch's (exact, every
// finite bf16 / f16 bit pattern), and the fast paths (AVX-512 where present) against the scalar
// reference on strided rows, head dims with and without a 16-lane tail, 1..16 query rows.
// Tolerance: both sides widen the same 16-bit values exactly and accumulate in fp32; they differ
// only in summation order, so |diff| <= ~d * 2^-24 * sum|q_c k_c| (about 1e-5 here); 1e-4 leaves a
// margin and still fails on any wrong element, lane or conversion (errors of order 1).
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "kernels/cpu/half_rows.h"

namespace {

namespace kc = duo::kernels::cpu;

at::ScalarType torch_type(kc::HalfType t) { return t == kc::HalfType::kBF16 ? at::kBFloat16 : at::kHalf; }

const uint16_t* bits(const at::Tensor& t) { return reinterpret_cast<const uint16_t*>(t.data_ptr()); }

TEST(HalfRows, ConversionMatchesLibTorchForEveryBitPattern) {
  for (kc::HalfType type : {kc::HalfType::kBF16, kc::HalfType::kF16}) {
    at::Tensor all = at::arange(0, 65536, at::kInt).to(at::kShort);  // every 16-bit pattern
    const at::Tensor h = at::empty({65536}, torch_type(type));
    std::memcpy(h.data_ptr(), all.data_ptr(), 65536 * sizeof(uint16_t));
    const at::Tensor want = h.to(at::kFloat);
    const float* w = want.data_ptr<float>();
    int64_t bad = 0;
    for (int64_t i = 0; i < 65536; ++i) {
      const float got = kc::half_to_float(bits(h)[i], type);
      if (std::isnan(w[i]) ? !std::isnan(got) : std::memcmp(&got, &w[i], sizeof got) != 0) ++bad;
    }
    EXPECT_EQ(bad, 0) << (type == kc::HalfType::kBF16 ? "bf16" : "f16");
  }
}

// The fast paths for one type, head dim, row count and key count against the scalar reference.
void check_fast_paths(kc::HalfType type, int64_t d, int64_t m, int64_t n) {
  const int64_t ld = d + 3;  // padded rows: a strided cache view
  const double tol = 1e-4 * std::max(1.0, n / 64.0);  // the fp32 rounding of p.v grows with the keys summed
  const at::Tensor q = at::randn({m, d});
  const at::Tensor kbuf = at::randn({n, ld}).to(torch_type(type));
  const at::Tensor vbuf = at::randn({n, ld}).to(torch_type(type));
  at::Tensor s = at::empty({m, n}), s_ref = at::empty({m, n});
  kc::dot_rows_half(q.data_ptr<float>(), m, bits(kbuf), n, d, ld, s.data_ptr<float>(), type);
  kc::dot_rows_half_reference(q.data_ptr<float>(), m, bits(kbuf), n, d, ld, s_ref.data_ptr<float>(), type);
  EXPECT_LT((s - s_ref).abs().max().item<double>(), 1e-4) << "dot d " << d << " m " << m << " n " << n;
  // And against a matmul on the widened rows (an independent oracle for the reference itself).
  const at::Tensor k32 = kbuf.narrow(1, 0, d).to(at::kFloat);
  EXPECT_LT((s_ref - at::mm(q, k32.t())).abs().max().item<double>(), 1e-4) << "ref d " << d << " m " << m;

  at::Tensor p = at::rand({m, n});
  p.select(1, 3).zero_();  // masked keys are skipped: one alone, and a pair (10, 11)
  if (n > 11) p.narrow(1, 10, 2).zero_();
  const at::Tensor o0 = at::randn({m, d});
  at::Tensor o = o0.clone(), o_ref = o0.clone();
  kc::accumulate_rows_half(p.data_ptr<float>(), m, bits(vbuf), n, d, ld, o.data_ptr<float>(), type);
  kc::accumulate_rows_half_reference(p.data_ptr<float>(), m, bits(vbuf), n, d, ld, o_ref.data_ptr<float>(),
                                     type);
  EXPECT_LT((o - o_ref).abs().max().item<double>(), tol) << "acc d " << d << " m " << m << " n " << n;
  const at::Tensor want = o0 + at::mm(p, vbuf.narrow(1, 0, d).to(at::kFloat));
  EXPECT_LT((o_ref - want).abs().max().item<double>(), tol) << "ref acc d " << d << " m " << m << " n " << n;
}

TEST(HalfRows, FastPathsMatchTheScalarReference) {
  std::printf("half_rows: AVX-512 path %s\n", kc::half_rows_use_avx512() ? "in use" : "not available (scalar)");
  at::manual_seed(19);
  for (kc::HalfType type : {kc::HalfType::kBF16, kc::HalfType::kF16})
    for (int64_t d : {64, 128, 72, 16, 24, 5})
      for (int64_t m : {1, 4, 16}) check_fast_paths(type, d, m, /*n=*/37);
}

// The fixed-width kernels (head dims 64 and 128): 16-key groups and a tail, an odd last key, a
// long block, more than 16 query rows.
TEST(HalfRows, FixedWidthKernelsMatchTheReferenceOnLongBlocks) {
  at::manual_seed(20);
  for (kc::HalfType type : {kc::HalfType::kBF16, kc::HalfType::kF16})
    for (int64_t d : {64, 128})
      for (int64_t m : {1, 3, 20})
        for (int64_t n : {16, 37, 300}) check_fast_paths(type, d, m, n);
}

}  // namespace
