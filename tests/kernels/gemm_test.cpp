// kernels/cpu/gemm.h: every layout the inference paths pass (row-major, W^T read in place,
// narrowed rows, accumulation into a view) against a float64 reference, on oneDNN and on BLAS;
// layouts oneDNN cannot read go to BLAS and are still right.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

#include "core/error.h"
#include "kernels/cpu/gemm.h"

namespace {

namespace kc = duo::kernels::cpu;

// Restores the process's backend after a test switches it.
class Gemm : public ::testing::TestWithParam<kc::GemmBackend> {
 protected:
  void SetUp() override {
    saved_ = kc::gemm_backend();
    if (GetParam() == kc::GemmBackend::kOneDnn && !kc::onednn_available()) GTEST_SKIP() << "no oneDNN in this LibTorch";
    kc::set_gemm_backend(GetParam());
  }
  void TearDown() override { kc::set_gemm_backend(saved_); }
  kc::GemmBackend saved_ = kc::GemmBackend::kBlas;
};

// c (as computed) against beta * c0 + a b in float64; tolerance scaled by sqrt(k).
void expect_product(const at::Tensor& c, const at::Tensor& c0, const at::Tensor& a, const at::Tensor& b, double beta) {
  const at::Tensor want = at::mm(a.to(at::kDouble), b.to(at::kDouble)) + beta * c0.to(at::kDouble);
  const double tol = 2e-6 * std::sqrt(static_cast<double>(a.size(1))) * (1.0 + want.abs().max().item<double>());
  const double err = (c.to(at::kDouble) - want).abs().max().item<double>();
  EXPECT_LE(err, tol) << "[" << a.size(0) << ", " << a.size(1) << "] x [" << b.size(0) << ", " << b.size(1) << "]";
}

TEST_P(Gemm, RowMajorAndTransposedOperandsMatchFloat64) {
  at::manual_seed(1);
  // (m, k, n): prefill-like, odd sizes, one row, one column, k = 1.
  const int64_t shapes[][3] = {{256, 64, 512}, {37, 19, 53}, {1, 96, 33}, {65, 7, 1}, {9, 1, 12}, {300, 768, 200}};
  for (const auto& sh : shapes) {
    const int64_t m = sh[0], k = sh[1], n = sh[2];
    const at::Tensor a = at::randn({m, k}), b = at::randn({k, n}), w = at::randn({n, k});  // W [n, k]
    for (const at::Tensor& bb : {b, w.t()}) {  // row-major b, and W^T read in place
      at::Tensor c = at::full({m, n}, std::numeric_limits<float>::quiet_NaN());  // beta 0 ignores old c
      EXPECT_EQ(kc::onednn_runs(c, a, bb), GetParam() == kc::GemmBackend::kOneDnn);
      kc::gemm_out(c, a, bb);
      expect_product(c, at::zeros({m, n}), a, bb, 0.0);
    }
    const at::Tensor at_ = at::randn({k, m}).t();  // a transposed view
    at::Tensor c = at::empty({m, n});
    kc::gemm_out(c, at_, b);
    expect_product(c, at::zeros({m, n}), at_, b, 0.0);
  }
}

// The chunked-prefill tile: rows narrowed out of bigger buffers, output accumulated (beta 1) into
// a narrowed view whose neighbours must stay untouched.
TEST_P(Gemm, NarrowedViewsAndAccumulation) {
  at::manual_seed(2);
  const at::Tensor q = at::randn({300, 64}), keys = at::randn({700, 64}), vals = at::randn({700, 64});
  const at::Tensor qr = q.narrow(0, 40, 200), kb = keys.narrow(0, 100, 512), vb = vals.narrow(0, 100, 512);
  at::Tensor s = at::empty({200, 512});
  EXPECT_EQ(kc::onednn_runs(s, qr, kb.t()), GetParam() == kc::GemmBackend::kOneDnn);
  kc::gemm_out(s, qr, kb.t());
  expect_product(s, at::zeros({200, 512}), qr, kb.t(), 0.0);
  at::Tensor o = at::randn({300, 64});
  const at::Tensor before = o.clone();
  at::Tensor orows = o.narrow(0, 40, 200);
  kc::gemm_out(orows, s, vb, 1.0f);
  expect_product(orows, before.narrow(0, 40, 200), s, vb, 1.0);
  EXPECT_TRUE(at::equal(o.narrow(0, 0, 40), before.narrow(0, 0, 40)));
  EXPECT_TRUE(at::equal(o.narrow(0, 240, 60), before.narrow(0, 240, 60)));
}

// Layouts with no unit stride (every other column) and wider output rows: still the product.
TEST_P(Gemm, OtherLayoutsFallBackCorrectly) {
  at::manual_seed(3);
  const at::Tensor a = at::randn({50, 80}).slice(1, 0, 80, 2);  // [50, 40], column stride 2
  const at::Tensor b = at::randn({40, 30});
  at::Tensor wide = at::zeros({50, 45});
  at::Tensor c = wide.narrow(1, 5, 30);  // row stride 45
  EXPECT_FALSE(kc::onednn_runs(c, a, b));
  kc::gemm_out(c, a, b);
  expect_product(c, at::zeros({50, 30}), a, b, 0.0);
  EXPECT_EQ(wide.narrow(1, 0, 5).abs().sum().item<float>(), 0.0f);
  EXPECT_EQ(wide.narrow(1, 35, 10).abs().sum().item<float>(), 0.0f);
  const at::Tensor ad = a.to(at::kDouble), bd = b.to(at::kDouble);  // float64: BLAS
  at::Tensor cd = at::empty({50, 30}, at::kDouble);
  kc::gemm_out(cd, ad, bd);
  EXPECT_TRUE(at::allclose(cd, at::mm(ad, bd)));
}

// Leading dimensions larger than a row (operands and output narrowed out of wider matrices), read
// in place by oneDNN: lda, ldb and ldc must be the real strides.
TEST_P(Gemm, LeadingDimensionsWiderThanTheRows) {
  at::manual_seed(4);
  const int64_t m = 70, k = 33, n = 41;
  const at::Tensor xa = at::randn({m, k + 9}), wb = at::randn({n, k + 5}), xb = at::randn({k, n + 7});
  const at::Tensor a = xa.narrow(1, 3, k);        // [m, k], lda = k + 9
  const at::Tensor bt = wb.narrow(1, 2, k).t();   // [k, n] transposed view, ld = k + 5
  const at::Tensor bn = xb.narrow(1, 4, n);       // [k, n] row-major, ldb = n + 7
  for (const at::Tensor& b : {bt, bn}) {
    at::Tensor wide = at::full({m, n + 11}, 7.0f);
    at::Tensor c = wide.narrow(1, 6, n);  // ldc = n + 11
    EXPECT_EQ(kc::onednn_runs(c, a, b), GetParam() == kc::GemmBackend::kOneDnn);
    const at::Tensor before = c.clone();
    kc::gemm_out(c, a, b, 1.0f);
    expect_product(c, before, a, b, 1.0);
    EXPECT_TRUE(at::equal(wide.narrow(1, 0, 6), at::full({m, 6}, 7.0f)));
    EXPECT_TRUE(at::equal(wide.narrow(1, 6 + n, 5), at::full({m, 5}, 7.0f)));
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, Gemm, ::testing::Values(kc::GemmBackend::kBlas, kc::GemmBackend::kOneDnn),
                         [](const auto& info) {
                           return std::string(info.param == kc::GemmBackend::kBlas ? "Blas" : "OneDnn");
                         });

TEST(GemmBackend, SummaryNamesTheBackend) {
  const kc::GemmBackend saved = kc::gemm_backend();
  kc::set_gemm_backend(kc::GemmBackend::kBlas);
  EXPECT_EQ(kc::gemm_summary(), "BLAS (at::mm)");
  if (kc::onednn_available()) {
    kc::set_gemm_backend(kc::GemmBackend::kOneDnn);
    EXPECT_EQ(kc::gemm_summary().rfind("oneDNN ", 0), 0u) << kc::gemm_summary();
    EXPECT_NE(kc::gemm_summary().find(" sgemm"), std::string::npos) << kc::gemm_summary();
  } else {
    EXPECT_THROW(kc::set_gemm_backend(kc::GemmBackend::kOneDnn), duo::Error);
  }
  kc::set_gemm_backend(saved);
}

}  // namespace
