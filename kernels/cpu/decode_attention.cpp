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

// Folds keys [k0, k0 + count) of one source into the state; key c sits at key_pos(c).
template <typename T, typename PosFn>
void fold_keys(const at::Tensor& q, const at::Tensor& keys, const at::Tensor& values, int64_t k0, int64_t count,
               const PosFn& key_pos, const Inputs& in, const DecodeParams& p, T* m, T* l, at::Tensor& o,
               const at::Tensor& scratch) {
  const int64_t rows = q.size(0), d = q.size(1), block = block_keys(rows, p);
  const at::ScalarType ct = q.scalar_type();
  for (int64_t b0 = k0; b0 < k0 + count; b0 += block) {
    const int64_t nb = std::min(k0 + count, b0 + block) - b0;
    const at::Tensor kb = keys.narrow(0, b0, nb).to(ct), vb = values.narrow(0, b0, nb).to(ct);  // [nb, D]
    at::Tensor s = scratch_view(scratch, rows, nb);                                            // [M, nb]
    T* sp = s.data_ptr<T>();
    bool direct = false;
    if constexpr (std::is_same_v<T, float>) {
      direct = rows <= kDirectRows && kb.stride(1) == 1 && vb.stride(1) == 1;
      if (direct) dot_rows(q.data_ptr<float>(), rows, kb.data_ptr<float>(), nb, d, kb.stride(0), sp);
    }
    if (!direct) at::mm_out(s, q, kb.t());
    const T neg_inf = -std::numeric_limits<T>::infinity();
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t i = in.p0 + r / in.g;
      T* row = sp + r * nb;
      for (int64_t c = 0; c < nb; ++c)
        if (!p.mask.visible(i, key_pos(b0 + c))) row[c] = neg_inf;
    }
    online_rescale<T>(sp, rows, nb, m, l, o);
    if constexpr (std::is_same_v<T, float>) {
      if (direct) {
        accumulate_rows(sp, rows, vb.data_ptr<float>(), nb, d, vb.stride(0), o.data_ptr<float>());
        continue;
      }
    }
    o.addmm_(s, vb);
  }
}

template <typename T>
void run(const Inputs& in, const DecodeParams& p, at::Tensor& og) {
  const int64_t hkv = in.q.size(0), rows = in.q.size(1), d = in.q.size(2);
  // Split the cache across threads when heads alone cannot keep them evenly busy: fewer heads
  // than threads, or a head count that leaves threads idle in the last round (3 retrieval heads on
  // 2 threads: 6 half-cache tasks instead of 3 whole ones).
  const int64_t threads = at::get_num_threads();
  int64_t splits = 1;
  if (threads > 1 && in.s >= 2 * p.min_split) {
    const int64_t most = in.s / p.min_split;
    if (hkv < threads) {
      splits = std::min<int64_t>((threads + hkv - 1) / hkv * 2, most);
    } else if (hkv % threads != 0 && hkv < 8 * threads) {
      while (splits < most && (hkv * splits) % threads != 0 && hkv * splits < 8 * threads) ++splits;
    }
  }
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
      fold_keys<T>(qh, in.k_cache[h], in.v_cache[h], c0, c1 - c0, [&](int64_t c) { return in.pos[c]; }, in, p, m, l,
                   o, scratch);
    }
    if (sp == splits - 1) {
      fold_keys<T>(qh, in.k_new[h], in.v_new[h], 0, in.n, [&](int64_t c) { return in.p0 + c; }, in, p, m, l, o,
                   scratch);
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

}  // namespace

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
