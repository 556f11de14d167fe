// The vector helpers of the CPU kernels: the exp approximation against std::exp, and the few-row
// products (strided cache views) against matmul.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <cmath>
#include <limits>
#include <vector>

#include "kernels/cpu/vec_math.h"

namespace {

namespace kc = duo::kernels::cpu;

TEST(VecMath, VecMathExpMatchesStd) {
  std::vector<float> x = {0.0f, -1.0f, 1.0f, -87.5f, -90.0f, -1000.0f, -std::numeric_limits<float>::infinity(), 3.0f,
                          -0.3f, -20.0f, 5.0f};
  std::vector<float> y(x.size());
  float sum = kc::exp_shift_sum(y.data(), x.data(), static_cast<int64_t>(x.size()), 0.5f);
  double ref_sum = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double r = std::exp(double(x[i]) - 0.5);
    ref_sum += r;
    EXPECT_NEAR(y[i], r, 2e-7 * r + 1e-37) << "x=" << x[i];
  }
  EXPECT_NEAR(sum, ref_sum, 1e-6 * ref_sum);
  EXPECT_EQ(y[6], 0.0f);
  EXPECT_EQ(kc::row_max(x.data(), static_cast<int64_t>(x.size())), 5.0f);
  EXPECT_EQ(kc::row_max(x.data(), 0), -std::numeric_limits<float>::infinity());
}

TEST(VecMath, FewRowProductsMatchMatmul) {
  at::manual_seed(5);
  for (int64_t d : {64, 128, 72, 5}) {
    for (int64_t m : {1, 3, 16}) {
      const int64_t n = 37, ld = d + 3;  // rows of k and v padded: a strided cache view
      const at::Tensor q = at::randn({m, d});
      const at::Tensor kbuf = at::randn({n, ld}), vbuf = at::randn({n, ld});
      const at::Tensor k = kbuf.narrow(1, 0, d), v = vbuf.narrow(1, 0, d);
      at::Tensor s = at::empty({m, n});
      kc::dot_rows(q.data_ptr<float>(), m, kbuf.data_ptr<float>(), n, d, ld, s.data_ptr<float>());
      EXPECT_LT((s - at::mm(q, k.t())).abs().max().item<double>(), 1e-4) << "d " << d << " m " << m;
      const at::Tensor p = at::rand({m, n});
      at::Tensor o = at::randn({m, d});
      const at::Tensor expect = o + at::mm(p, v);
      kc::accumulate_rows(p.data_ptr<float>(), m, vbuf.data_ptr<float>(), n, d, ld, o.data_ptr<float>());
      EXPECT_LT((o - expect).abs().max().item<double>(), 1e-4) << "d " << d << " m " << m;
    }
  }
}

}  // namespace
