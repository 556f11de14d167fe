// Blockwise attention forward (see flash_attention.h). One task = one KV head x one block of
// queries; the G query heads of the KV head are rows of the same tile.
#include <ATen/ATen.h>

#include <algorithm>
#include <limits>
#include <vector>

#include "core/error.h"
#include "kernels/cpu/flash_attention.h"
#include "kernels/cpu/flash_common.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/online_softmax.h"
#include "kernels/cpu/task_pool.h"

namespace duo::kernels::cpu {
namespace {

struct QueryTask {
  int64_t head;
  int64_t q0, q1;  // query positions
  int64_t cost;    // visited keys x queries, for scheduling
};

std::vector<QueryTask> query_tasks(const AttentionParams& p, int64_t hkv, int64_t t, int64_t g) {
  std::vector<QueryTask> tasks;
  for (int64_t h = 0; h < hkv; ++h) {
    const HeadMask m = p.mask(h);
    const int64_t bq = p.query_block(m, g);
    for (int64_t q0 = 0; q0 < t; q0 += bq) {
      const int64_t q1 = std::min(t, q0 + bq);
      int64_t keys = 0;
      for (const Span& s : key_spans(m, q0, q1)) keys += s.size();
      tasks.push_back({h, q0, q1, keys * (q1 - q0)});
    }
  }
  std::stable_sort(tasks.begin(), tasks.end(), [](const QueryTask& a, const QueryTask& b) { return a.cost > b.cost; });
  return tasks;
}

template <typename T>
void forward_task(const QueryTask& task, const AttentionParams& p, int64_t g, const at::Tensor& qg,
                  const at::Tensor& kc, const at::Tensor& vc, const at::Tensor& og, const at::Tensor& lse_g) {
  const HeadMask mask = p.mask(task.head);
  const int64_t rows = (task.q1 - task.q0) * g, r0 = task.q0 * g;
  const at::Tensor qb = qg[task.head].narrow(0, r0, rows);  // [M, D]
  at::Tensor o = og[task.head].narrow(0, r0, rows);         // [M, D]
  o.zero_();
  const at::Tensor kh = kc[task.head], vh = vc[task.head];  // [T, D]
  std::vector<T> m(rows, -std::numeric_limits<T>::infinity()), l(rows, T(0));
  const at::Tensor scratch = at::empty({rows * p.k_block}, qg.options());
  for (const Span& span : key_spans(mask, task.q0, task.q1)) {
    for (int64_t k0 = span.begin; k0 < span.end; k0 += p.k_block) {
      const int64_t k1 = std::min(span.end, k0 + p.k_block), n = k1 - k0;
      const BlockState state = block_state(mask, task.q0, task.q1, k0, k1);
      if (state == BlockState::kEmpty) continue;
      at::Tensor s = scratch_view(scratch, rows, n);  // [M, n]
      gemm_out(s, qb, kh.narrow(0, k0, n).t());
      T* sp = s.data_ptr<T>();
      if (state == BlockState::kPartial) mask_tile(sp, rows, n, g, task.q0, k0, mask);
      online_update<T>(sp, rows, n, m.data(), l.data(), o, s, vh.narrow(0, k0, n));
    }
  }
  online_finish<T>(rows, m.data(), l.data(), o, lse_g[task.head].data_ptr<T>() + r0);
}

}  // namespace

ForwardResult flash_forward(const at::Tensor& q_in, const at::Tensor& k_in, const at::Tensor& v_in,
                            const AttentionParams& p) {
  assert_attention_inputs(q_in, k_in, v_in, p);
  // The kernel is not differentiable by autograd (autograd_ops.h wraps it); worker threads run
  // with their own grad mode, so work on detached tensors.
  const at::Tensor q = q_in.detach(), k = k_in.detach(), v = v_in.detach();
  const int64_t hq = q.size(0), t = q.size(1), d = q.size(2), hkv = k.size(0), g = hq / hkv;
  const at::ScalarType ct = compute_dtype(q.scalar_type());
  const double scale = resolve_scale(p.scale, d);
  const at::Tensor qg = to_grouped(q, hkv, ct, scale);  // [Hkv, T*G, D], scaled
  const at::Tensor kc = k.to(ct).contiguous();           // [Hkv, T, D]
  const at::Tensor vc = v.to(ct).contiguous();           // [Hkv, T, D]
  const at::Tensor og = at::empty({hkv, t * g, d}, qg.options());
  const at::Tensor lse_g = at::empty({hkv, t * g}, qg.options());
  const std::vector<QueryTask> tasks = query_tasks(p, hkv, t, g);
  run_tasks(static_cast<int64_t>(tasks.size()), [&](int64_t i) {
    if (ct == at::kDouble)
      forward_task<double>(tasks[i], p, g, qg, kc, vc, og, lse_g);
    else
      forward_task<float>(tasks[i], p, g, qg, kc, vc, og, lse_g);
  });
  return ForwardResult{from_grouped(og, g, q.scalar_type()), rows_from_grouped(lse_g, g)};
}

}  // namespace duo::kernels::cpu
