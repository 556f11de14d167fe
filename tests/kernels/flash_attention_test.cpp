// The blockwise CPU kernels against the materialized reference: forward output and log-sum-exp
// over many shapes (GQA groups, head dims, sink/recent/window combinations, tile sizes that cut
// the mask at every kind of boundary), and the backward against autograd through the reference.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <torch/torch.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "attention/reference.h"
#include "common/device_cases.h"
#include "core/stream_window.h"
#include "core/threads.h"
#include "kernels/cpu/flash_attention.h"
#include "kernels/cpu/task_pool.h"

namespace {

namespace kc = duo::kernels::cpu;
namespace kn = duo::kernels;
using duo::testing::DeviceCase;
using duo::attention::HeadKind;
using duo::attention::LayerSpec;

struct Case {
  int64_t t, hkv, g, d;
  int streaming;  // 0 all full, 1 all streaming, 2 alternate (even heads streaming)
  int64_t sink, recent, window;
  int64_t q_rows, k_block;
};

std::string describe(const Case& c) {
  return "T=" + std::to_string(c.t) + " Hkv=" + std::to_string(c.hkv) + " G=" + std::to_string(c.g) +
         " D=" + std::to_string(c.d) + " streaming=" + std::to_string(c.streaming) + " sink=" + std::to_string(c.sink) +
         " recent=" + std::to_string(c.recent) + " window=" + std::to_string(c.window) +
         " tiles=" + std::to_string(c.q_rows) + "x" + std::to_string(c.k_block);
}

kc::AttentionParams params_of(const Case& c) {
  kc::AttentionParams p;
  for (int64_t h = 0; h < c.hkv; ++h)
    p.streaming.push_back(c.streaming == 1 || (c.streaming == 2 && h % 2 == 0) ? 1 : 0);
  p.window = duo::StreamWindow(c.sink, c.recent);
  p.sliding_window = c.window;
  p.q_rows = c.q_rows;
  p.stream_q_rows = c.q_rows;
  p.k_block = c.k_block;
  return p;
}

LayerSpec spec_of(const Case& c) {
  LayerSpec s;
  const kc::AttentionParams p = params_of(c);
  for (uint8_t x : p.streaming) s.kinds.push_back(x ? HeadKind::kStreaming : HeadKind::kFull);
  s.window = duo::StreamWindow(c.sink, c.recent);
  s.sliding_window = c.window;
  return s;
}

// Reference log-sum-exp of the scaled masked scores, [Hq, T].
at::Tensor reference_lse(const at::Tensor& q, const at::Tensor& k, const Case& c) {
  const LayerSpec spec = spec_of(c);
  const at::Tensor pos = at::arange(c.t, at::kLong);
  std::vector<at::Tensor> rows;
  for (int64_t h = 0; h < c.hkv * c.g; ++h) {
    const int64_t kv = h / c.g;
    const bool streaming = spec.kinds[kv] == HeadKind::kStreaming;
    const at::Tensor vis = duo::attention::visibility(pos, pos, streaming, spec);
    at::Tensor s = at::matmul(q[h].to(at::kDouble), k[kv].to(at::kDouble).t()) / std::sqrt(double(c.d));
    s = s.masked_fill(vis.logical_not(), -std::numeric_limits<double>::infinity());
    rows.push_back(at::logsumexp(s, -1));
  }
  return at::stack(rows);
}

class FlashAttention : public ::testing::Test {
 protected:
  void SetUp() override { duo::core::set_threads(2); }
};

std::vector<Case> forward_cases() {
  std::vector<Case> cases = {
      // tiny sequences, T < sink, T < sink + recent
      {1, 1, 1, 64, 0, 0, 1, 0, 256, 256},
      {1, 2, 4, 64, 1, 4, 1, 0, 256, 256},
      {2, 2, 2, 64, 1, 0, 1, 0, 256, 256},
      {5, 1, 8, 64, 1, 128, 512, 0, 256, 256},
      {7, 2, 1, 128, 2, 3, 2, 0, 4, 3},
      {33, 1, 2, 64, 1, 64, 8, 0, 16, 8},
      // many tile boundaries with small tiles
      {100, 2, 2, 64, 2, 4, 9, 0, 16, 12},
      {131, 1, 4, 64, 1, 0, 17, 0, 32, 16},
      {131, 1, 4, 64, 1, 5, 1, 0, 32, 16},
      {200, 2, 1, 64, 2, 16, 32, 0, 8, 24},
      {257, 2, 2, 64, 0, 0, 1, 0, 64, 40},
      {300, 1, 8, 64, 1, 128, 16, 0, 64, 64},
      {300, 2, 2, 64, 2, 7, 50, 40, 32, 16},  // sliding window with streaming
      {300, 2, 2, 64, 0, 0, 1, 33, 32, 16},   // sliding window only
      {513, 1, 2, 128, 1, 64, 256, 0, 256, 256},
      {700, 2, 4, 128, 2, 128, 512, 0, 256, 256},
      {900, 1, 1, 64, 1, 0, 300, 0, 256, 256},
      // larger sequences with default tiles
      {2000, 2, 2, 128, 2, 64, 256, 0, 256, 256},
      {1500, 1, 8, 64, 0, 0, 1, 0, 256, 256},
  };
  return cases;
}

// The kernel in each (device, dtype) against the reference on the same (rounded) inputs, computed
// in fp64 for fp64 and in fp32 otherwise; tol bounds the max abs difference of the outputs.
class FlashForward : public ::testing::TestWithParam<DeviceCase> {
 protected:
  void SetUp() override { duo::core::set_threads(2); }
};

TEST_P(FlashForward, MatchesReference) {
  const DeviceCase& dc = GetParam();
  const at::ScalarType ref_dtype = dc.dtype == at::kDouble ? at::kDouble : at::kFloat;
  at::manual_seed(1);
  for (const Case& c : forward_cases()) {
    SCOPED_TRACE(describe(c));
    const at::Tensor q = dc.to(at::randn({c.hkv * c.g, c.t, c.d}));
    const at::Tensor k = dc.to(at::randn({c.hkv, c.t, c.d}));
    const at::Tensor v = dc.to(at::randn({c.hkv, c.t, c.d}));
    const kc::ForwardResult r = kc::flash_forward(q, k, v, params_of(c));
    ASSERT_EQ(r.out.sizes(), q.sizes());
    ASSERT_EQ(r.out.scalar_type(), dc.dtype);
    const at::Tensor pos = at::arange(c.t, at::kLong);
    const at::Tensor ref = duo::attention::attend_positions_reference(q.to(ref_dtype), pos, k.to(ref_dtype),
                                                                      v.to(ref_dtype), pos, spec_of(c));
    EXPECT_LT(duo::testing::max_abs_diff(r.out, ref), dc.tol);
    if (c.t <= 700 && dc.dtype != at::kBFloat16) {
      EXPECT_LT(duo::testing::max_abs_diff(r.lse, reference_lse(q, k, c)), dc.tol);
    }
  }
}

// bf16: inputs rounded to 8 bits of mantissa, fp32 accumulation, output rounded to bf16.
INSTANTIATE_TEST_SUITE_P(Cpu, FlashForward,
                         ::testing::Values(DeviceCase{at::kCPU, at::kFloat, 2e-5}, DeviceCase{at::kCPU, at::kDouble, 1e-12},
                                           DeviceCase{at::kCPU, at::kBFloat16, 2e-2}),
                         duo::testing::DeviceCaseName());

TEST_F(FlashAttention, StreamingWithWideWindowEqualsFull) {
  at::manual_seed(3);
  for (int64_t t : {10, 120, 333}) {
    const at::Tensor q = at::randn({4, t, 64}), k = at::randn({2, t, 64}), v = at::randn({2, t, 64});
    kc::AttentionParams full;
    full.q_rows = 32;
    full.k_block = 24;
    kc::AttentionParams stream = full;
    stream.streaming = {1, 1};
    stream.window = duo::StreamWindow(17, std::max<int64_t>(1, t - 17));  // sink + recent >= T: every causal key visible
    const at::Tensor a = kc::flash_forward(q, k, v, full).out, b = kc::flash_forward(q, k, v, stream).out;
    EXPECT_LT((a - b).abs().max().item<double>(), 1e-6) << "T=" << t;
  }
}

TEST_F(FlashAttention, BackwardMatchesAutogradReference) {
  at::manual_seed(4);
  const std::vector<Case> cases = {
      {1, 1, 1, 64, 1, 0, 1, 0, 256, 256},
      {9, 2, 2, 64, 2, 2, 3, 0, 4, 4},
      {70, 1, 4, 64, 1, 5, 11, 0, 16, 12},
      {70, 2, 1, 64, 0, 0, 1, 0, 16, 12},
      {120, 2, 2, 128, 2, 16, 32, 20, 24, 40},
      {300, 1, 8, 64, 2, 64, 100, 0, 256, 256},
      {400, 2, 2, 64, 1, 0, 64, 0, 64, 64},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(describe(c));
    at::Tensor q = at::randn({c.hkv * c.g, c.t, c.d}, at::kDouble).requires_grad_();
    at::Tensor k = at::randn({c.hkv, c.t, c.d}, at::kDouble).requires_grad_();
    at::Tensor v = at::randn({c.hkv, c.t, c.d}, at::kDouble).requires_grad_();
    const at::Tensor dout = at::randn({c.hkv * c.g, c.t, c.d}, at::kDouble);
    const at::Tensor pos = at::arange(c.t, at::kLong);
    const at::Tensor ref = duo::attention::attend_positions_reference(q, pos, k, v, pos, spec_of(c));
    const auto grads = torch::autograd::grad({ref}, {q, k, v}, {dout});
    const kc::AttentionParams p = params_of(c);
    const kc::ForwardResult r = kc::flash_forward(q.detach(), k.detach(), v.detach(), p);
    const kc::BackwardResult b = kc::flash_backward(dout, q.detach(), k.detach(), v.detach(), r.out, r.lse, p);
    EXPECT_LT((b.dq - grads[0]).abs().max().item<double>(), 1e-10);
    EXPECT_LT((b.dk - grads[1]).abs().max().item<double>(), 1e-10);
    EXPECT_LT((b.dv - grads[2]).abs().max().item<double>(), 1e-10);
    // fp32 path: same gradients within fp32 accuracy
    const kc::ForwardResult rf = kc::flash_forward(q.detach().to(at::kFloat), k.detach().to(at::kFloat),
                                                   v.detach().to(at::kFloat), p);
    const kc::BackwardResult bf = kc::flash_backward(dout.to(at::kFloat), q.detach().to(at::kFloat),
                                                     k.detach().to(at::kFloat), v.detach().to(at::kFloat), rf.out,
                                                     rf.lse, p);
    EXPECT_LT((bf.dq.to(at::kDouble) - grads[0]).abs().max().item<double>(), 1e-4);
    EXPECT_LT((bf.dk.to(at::kDouble) - grads[1]).abs().max().item<double>(), 1e-4);
    EXPECT_LT((bf.dv.to(at::kDouble) - grads[2]).abs().max().item<double>(), 1e-4);
  }
}

// The backward sums dQ over chunks of key blocks run as parallel tasks; the chunks and the
// order of every sum are fixed by the shapes, so gradients must be bitwise equal whatever the
// thread count and scheduling. Hkv <= 2 gives several chunks per head (overlapping dQ rows). One
// KV head with a single key block is a single task, run on the calling thread outside any parallel
// region, where a multi-threaded gemm could split its sums (the last two cases: tiles whose dV / dK
// products sum over 1024 rows into a 1000 x 128 output).
TEST_F(FlashAttention, BackwardIsBitwiseDeterministicAcrossThreadCounts) {
  at::manual_seed(6);
  const std::vector<Case> cases = {
      {700, 1, 4, 64, 0, 0, 1, 0, 64, 32},
      {900, 2, 2, 64, 2, 16, 64, 0, 32, 48},
      {600, 2, 1, 32, 1, 8, 40, 100, 16, 16},
      {200, 1, 4, 64, 0, 0, 1, 0, 256, 256},
      {1000, 1, 8, 128, 0, 0, 1, 0, 1024, 1024},
  };
  for (const Case& c : cases) {
    for (const at::ScalarType dt : {at::kFloat, at::kDouble}) {
      SCOPED_TRACE(describe(c) + (dt == at::kDouble ? " fp64" : " fp32"));
      const at::Tensor q = at::randn({c.hkv * c.g, c.t, c.d}, dt), k = at::randn({c.hkv, c.t, c.d}, dt),
                       v = at::randn({c.hkv, c.t, c.d}, dt), dout = at::randn({c.hkv * c.g, c.t, c.d}, dt);
      const kc::AttentionParams p = params_of(c);
      std::vector<kc::BackwardResult> runs;
      for (int threads : {1, 2, 1, 2}) {
        duo::core::set_threads(threads);
        const kc::ForwardResult r = kc::flash_forward(q, k, v, p);
        runs.push_back(kc::flash_backward(dout, q, k, v, r.out, r.lse, p));
      }
      duo::core::set_threads(2);
      for (size_t i = 1; i < runs.size(); ++i) {
        EXPECT_TRUE(at::equal(runs[i].dq, runs[0].dq)) << "run " << i;
        EXPECT_TRUE(at::equal(runs[i].dk, runs[0].dk)) << "run " << i;
        EXPECT_TRUE(at::equal(runs[i].dv, runs[0].dv)) << "run " << i;
      }
    }
  }
}

TEST_F(FlashAttention, AcceptsInputsThatRequireGrad) {
  // The kernels are called directly by autograd wrappers and tests; inputs that require grad
  // must not leak autograd into the worker threads.
  const at::Tensor q = at::randn({2, 300, 16}).requires_grad_(), k = at::randn({2, 300, 16}).requires_grad_(),
                   v = at::randn({2, 300, 16}).requires_grad_();
  kc::AttentionParams p;
  const kc::ForwardResult r = kc::flash_forward(q, k, v, p);
  EXPECT_FALSE(r.out.requires_grad());
  const kc::BackwardResult b = kc::flash_backward(at::ones_like(q), q, k, v, r.out, r.lse, p);
  EXPECT_EQ(b.dq.sizes(), q.sizes());
}

TEST_F(FlashAttention, RejectsBadInputs) {
  kc::AttentionParams p;
  EXPECT_THROW(kc::flash_forward(at::randn({3, 4, 8}), at::randn({2, 4, 8}), at::randn({2, 4, 8}), p), std::exception);
  EXPECT_THROW(kc::flash_forward(at::randn({2, 4, 8}), at::randn({2, 5, 8}), at::randn({2, 5, 8}), p), std::exception);
  // A streaming window with recent < 1 cannot be built, so no kernel ever sees one.
  EXPECT_THROW(duo::StreamWindow(0, 0), duo::Error);
  EXPECT_THROW(duo::StreamWindow(-1, 4), duo::Error);
  EXPECT_THROW(duo::StreamWindow::make(4, 0, "--deploy-recent"), duo::Error);
}

}  // namespace
