// The attention front end: attend() for all-full, all-streaming, mixed and gated layers against
// the materialized reference in fp32, bf16 and fp64; gradients (q, k, v, alpha) against finite
// differences in double precision and against autograd through the reference; gate limits.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <torch/torch.h>

#include <functional>
#include <string>
#include <vector>

#include "attention/attention.h"
#include "attention/reference.h"
#include "common/device_cases.h"
#include "core/error.h"
#include "core/threads.h"

namespace {

using duo::attention::attend;
using duo::attention::attend_reference;
using duo::attention::HeadKind;
using duo::attention::LayerSpec;
using duo::testing::DeviceCase;
using duo::testing::max_abs_diff;

class Attention : public ::testing::Test {
 protected:
  void SetUp() override { duo::core::set_threads(2); }
};

LayerSpec make_spec(std::vector<HeadKind> kinds, int64_t sink, int64_t recent, int64_t window = 0) {
  LayerSpec s;
  s.kinds = std::move(kinds);
  s.window = duo::StreamWindow(sink, recent);
  s.sliding_window = window;
  return s;
}

// attend() in each (device, dtype) against the reference on the same (rounded) inputs, in fp64
// for fp64 and fp32 otherwise; tol bounds the max abs difference.
class AttendCases : public ::testing::TestWithParam<DeviceCase> {
 protected:
  void SetUp() override { duo::core::set_threads(2); }
};

TEST_P(AttendCases, FullStreamingMixedGatedMatchReference) {
  const DeviceCase& dc = GetParam();
  const at::ScalarType ref_dtype = dc.dtype == at::kDouble ? at::kDouble : at::kFloat;
  at::manual_seed(10);
  const HeadKind F = HeadKind::kFull, S = HeadKind::kStreaming;
  struct C {
    int64_t t, g, d;
    LayerSpec spec;
  };
  LayerSpec gated = make_spec({}, 8, 32);
  gated.alpha = at::tensor({0.3, 0.9});
  const std::vector<C> cases = {
      {1, 1, 64, make_spec({F, F}, 0, 1)},
      {64, 2, 64, make_spec({}, 0, 1)},
      {300, 4, 64, make_spec({S, S}, 16, 64)},
      {300, 1, 128, make_spec({F, S}, 4, 100)},
      {600, 2, 64, make_spec({S, F}, 128, 256)},
      {50, 8, 64, make_spec({S, S}, 128, 512)},  // T < sink and T < sink + recent
      {400, 2, 64, make_spec({F, S}, 0, 77)},    // sink = 0
      {400, 2, 64, make_spec({F, S}, 8, 40, 100)},
      {200, 2, 64, gated},
  };
  for (const C& c : cases) {
    SCOPED_TRACE("T=" + std::to_string(c.t) + " G=" + std::to_string(c.g));
    const at::Tensor q = dc.to(at::randn({2 * c.g, c.t, c.d})), k = dc.to(at::randn({2, c.t, c.d})),
                     v = dc.to(at::randn({2, c.t, c.d}));
    const at::Tensor out = attend(q, k, v, c.spec);
    EXPECT_EQ(out.sizes(), q.sizes());
    EXPECT_EQ(out.scalar_type(), dc.dtype);
    EXPECT_LT(max_abs_diff(out, attend_reference(q.to(ref_dtype), k.to(ref_dtype), v.to(ref_dtype), c.spec)), dc.tol);
  }
}

INSTANTIATE_TEST_SUITE_P(Cpu, AttendCases,
                         ::testing::Values(DeviceCase{at::kCPU, at::kFloat, 2e-5}, DeviceCase{at::kCPU, at::kDouble, 1e-12},
                                           DeviceCase{at::kCPU, at::kBFloat16, 2e-2}),
                         duo::testing::DeviceCaseName());

TEST_F(Attention, GatedMatchesReferenceAndLimits) {
  at::manual_seed(12);
  const int64_t t = 260;
  const at::Tensor q = at::randn({4, t, 64}), k = at::randn({2, t, 64}), v = at::randn({2, t, 64});
  LayerSpec full = make_spec({HeadKind::kFull, HeadKind::kFull}, 16, 48);
  LayerSpec stream = make_spec({HeadKind::kStreaming, HeadKind::kStreaming}, 16, 48);
  LayerSpec gated = full;
  gated.alpha = at::tensor({0.25f, 0.8f});
  EXPECT_LT(max_abs_diff(attend(q, k, v, gated), attend_reference(q, k, v, gated)), 2e-5);
  gated.alpha = at::tensor({1.0f, 1.0f});
  EXPECT_LT(max_abs_diff(attend(q, k, v, gated), attend(q, k, v, full)), 1e-6);
  gated.alpha = at::tensor({0.0f, 0.0f});
  EXPECT_LT(max_abs_diff(attend(q, k, v, gated), attend(q, k, v, stream)), 1e-6);
  // alpha outside [0, 1] clamps: 1.7 acts as 1, -0.4 as 0.
  gated.alpha = at::tensor({1.7f, -0.4f});
  LayerSpec mixed = make_spec({HeadKind::kFull, HeadKind::kStreaming}, 16, 48);
  EXPECT_LT(max_abs_diff(attend(q, k, v, gated), attend(q, k, v, mixed)), 1e-6);
}

// Central finite differences of sum(out * w) w.r.t. every entry of x (double precision).
at::Tensor numeric_grad(const std::function<at::Tensor()>& f, at::Tensor x, const at::Tensor& w, double eps = 1e-6) {
  at::Tensor g = at::zeros_like(x);
  at::NoGradGuard no_grad;
  auto xf = x.view({-1});
  auto gf = g.view({-1});
  for (int64_t i = 0; i < xf.numel(); ++i) {
    const double x0 = xf[i].item<double>();
    xf[i] = x0 + eps;
    const double up = (f() * w).sum().item<double>();
    xf[i] = x0 - eps;
    const double down = (f() * w).sum().item<double>();
    xf[i] = x0;
    gf[i] = (up - down) / (2 * eps);
  }
  return g;
}

TEST_F(Attention, GradientsMatchFiniteDifferences) {
  at::manual_seed(13);
  const int64_t t = 9, d = 8;
  const HeadKind F = HeadKind::kFull, S = HeadKind::kStreaming;
  std::vector<LayerSpec> specs = {make_spec({F, F}, 0, 1), make_spec({S, S}, 2, 3), make_spec({F, S}, 1, 2, 5)};
  LayerSpec gated = make_spec({}, 2, 3);
  gated.alpha = at::tensor({0.3, 0.6}, at::kDouble);
  specs.push_back(gated);
  for (size_t si = 0; si < specs.size(); ++si) {
    SCOPED_TRACE("spec " + std::to_string(si));
    LayerSpec spec = specs[si];
    at::Tensor q = at::randn({4, t, d}, at::kDouble).requires_grad_();
    at::Tensor k = at::randn({2, t, d}, at::kDouble).requires_grad_();
    at::Tensor v = at::randn({2, t, d}, at::kDouble).requires_grad_();
    std::vector<at::Tensor> inputs = {q, k, v};
    if (spec.is_gated()) {
      spec.alpha = spec.alpha.clone().requires_grad_();
      inputs.push_back(spec.alpha);
    }
    const at::Tensor w = at::randn({4, t, d}, at::kDouble);
    const at::Tensor out = attend(q, k, v, spec);
    const auto grads = torch::autograd::grad({(out * w).sum()}, inputs);
    for (size_t i = 0; i < inputs.size(); ++i) {
      const at::Tensor num = numeric_grad([&] { return attend(q, k, v, spec); }, inputs[i].detach(), w);
      EXPECT_LT(max_abs_diff(grads[i], num), 1e-6) << "input " << i;
    }
  }
}

TEST_F(Attention, GradientsMatchReferenceAutograd) {
  at::manual_seed(14);
  const int64_t t = 210;
  LayerSpec spec = make_spec({}, 32, 64);
  spec.alpha = at::tensor({0.2, 1.3, -0.5, 0.7}, at::kDouble).requires_grad_();
  at::Tensor q = at::randn({8, t, 64}, at::kDouble).requires_grad_();
  at::Tensor k = at::randn({4, t, 64}, at::kDouble).requires_grad_();
  at::Tensor v = at::randn({4, t, 64}, at::kDouble).requires_grad_();
  const at::Tensor w = at::randn({8, t, 64}, at::kDouble);
  const auto g1 = torch::autograd::grad({(attend(q, k, v, spec) * w).sum()}, {q, k, v, spec.alpha});
  const auto g2 = torch::autograd::grad({(attend_reference(q, k, v, spec) * w).sum()}, {q, k, v, spec.alpha});
  for (size_t i = 0; i < g1.size(); ++i) EXPECT_LT(max_abs_diff(g1[i], g2[i]), 1e-9) << "input " << i;
  // clamp: no gradient for gates outside [0, 1]
  EXPECT_EQ(g1[3][1].item<double>(), 0.0);
  EXPECT_EQ(g1[3][2].item<double>(), 0.0);
  EXPECT_NE(g1[3][0].item<double>(), 0.0);
}

// Gate training must replay exactly: the gated backward (q, k, v and alpha gradients) is
// bitwise the same with 1 and 2 threads (kernels/cpu sums dQ in a fixed order).
TEST_F(Attention, GatedGradientsBitwiseEqualAcrossThreadCounts) {
  at::manual_seed(15);
  const int64_t t = 800;
  const at::Tensor q0 = at::randn({4, t, 64}), k0 = at::randn({2, t, 64}), v0 = at::randn({2, t, 64});
  const at::Tensor w = at::randn({4, t, 64});
  std::vector<std::vector<at::Tensor>> runs;
  for (int threads : {1, 2}) {
    duo::core::set_threads(threads);
    LayerSpec spec = make_spec({}, 16, 96);
    spec.alpha = at::tensor({0.35f, 0.8f}).requires_grad_();
    at::Tensor q = q0.clone().requires_grad_(), k = k0.clone().requires_grad_(), v = v0.clone().requires_grad_();
    runs.push_back(torch::autograd::grad({(attend(q, k, v, spec) * w).sum()}, {q, k, v, spec.alpha}));
  }
  for (size_t i = 0; i < runs[0].size(); ++i) EXPECT_TRUE(at::equal(runs[0][i], runs[1][i])) << "input " << i;
}

// LayerSpec::saved: the first gated forward fills it, a later one reuses it instead of running
// the kernels (so it returns the kept result even for other q, k, v), and gradients through the
// reused results equal those of a plain gated forward.
TEST_F(Attention, GatedForwardReusesSavedKernelResults) {
  at::manual_seed(16);
  const int64_t t = 120;
  const at::Tensor q = at::randn({4, t, 32}), k = at::randn({2, t, 32}), v = at::randn({2, t, 32});
  LayerSpec spec = make_spec({}, 4, 16);
  spec.alpha = at::tensor({0.3f, 0.6f});
  spec.saved = std::make_shared<duo::attention::GatedSaved>();
  at::Tensor first;
  {
    at::NoGradGuard no_grad;
    first = attend(q, k, v, spec);
  }
  ASSERT_TRUE(spec.saved->filled());
  EXPECT_EQ(spec.saved->full_out.sizes(), q.sizes());
  EXPECT_EQ(spec.saved->stream_lse.sizes(), (at::IntArrayRef{4, t}));
  LayerSpec plain = spec;
  plain.saved = nullptr;
  EXPECT_TRUE(at::equal(first, attend(q, k, v, plain)));
  EXPECT_TRUE(at::equal(attend(q * 2, k, v, spec), first));  // reused, not recomputed

  at::Tensor qa = q.clone().requires_grad_(), ka = k.clone().requires_grad_(), va = v.clone().requires_grad_();
  at::Tensor qb = q.clone().requires_grad_(), kb = k.clone().requires_grad_(), vb = v.clone().requires_grad_();
  spec.alpha = spec.alpha.clone().requires_grad_();
  plain.alpha = plain.alpha.clone().requires_grad_();
  const at::Tensor w = at::randn({4, t, 32});
  const auto ga = torch::autograd::grad({(attend(qa, ka, va, spec) * w).sum()}, {qa, ka, va, spec.alpha});
  const auto gb = torch::autograd::grad({(attend(qb, kb, vb, plain) * w).sum()}, {qb, kb, vb, plain.alpha});
  for (size_t i = 0; i < ga.size(); ++i) EXPECT_TRUE(at::equal(ga[i], gb[i])) << "input " << i;

  LayerSpec wrong = spec;  // kept results of another shape: an error, not silent garbage
  EXPECT_THROW(attend(at::randn({4, t + 1, 32}), at::randn({2, t + 1, 32}), at::randn({2, t + 1, 32}), wrong),
               duo::Error);
}

TEST_F(Attention, FrozenBranchRunsWithoutAutograd) {
  at::Tensor q = at::randn({2, 20, 16}).requires_grad_(), k = at::randn({1, 20, 16}), v = at::randn({1, 20, 16});
  {
    at::NoGradGuard guard;
    EXPECT_FALSE(attend(q, k, v, LayerSpec{}).requires_grad());
  }
  EXPECT_TRUE(attend(q, k, v, LayerSpec{}).requires_grad());
}

TEST_F(Attention, ErrorsNameWhatWasExpected) {
  const at::Tensor q = at::randn({4, 10, 16}), k = at::randn({3, 10, 16}), v = at::randn({3, 10, 16});
  try {
    attend(q, k, v, LayerSpec{});
    FAIL() << "no error";
  } catch (const duo::Error& e) {
    EXPECT_NE(std::string(e.what()).find("multiple of KV heads"), std::string::npos) << e.what();
  }
  EXPECT_THROW(make_spec({HeadKind::kStreaming}, 4, 0), duo::Error);  // no window with recent < 1 exists
  const at::Tensor m = at::empty({2, 10, 16}, at::TensorOptions().device(at::kMeta));
  const at::Tensor mk = at::empty({1, 10, 16}, at::TensorOptions().device(at::kMeta));
  try {
    attend(m, mk, mk, LayerSpec{});
    FAIL() << "no error";
  } catch (const duo::Error& e) {
    EXPECT_NE(std::string(e.what()).find("no attention backend for it"), std::string::npos) << e.what();
  }
}

}  // namespace
