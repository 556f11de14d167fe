// Blockwise attention backward (see flash_attention.h). With S = (scale q) k^T, P = exp(S - lse),
// D_i = rowsum(dO * O): dV = P^T dO, dS = P * (dO V^T - D), dQ = scale * dS K, dK = dS^T (scale q).
//
// One pass (flash-attention 2, arXiv 2307.08691 section 3.1.2, Algorithm 2): the outer loop runs
// over key blocks, the inner loop over the query tiles that see the block. Each tile computes P
// once and feeds all three gradients: dK and dV of the block stay in cache, dQ rows are
// accumulated into a buffer of the task. A task is a chunk of consecutive key blocks of one KV
// head; chunks are cut at equal work, and their number depends only on the shapes (never on the
// thread count), so every sum is taken in a fixed order: dK, dV over query tiles in position
// order, dQ over key blocks within a chunk, then over the chunks of a head in chunk order. The
// result is bitwise the same for any number of threads. Extra memory: the dQ buffers of chunks
// after the first, at most (chunks - 1) x q's size, linear in T.
#include <ATen/ATen.h>

#include <algorithm>
#include <vector>

#include "core/error.h"
#include "kernels/cpu/flash_attention.h"
#include "kernels/cpu/flash_common.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/task_pool.h"
#include "kernels/cpu/vec_math.h"

namespace duo::kernels::cpu {
namespace {

// Chunks per KV head: enough tasks to spread over a few threads (kTargetTasks over all heads),
// few enough that the dQ buffers stay small. Constants, not the thread count: see the file
// comment on determinism.
constexpr int64_t kTargetTasks = 16;
constexpr int64_t kMaxChunksPerHead = 8;

// Inputs in the grouped layout, compute dtype.
struct Grouped {
  at::Tensor q;      // [Hkv, T*G, D], scaled
  at::Tensor k, v;   // [Hkv, T, D]
  at::Tensor dout;   // [Hkv, T*G, D]
  at::Tensor lse;    // [Hkv, T*G]
  at::Tensor delta;  // [Hkv, T*G]: rowsum(dO * O)
  int64_t g;
  int64_t t;
};

// One task: consecutive key blocks of one KV head.
struct KeyChunk {
  int64_t head;
  int64_t index;              // chunk number within the head: the order of the dQ sum
  std::vector<Span> blocks;   // key blocks, ascending
  Span queries;               // queries that see some key of the chunk: the dQ rows it touches
  int64_t cost;               // visited (query, key) pairs, for scheduling
};

// Cuts the key blocks of head `h` into at most `n_chunks` chunks of about equal cost.
void add_chunks(std::vector<KeyChunk>& out, int64_t h, const HeadMask& mask, int64_t t, int64_t k_block,
                int64_t n_chunks) {
  const std::vector<Span> blocks = key_blocks(mask, t, k_block);
  std::vector<int64_t> cost(blocks.size());
  int64_t total = 0;
  for (size_t i = 0; i < blocks.size(); ++i) {
    cost[i] = query_span(mask, blocks[i].begin, blocks[i].end, t).size() * blocks[i].size();
    total += cost[i];
  }
  n_chunks = std::max<int64_t>(1, std::min<int64_t>(n_chunks, static_cast<int64_t>(blocks.size())));
  KeyChunk cur{h, 0, {}, Span{t, 0}, 0};
  int64_t done = 0, next_cut = 1;  // cut after the block that brings `done` to next_cut / n_chunks of total
  for (size_t i = 0; i < blocks.size(); ++i) {
    const Span qs = query_span(mask, blocks[i].begin, blocks[i].end, t);
    cur.blocks.push_back(blocks[i]);
    cur.queries = Span{std::min(cur.queries.begin, qs.begin), std::max(cur.queries.end, qs.end)};
    cur.cost += cost[i];
    done += cost[i];
    const bool last = i + 1 == blocks.size();
    if (last || (next_cut < n_chunks && done * n_chunks >= total * next_cut)) {
      out.push_back(cur);
      cur = KeyChunk{h, cur.index + 1, {}, Span{t, 0}, 0};
      while (next_cut < n_chunks && done * n_chunks >= total * next_cut) ++next_cut;
    }
  }
}

// P = exp(S - lse) in place on a tile s [rows, n]; then s = P * (dP - delta) once dP is known.
template <typename T>
void tile_probs(T* s, int64_t rows, int64_t n, const T* lse) {
  for (int64_t r = 0; r < rows; ++r) exp_shift_sum(s + r * n, s + r * n, n, lse[r]);
}
template <typename T>
void tile_dscores(T* s, const T* dp, int64_t rows, int64_t n, const T* delta) {
  for (int64_t r = 0; r < rows; ++r) {
    T* row = s + r * n;
    const T* dprow = dp + r * n;
    const T dl = delta[r];
    for (int64_t c = 0; c < n; ++c) row[c] *= dprow[c] - dl;
  }
}

// dK, dV of the chunk's key blocks (written in place) and its dQ contribution, accumulated into
// dq [chunk.queries.size() * G, D] (unscaled: the caller multiplies by the softmax scale).
template <typename T>
void chunk_backward(const KeyChunk& chunk, const AttentionParams& p, const Grouped& in, at::Tensor dq,
                    const at::Tensor& dk_all, const at::Tensor& dv_all) {
  const HeadMask mask = p.mask(chunk.head);
  const int64_t g = in.g, bq = p.query_block(mask, g), dq_r0 = chunk.queries.begin * g;
  const at::Tensor qh = in.q[chunk.head], doh = in.dout[chunk.head];  // [T*G, D]
  const at::Tensor kh = in.k[chunk.head], vh = in.v[chunk.head];      // [T, D]
  const T* lse = in.lse[chunk.head].data_ptr<T>();
  const T* delta = in.delta[chunk.head].data_ptr<T>();
  int64_t max_n = 0;
  for (const Span& b : chunk.blocks) max_n = std::max(max_n, b.size());
  const at::Tensor s_buf = at::empty({bq * g * max_n}, qh.options());
  const at::Tensor dp_buf = at::empty({bq * g * max_n}, qh.options());
  for (const Span& b : chunk.blocks) {
    const int64_t k0 = b.begin, n = b.size();
    const at::Tensor kb = kh.narrow(0, k0, n), vb = vh.narrow(0, k0, n);                               // [n, D]
    at::Tensor dk = dk_all[chunk.head].narrow(0, k0, n), dv = dv_all[chunk.head].narrow(0, k0, n);  // [n, D]
    dk.zero_();
    dv.zero_();
    const Span qs = query_span(mask, k0, b.end, in.t);
    for (int64_t q0 = qs.begin; q0 < qs.end; q0 += bq) {
      const int64_t q1 = std::min(qs.end, q0 + bq), rows = (q1 - q0) * g, r0 = q0 * g;
      const BlockState state = block_state(mask, q0, q1, k0, b.end);
      if (state == BlockState::kEmpty) continue;
      const at::Tensor qb = qh.narrow(0, r0, rows);    // [M, D]
      const at::Tensor dob = doh.narrow(0, r0, rows);  // [M, D]
      at::Tensor s = scratch_view(s_buf, rows, n), dp = scratch_view(dp_buf, rows, n);  // [M, n]
      gemm_out(s, qb, kb.t());
      T* sp = s.data_ptr<T>();
      if (state == BlockState::kPartial) mask_tile(sp, rows, n, g, q0, k0, mask);
      tile_probs(sp, rows, n, lse + r0);
      gemm_out(dv, s.t(), dob, 1.0f);
      gemm_out(dp, dob, vb.t());
      tile_dscores(sp, dp.data_ptr<T>(), rows, n, delta + r0);
      gemm_out(dk, s.t(), qb, 1.0f);
      at::Tensor dq_rows = dq.narrow(0, r0 - dq_r0, rows);
      gemm_out(dq_rows, s, kb, 1.0f);
    }
  }
}

}  // namespace

BackwardResult flash_backward(const at::Tensor& dout_in, const at::Tensor& q_in, const at::Tensor& k_in,
                              const at::Tensor& v_in, const at::Tensor& out_in, const at::Tensor& lse_in,
                              const AttentionParams& p) {
  assert_attention_inputs(q_in, k_in, v_in, p);
  const at::Tensor q = q_in.detach(), k = k_in.detach(), v = v_in.detach();  // see flash_forward
  const at::Tensor dout = dout_in.detach(), out = out_in.detach(), lse = lse_in.detach();
  DUO_ASSERT(dout.sizes() == q.sizes() && out.sizes() == q.sizes());
  DUO_ASSERT(lse.dim() == 2 && lse.size(0) == q.size(0) && lse.size(1) == q.size(1));
  const int64_t hq = q.size(0), t = q.size(1), d = q.size(2), hkv = k.size(0), g = hq / hkv;
  const at::ScalarType ct = compute_dtype(q.scalar_type());
  const double scale = resolve_scale(p.scale, d);
  Grouped in;
  in.g = g;
  in.t = t;
  in.q = to_grouped(q, hkv, ct, scale);
  in.k = k.to(ct).contiguous();
  in.v = v.to(ct).contiguous();
  in.dout = to_grouped(dout, hkv, ct);
  in.lse = rows_to_grouped(lse, hkv, ct);
  in.delta = (in.dout * to_grouped(out, hkv, ct)).sum(-1).contiguous();  // [Hkv, T*G]

  const int64_t per_head = std::min(kMaxChunksPerHead, (kTargetTasks + hkv - 1) / hkv);
  std::vector<KeyChunk> chunks;  // grouped by head, chunk index ascending
  for (int64_t h = 0; h < hkv; ++h) add_chunks(chunks, h, p.mask(h), t, p.k_block, per_head);

  // dQ targets: the first chunk of a head accumulates straight into dqg, later ones into their
  // own zeroed buffers [queries * G, D], added in chunk order below.
  at::Tensor dqg = at::zeros_like(in.q);  // [Hkv, T*G, D]
  std::vector<at::Tensor> dq_of(chunks.size());
  for (size_t i = 0; i < chunks.size(); ++i) {
    const KeyChunk& c = chunks[i];
    const int64_t r0 = c.queries.begin * g, rows = c.queries.size() * g;
    dq_of[i] = c.index == 0 ? dqg[c.head].narrow(0, r0, rows) : at::zeros({rows, d}, in.q.options());
  }
  std::vector<int64_t> order(chunks.size());  // costliest first: dynamic scheduling balances the rest
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int64_t>(i);
  std::stable_sort(order.begin(), order.end(),
                   [&](int64_t a, int64_t b) { return chunks[a].cost > chunks[b].cost; });

  at::Tensor dk = at::empty_like(in.k), dv = at::empty_like(in.v);
  const bool dbl = ct == at::kDouble;
  run_tasks(static_cast<int64_t>(order.size()), [&](int64_t i) {
    const int64_t c = order[i];
    if (dbl)
      chunk_backward<double>(chunks[c], p, in, dq_of[c], dk, dv);
    else
      chunk_backward<float>(chunks[c], p, in, dq_of[c], dk, dv);
  });
  // Fixed-order reduction of the dQ buffers, one head per task.
  std::vector<size_t> head_begin(hkv + 1, chunks.size());
  for (size_t i = chunks.size(); i-- > 0;) head_begin[chunks[i].head] = i;
  run_tasks(hkv, [&](int64_t h) {
    for (size_t i = head_begin[h]; i < chunks.size() && chunks[i].head == h; ++i) {
      const KeyChunk& c = chunks[i];
      if (c.index > 0) dqg[h].narrow(0, c.queries.begin * g, c.queries.size() * g).add_(dq_of[i]);
    }
  });
  dq_of.clear();
  dqg.mul_(scale);
  const auto dt = q.scalar_type();
  return BackwardResult{from_grouped(dqg, g, dt), dk.to(dt), dv.to(dt)};
}

}  // namespace duo::kernels::cpu
