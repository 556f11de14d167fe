// Decode / chunked attention over a split cache (see decode_attention.h). Tasks are (KV head,
// cache split); each keeps an online-softmax state (m, l, O) for the head's n * G query rows,
// and the states of a head's splits are merged by rescaling to the common max.
#include "kernels/cpu/decode_attention.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>
#include <vector>

#include "core/error.h"
#include "kernels/cpu/flash_common.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/half_rows.h"
#include "kernels/cpu/online_softmax.h"
#include "kernels/cpu/task_pool.h"
#include "kernels/cpu/vec_math.h"

namespace duo::kernels::cpu {
namespace {

struct Inputs {
  at::Tensor q;         // [Hkv, n*G, D] scaled, compute dtype
  at::Tensor k_new;     // [Hkv, n, D] compute dtype
  at::Tensor v_new;     // [Hkv, n, D]
  at::Tensor k_cache;   // [Hkv, S, D] any float dtype (undefined when S = 0)
  at::Tensor v_cache;   // [Hkv, S, D]
  const int64_t* pos;   // [S]
  int64_t s, n, g, p0;
};

// Rows at most this many use the direct few-row products instead of BLAS (decode: n * G rows),
// on key blocks of kDirectBlock (larger blocks: fewer softmax rescales; the scratch stays small).
constexpr int64_t kDirectRows = 16;
constexpr int64_t kDirectBlock = 2048;

int64_t block_keys(int64_t rows, const DecodeParams& p) {
  return rows <= kDirectRows ? std::max(p.k_block, kDirectBlock) : p.k_block;
}

// The 16-bit type of a cache block read directly by the direct path, if any.
bool half_type(const at::Tensor& t, HalfType* type) {
  if (t.scalar_type() == at::kBFloat16) {
    *type = HalfType::kBF16;
    return true;
  }
  if (t.scalar_type() == at::kHalf) {
    *type = HalfType::kF16;
    return true;
  }
  return false;
}

// Rows [r0, r1) of the n * G query rows (row r is query position p0 + r / G) that may see some
// key of the block at positions [j0, j1] (contiguous positions only): the block-sparse skip of
// chunked prefill, where a streaming head's chunk keys are visible to `recent` queries each.
void visible_rows(const HeadMask& mask, const Inputs& in, int64_t j0, int64_t j1, int64_t* r0, int64_t* r1) {
  const Span qs = query_span(mask, j0, j1 + 1, in.p0 + in.n);  // query positions
  const int64_t t0 = std::clamp<int64_t>(qs.begin - in.p0, 0, in.n), t1 = std::clamp<int64_t>(qs.end - in.p0, 0, in.n);
  *r0 = t0 * in.g;
  *r1 = std::max(t0, t1) * in.g;
}

// Sets the scores of keys that a row may not see to -inf. s [rows, nb] are rows [r0, r0 + rows)
// against keys [b0, b0 + nb). Whole-block checks first, over the keys' position range: a block
// every row sees (a retrieval head's cache, the common case) costs O(nb) here, not O(rows x nb);
// one no row sees is reported kEmpty and left to the caller to skip.
template <typename T, typename PosFn>
BlockState mask_scores(T* s, int64_t r0, int64_t rows, int64_t b0, int64_t nb, const PosFn& key_pos, bool contiguous,
                       const Inputs& in, const HeadMask& mask) {
  const int64_t q_first = in.p0 + r0 / in.g, q_last = in.p0 + (r0 + rows - 1) / in.g;
  int64_t k_lo = key_pos(b0), k_hi = k_lo + nb - 1;
  if (!contiguous) {
    k_hi = k_lo;
    for (int64_t c = 1; c < nb; ++c) {
      const int64_t j = key_pos(b0 + c);
      k_lo = std::min(k_lo, j);
      k_hi = std::max(k_hi, j);
    }
  }
  // An empty cache slot has position -1 (never visible): such a block is masked per element.
  const BlockState state =
      k_lo < 0 ? BlockState::kPartial : block_state(mask, q_first, q_last + 1, k_lo, k_hi + 1);
  if (state != BlockState::kPartial) return state;
  if (contiguous) {
    mask_tile(s, rows, nb, in.g, in.p0 + r0 / in.g, k_lo, mask);  // r0 is a multiple of g (visible_rows)
    return state;
  }
  const T neg_inf = -std::numeric_limits<T>::infinity();
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t i = in.p0 + (r0 + r) / in.g;
    T* row = s + r * nb;
    for (int64_t c = 0; c < nb; ++c)
      if (!mask.visible(i, key_pos(b0 + c))) row[c] = neg_inf;
  }
  return state;
}

// Folds keys [k0, k0 + count) of one source into the state; key c sits at key_pos(c). When
// `contiguous`, key c sits at position key_pos(k0) + (c - k0) and blocks no query sees are skipped.
// Cache blocks in bf16 / f16 are read directly by the few-row products (half_rows.h) and widened
// per block (to the compute dtype) only on the BLAS path of chunked prefill.
template <typename T, typename PosFn>
void fold_keys(const at::Tensor& q, const at::Tensor& keys, const at::Tensor& values, int64_t k0, int64_t count,
               const PosFn& key_pos, bool contiguous, const Inputs& in, const DecodeParams& p, T* m, T* l,
               at::Tensor& o, const at::Tensor& scratch) {
  const int64_t all_rows = q.size(0), d = q.size(1), block = block_keys(all_rows, p);
  const at::ScalarType ct = q.scalar_type();
  for (int64_t b0 = k0; b0 < k0 + count; b0 += block) {
    const int64_t nb = std::min(k0 + count, b0 + block) - b0;
    int64_t r0 = 0, r1 = all_rows;
    if (contiguous) visible_rows(p.mask, in, key_pos(b0), key_pos(b0) + nb - 1, &r0, &r1);
    const int64_t rows = r1 - r0;
    if (rows <= 0) continue;
    const at::Tensor kraw = keys.narrow(0, b0, nb), vraw = values.narrow(0, b0, nb);  // [nb, D]
    const at::Tensor qr = q.narrow(0, r0, rows);                                      // [rows, D]
    at::Tensor orows = o.narrow(0, r0, rows);                                         // [rows, D]
    at::Tensor s = scratch_view(scratch, rows, nb);                                   // [rows, nb]
    T* sp = s.data_ptr<T>();
    bool direct = false;
    HalfType ht = HalfType::kBF16;
    const bool half = std::is_same_v<T, float> && half_type(kraw, &ht) && vraw.scalar_type() == kraw.scalar_type();
    at::Tensor kb, vb;  // [nb, D] in the compute dtype (the BLAS path, or an fp32 cache)
    if constexpr (std::is_same_v<T, float>) {
      direct = rows <= kDirectRows && kraw.stride(1) == 1 && vraw.stride(1) == 1 &&
               (half || (kraw.scalar_type() == ct && vraw.scalar_type() == ct));
      if (direct && half) {
        dot_rows_half(qr.data_ptr<float>(), rows, reinterpret_cast<const uint16_t*>(kraw.data_ptr()), nb, d,
                      kraw.stride(0), sp, ht);
      } else if (direct) {
        dot_rows(qr.data_ptr<float>(), rows, kraw.data_ptr<float>(), nb, d, kraw.stride(0), sp);
      }
    }
    if (!direct) {
      kb = kraw.to(ct);
      vb = vraw.to(ct);
      gemm_out(s, qr, kb.t());  // [rows, nb]
    }
    const BlockState state = mask_scores(sp, r0, rows, b0, nb, key_pos, contiguous, in, p.mask);
    if (state == BlockState::kEmpty) continue;  // the rows see none of these keys (a decode row's own future, say)
    online_rescale<T>(sp, rows, nb, m + r0, l + r0, orows);
    if constexpr (std::is_same_v<T, float>) {
      if (direct && half) {
        accumulate_rows_half(sp, rows, reinterpret_cast<const uint16_t*>(vraw.data_ptr()), nb, d, vraw.stride(0),
                             orows.data_ptr<float>(), ht);
        continue;
      }
      if (direct) {
        accumulate_rows(sp, rows, vraw.data_ptr<float>(), nb, d, vraw.stride(0), orows.data_ptr<float>());
        continue;
      }
    }
    gemm_out(orows, s, vb, 1.0f);  // orows += s vb
  }
}

// Splits of each head's cache of s keys: more than one when the hkv heads alone cannot keep the
// threads evenly busy: fewer heads than threads, or a head count that leaves threads idle in the
// last round (3 retrieval heads on 2 threads: 6 half-cache tasks instead of 3 whole ones).
int64_t cache_splits(int64_t hkv, int64_t s, int64_t threads, int64_t min_split) {
  int64_t splits = 1;
  if (threads > 1 && s >= 2 * min_split) {
    const int64_t most = s / min_split;
    if (hkv < threads) {
      splits = std::min<int64_t>((threads + hkv - 1) / hkv * 2, most);
    } else if (hkv % threads != 0 && hkv < 8 * threads) {
      while (splits < most && (hkv * splits) % threads != 0 && hkv * splits < 8 * threads) ++splits;
    }
  }
  return splits;
}

template <typename T>
void run(const Inputs& in, const DecodeParams& p, at::Tensor& og) {
  const int64_t hkv = in.q.size(0), rows = in.q.size(1), d = in.q.size(2);
  const int64_t splits = cache_splits(hkv, in.s, at::get_num_threads(), p.min_split);
  const int64_t per_split = (in.s + splits - 1) / splits;
  const auto opts = in.q.options();
  // One softmax state per (head, split): m, l [Hkv, splits, M], O [Hkv, splits, M, D]. With one
  // split the state's O is the output itself.
  at::Tensor m_all = at::empty({hkv, splits, rows}, opts);
  at::Tensor l_all = at::empty({hkv, splits, rows}, opts);
  at::Tensor o_all = splits == 1 ? og.view({hkv, 1, rows, d}) : at::empty({hkv, splits, rows, d}, opts);
  run_tasks(hkv * splits, [&](int64_t task) {
    const int64_t h = task / splits, sp = task % splits;
    const at::Tensor qh = in.q[h];  // [M, D]
    T* m = m_all[h][sp].data_ptr<T>();
    T* l = l_all[h][sp].data_ptr<T>();
    std::fill(m, m + rows, -std::numeric_limits<T>::infinity());
    std::fill(l, l + rows, T(0));
    at::Tensor o = o_all[h][sp];  // [M, D]
    o.zero_();
    const at::Tensor scratch = at::empty({rows * block_keys(rows, p)}, opts);
    const int64_t c0 = sp * per_split, c1 = std::min(in.s, c0 + per_split);
    if (c1 > c0) {
      fold_keys<T>(qh, in.k_cache[h], in.v_cache[h], c0, c1 - c0, [&](int64_t c) { return in.pos[c]; },
                   /*contiguous=*/false, in, p, m, l, o, scratch);
    }
    if (sp == splits - 1) {
      fold_keys<T>(qh, in.k_new[h], in.v_new[h], 0, in.n, [&](int64_t c) { return in.p0 + c; },
                   /*contiguous=*/true, in, p, m, l, o, scratch);
    }
    if (splits == 1) online_finish<T>(rows, m, l, o, nullptr);
  });
  if (splits == 1) return;
  // Merge the splits of every head at once: rescale each state to the common row max.
  const at::Tensor m_max = std::get<0>(m_all.max(1, /*keepdim=*/true));              // [Hkv, 1, M]
  const at::Tensor m_safe = at::where(at::isinf(m_max), at::zeros_like(m_max), m_max);
  const at::Tensor w = at::exp(m_all - m_safe);                                       // [Hkv, splits, M]
  const at::Tensor l_tot = (w * l_all).sum(1);                                        // [Hkv, M]
  const at::Tensor inv = at::where(l_tot > 0, 1.0 / l_tot, at::zeros_like(l_tot));
  og.copy_((o_all * w.unsqueeze(-1)).sum(1) * inv.unsqueeze(-1));
}

// One (group, head, split) task of decode_rows.
struct RowTask {
  const RowGroup* group;
  int64_t head, split, splits;
  float* state;  // m [G], l [G], O [G, D] of this split (splits > 1), else null
};

// Folds the task's slots into (m, l, o) [G], [G], [G, D]; qs [G, D] is the scaled query.
void fold_row_task(const RowTask& t, const float* qs, int64_t g, int64_t d, const Inputs& in, float* m, float* l,
                   float* o, float* s) {
  const RowGroup& grp = *t.group;
  const int64_t elem = grp.type == RowType::kF32 ? 4 : 2;
  const char* k = static_cast<const char*>(grp.k) + t.head * grp.head_stride * elem;
  const char* v = static_cast<const char*>(grp.v) + t.head * grp.head_stride * elem;
  const int64_t per = (grp.slots + t.splits - 1) / t.splits;
  const int64_t c0 = t.split * per, c1 = std::min(grp.slots, c0 + per);
  const int64_t block = kDirectBlock;
  std::fill(m, m + g, -std::numeric_limits<float>::infinity());
  std::fill(l, l + g, 0.0f);
  std::fill(o, o + g * d, 0.0f);
  for (int64_t b0 = c0; b0 < c1; b0 += block) {
    const int64_t nb = std::min(c1, b0 + block) - b0;
    dot_rows_typed(qs, g, k + b0 * d * elem, nb, d, d, s, grp.type);
    const BlockState state =
        mask_scores(s, 0, g, b0, nb, [&](int64_t c) { return grp.pos[c]; }, grp.contiguous, in, grp.mask);
    if (state == BlockState::kEmpty) continue;
    online_rescale<float>(s, g, nb, m, l, o, d);
    accumulate_rows_typed(s, g, v + b0 * d * elem, nb, d, d, o, grp.type);
  }
}

}  // namespace

void decode_rows(const float* q, int64_t g, int64_t d, int64_t p, const RowGroup* groups, int64_t n_groups,
                 const DecodeParams& params, float* out) {
  DUO_ASSERT(g >= 1 && d >= 1 && p >= 0 && params.min_split >= 1);
  const float scale = static_cast<float>(resolve_scale(params.scale, d));
  const int64_t threads = at::get_num_threads(), state_size = g * (d + 2);
  // Tasks, largest caches first (run_tasks hands them out in order).
  std::vector<RowTask> tasks;
  int64_t split_states = 0;
  std::vector<const RowGroup*> order;
  for (int64_t i = 0; i < n_groups; ++i)
    if (groups[i].heads > 0) order.push_back(&groups[i]);
  std::stable_sort(order.begin(), order.end(), [](const RowGroup* a, const RowGroup* b) { return a->slots > b->slots; });
  for (const RowGroup* grp : order) {
    DUO_ASSERT(grp->slots >= 1 && grp->pos != nullptr && grp->kv_heads != nullptr);
    const int64_t splits = cache_splits(grp->heads, grp->slots, threads, params.min_split);
    for (int64_t h = 0; h < grp->heads; ++h)
      for (int64_t sp = 0; sp < splits; ++sp) {
        tasks.push_back({grp, h, sp, splits, nullptr});
        if (splits > 1) ++split_states;
      }
  }
  std::vector<float> states(static_cast<size_t>(split_states * state_size));
  for (size_t i = 0, next = 0; i < tasks.size(); ++i)
    if (tasks[i].splits > 1) tasks[i].state = states.data() + (next++) * state_size;
  Inputs in;  // what mask_scores reads: one query position, G rows
  in.p0 = p;
  in.n = 1;
  in.g = g;
  run_tasks(static_cast<int64_t>(tasks.size()), [&](int64_t i) {
    const RowTask& t = tasks[static_cast<size_t>(i)];
    const int64_t kvh = t.group->kv_heads[t.head];
    std::vector<float> scratch(static_cast<size_t>(g * d + g * kDirectBlock + (t.state ? 0 : state_size)));
    float* qs = scratch.data();
    float* s = qs + g * d;
    float* st = t.state ? t.state : s + g * kDirectBlock;
    for (int64_t c = 0; c < g * d; ++c) qs[c] = q[kvh * g * d + c] * scale;
    float *m = st, *l = st + g, *o = st + 2 * g;
    fold_row_task(t, qs, g, d, in, m, l, o, s);
    if (t.splits > 1) return;
    float* dst = out + kvh * g * d;
    for (int64_t r = 0; r < g; ++r) {
      const float inv = l[r] > 0 ? 1.0f / l[r] : 0.0f;
      for (int64_t c = 0; c < d; ++c) dst[r * d + c] = o[r * d + c] * inv;
    }
  });
  // Merge the splits of each head: rescale every state to the common row max.
  for (size_t i = 0; i < tasks.size();) {
    const RowTask& first = tasks[i];
    if (first.splits == 1) {
      ++i;
      continue;
    }
    float* dst = out + first.group->kv_heads[first.head] * g * d;
    for (int64_t r = 0; r < g; ++r) {
      float mx = -std::numeric_limits<float>::infinity();
      for (int64_t sp = 0; sp < first.splits; ++sp) mx = std::max(mx, tasks[i + sp].state[r]);
      float total = 0.0f;
      std::fill(dst + r * d, dst + (r + 1) * d, 0.0f);
      if (mx == -std::numeric_limits<float>::infinity()) continue;
      for (int64_t sp = 0; sp < first.splits; ++sp) {
        const float* st = tasks[i + sp].state;
        const float w = std::exp(st[r] - mx);
        total += w * st[g + r];
        const float* o = st + 2 * g + r * d;
        for (int64_t c = 0; c < d; ++c) dst[r * d + c] += w * o[c];
      }
      const float inv = total > 0 ? 1.0f / total : 0.0f;
      for (int64_t c = 0; c < d; ++c) dst[r * d + c] *= inv;
    }
    i += static_cast<size_t>(first.splits);
  }
}

at::Tensor decode_attention(const at::Tensor& q, const at::Tensor& k_new, const at::Tensor& v_new, int64_t p0,
                            const at::Tensor& k_cache, const at::Tensor& v_cache, const at::Tensor& cache_pos,
                            const DecodeParams& p) {
  // Preconditions (attention::attend_chunk validates user input; the kernel only asserts).
  DUO_ASSERT(q.dim() == 3 && k_new.dim() == 3 && k_new.sizes() == v_new.sizes());
  const int64_t hq = q.size(0), n = q.size(1), d = q.size(2), hkv = k_new.size(0);
  DUO_ASSERT(k_new.size(1) == n && k_new.size(2) == d && hkv > 0 && hq % hkv == 0 && p0 >= 0);
  DUO_ASSERT(q.device().is_cpu() && k_new.device().is_cpu() && p.k_block >= 1 && p.min_split >= 1);
  const int64_t s = k_cache.defined() ? k_cache.size(1) : 0;
  at::Tensor pos;
  if (s > 0) {
    DUO_ASSERT(k_cache.dim() == 3 && k_cache.size(0) == hkv && k_cache.size(2) == d && v_cache.defined() &&
               v_cache.sizes() == k_cache.sizes() && k_cache.device().is_cpu());
    DUO_ASSERT(cache_pos.defined() && cache_pos.dim() == 1 && cache_pos.size(0) == s &&
               cache_pos.scalar_type() == at::kLong);
    pos = cache_pos.contiguous();
  }
  const at::ScalarType ct = compute_dtype(q.scalar_type());
  Inputs in;
  // Inference only: detached tensors (worker threads have their own grad mode).
  in.q = to_grouped(q.detach(), hkv, ct, resolve_scale(p.scale, d));
  in.k_new = k_new.detach().to(ct).contiguous();
  in.v_new = v_new.detach().to(ct).contiguous();
  if (s > 0) {
    in.k_cache = k_cache.detach();
    in.v_cache = v_cache.detach();
    in.pos = pos.data_ptr<int64_t>();
  }
  in.s = s;
  in.n = n;
  in.g = hq / hkv;
  in.p0 = p0;
  at::Tensor og = at::empty_like(in.q);  // [Hkv, n*G, D]
  if (ct == at::kDouble)
    run<double>(in, p, og);
  else
    run<float>(in, p, og);
  return from_grouped(og, in.g, q.scalar_type());
}

}  // namespace duo::kernels::cpu
