// The one-row (decode) path of model::linear against at::linear: every output row, with and
// without bias, on row counts that split unevenly over the task pool, on 1 and 2 threads.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <torch/torch.h>

#include <cmath>

#include "core/threads.h"
#include "model/modules.h"

namespace {

TEST(Linear, OneRowMatchesAtLinear) {
  torch::NoGradGuard no_grad;
  at::manual_seed(3);
  for (int threads : {1, 2}) {
    duo::core::set_threads(threads);
    for (auto [in, out] : {std::pair<int64_t, int64_t>{768, 3072}, {3072, 768}, {100, 1001}, {64, 7}, {33, 515}}) {
      const at::Tensor x = at::randn({1, in});
      const at::Tensor w = at::randn({out, in});
      const at::Tensor b = at::randn({out});
      for (bool bias : {false, true}) {
        const at::Tensor got = duo::model::linear(x, w, bias ? b : at::Tensor());
        const at::Tensor want = at::linear(x.to(at::kDouble), w.to(at::kDouble), bias ? b.to(at::kDouble) : at::Tensor());
        ASSERT_EQ(got.sizes(), want.sizes());
        const double err = (got.to(at::kDouble) - want).abs().max().item<double>();
        EXPECT_LT(err, 1e-5 * std::sqrt(static_cast<double>(in)) * 4)
            << "threads " << threads << " in " << in << " out " << out << " bias " << bias;
      }
    }
  }
  duo::core::set_threads(2);
}

// 16-bit weights (a bf16 / f16 model): the one-row path reads W in 16 bits and accumulates in
// fp32, so it must equal the fp64 reference on the same (16-bit) weights and inputs up to the one
// final rounding of the output to x's dtype: |err| <= 2^-8 |y| (bf16 output, half an ulp is 2^-9;
// f16 output 2^-11) plus the fp32 sum's 1e-5 sqrt(in) * 4 (the fp32 bound above).
TEST(Linear, OneRowOn16BitWeightsMatchesTheFp32ReferenceOnRoundedWeights) {
  torch::NoGradGuard no_grad;
  at::manual_seed(4);
  for (at::ScalarType dt : {at::kBFloat16, at::kHalf}) {
    const double rel = dt == at::kBFloat16 ? std::ldexp(1.0, -8) : std::ldexp(1.0, -10);
    for (int threads : {1, 2}) {
      duo::core::set_threads(threads);
      for (auto [in, out] : {std::pair<int64_t, int64_t>{768, 3072}, {3072, 768}, {100, 1001}, {33, 515}}) {
        const at::Tensor x = at::randn({1, in}).to(dt), w = at::randn({out, in}).to(dt), b = at::randn({out}).to(dt);
        for (bool bias : {false, true}) {
          const at::Tensor got = duo::model::linear(x, w, bias ? b : at::Tensor());
          EXPECT_EQ(got.scalar_type(), dt);
          const at::Tensor want =
              at::linear(x.to(at::kDouble), w.to(at::kDouble), bias ? b.to(at::kDouble) : at::Tensor());
          ASSERT_EQ(got.sizes(), want.sizes());
          const at::Tensor bound = want.abs() * rel + 1e-5 * std::sqrt(static_cast<double>(in)) * 4;
          EXPECT_TRUE(((got.to(at::kDouble) - want).abs() <= bound).all().item<bool>())
              << c10::toString(dt) << " threads " << threads << " in " << in << " out " << out << " bias " << bias;
        }
      }
    }
  }
  duo::core::set_threads(2);
}

// Rows and a batch still take the general path and agree too.
TEST(Linear, SeveralRowsAndMismatchedShapes) {
  torch::NoGradGuard no_grad;
  const at::Tensor w = at::randn({16, 8});
  const at::Tensor x = at::randn({3, 8});
  EXPECT_TRUE(at::allclose(duo::model::linear(x, w, at::Tensor()), at::linear(x, w)));
  EXPECT_THROW(duo::model::linear(at::randn({1, 9}), w, at::Tensor()), c10::Error);
}

}  // namespace
