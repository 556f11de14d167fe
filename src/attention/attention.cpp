// Attention front end. This first version computes attention in query blocks with ATen ops
// (memory O(T * block) per head, never T x T); the blockwise kernels of kernels/cpu replace
// its internals.
#include "attention/attention.h"

#include <ATen/ATen.h>

#include <cmath>

#include "core/error.h"

namespace duo::attention {
namespace {

constexpr int64_t kQueryBlock = 256;

void validate(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const LayerSpec& spec) {
  DUO_CHECK(q.dim() == 3 && k.dim() == 3 && v.dim() == 3,
            "attention: expected q [Hq, T, D], k and v [Hkv, T, D]; got q {}, k {}, v {}", q.sizes(), k.sizes(),
            v.sizes());
  DUO_CHECK(k.sizes() == v.sizes(), "attention: k and v shapes differ; expected equal, got k {} and v {}", k.sizes(),
            v.sizes());
  DUO_CHECK(q.size(1) == k.size(1) && q.size(2) == k.size(2),
            "attention: q and k disagree on T or D; expected q [Hq, {}, {}], got {}", k.size(1), k.size(2), q.sizes());
  const int64_t hkv = k.size(0);
  DUO_CHECK(hkv > 0 && q.size(0) % hkv == 0, "attention: query heads must be a multiple of KV heads; got Hq {} and Hkv {}",
            q.size(0), hkv);
  DUO_CHECK(spec.kinds.empty() || static_cast<int64_t>(spec.kinds.size()) == hkv,
            "attention: head kinds must list every KV head; expected {}, got {}", hkv, spec.kinds.size());
  if (spec.is_gated()) {
    DUO_CHECK(spec.alpha.dim() == 1 && spec.alpha.size(0) == hkv, "attention: gates must have shape [{}]; got {}", hkv,
              spec.alpha.sizes());
  }
  bool any_streaming = spec.is_gated();
  for (auto kind : spec.kinds) any_streaming |= kind == HeadKind::kStreaming;
  if (any_streaming) {
    DUO_CHECK(spec.sink >= 0 && spec.recent >= 1, "attention: streaming needs sink >= 0 and recent >= 1; got sink {}, recent {}",
              spec.sink, spec.recent);
  }
  DUO_CHECK(spec.sliding_window >= 0, "attention: sliding_window must be >= 0; got {}", spec.sliding_window);
}

// Visibility mask [Bq, Tk] for queries at rows [q0, q0 + Bq) (true = visible).
at::Tensor block_mask(int64_t q0, int64_t bq, int64_t tk, bool streaming, const LayerSpec& spec,
                      const at::TensorOptions& opts) {
  auto i = at::arange(q0, q0 + bq, opts.dtype(at::kLong)).unsqueeze(1);  // [Bq, 1]
  auto j = at::arange(0, tk, opts.dtype(at::kLong)).unsqueeze(0);        // [1, Tk]
  auto mask = j <= i;
  if (spec.sliding_window > 0) mask = mask & ((i - j) < spec.sliding_window);
  if (streaming) mask = mask & ((j < spec.sink) | ((i - j) < spec.recent));
  return mask;
}

// One head group with one kind: q [G, T, D] against k, v [T, D]; returns [G, T, D].
at::Tensor attend_group(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, bool streaming,
                        const LayerSpec& spec, double scale, int64_t block) {
  const int64_t t = q.size(1);
  std::vector<at::Tensor> outs;
  for (int64_t q0 = 0; q0 < t; q0 += block) {
    const int64_t bq = std::min(block, t - q0);
    const int64_t k_end = q0 + bq;  // causal: keys beyond the block's last query are never visible
    int64_t k_begin = 0;
    auto qb = q.narrow(1, q0, bq);                              // [G, Bq, D]
    auto kb = k.narrow(0, k_begin, k_end - k_begin);            // [Tk, D]
    auto vb = v.narrow(0, k_begin, k_end - k_begin);            // [Tk, D]
    auto scores = at::matmul(qb, kb.t()) * scale;               // [G, Bq, Tk]
    auto mask = block_mask(q0, bq, k_end, streaming, spec, q.options());
    scores = scores.masked_fill(mask.logical_not(), -std::numeric_limits<double>::infinity());
    auto p = at::softmax(scores.to(at::kFloat), -1).to(q.scalar_type());
    outs.push_back(at::matmul(p, vb));                          // [G, Bq, D]
  }
  return at::cat(outs, 1);
}

at::Tensor attend_impl(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const LayerSpec& spec,
                       int64_t block) {
  validate(q, k, v, spec);
  const int64_t hkv = k.size(0);
  const int64_t g = q.size(0) / hkv;
  const double scale = spec.scale > 0 ? spec.scale : 1.0 / std::sqrt(static_cast<double>(q.size(2)));
  std::vector<at::Tensor> heads;
  for (int64_t h = 0; h < hkv; ++h) {
    auto qh = q.narrow(0, h * g, g);
    auto kh = k[h];
    auto vh = v[h];
    if (spec.is_gated()) {
      auto a = spec.alpha[h].clamp(0.0, 1.0).to(q.scalar_type());
      auto full = attend_group(qh, kh, vh, false, spec, scale, block);
      auto stream = attend_group(qh, kh, vh, true, spec, scale, block);
      heads.push_back(a * full + (1 - a) * stream);
    } else {
      bool streaming = !spec.kinds.empty() && spec.kinds[h] == HeadKind::kStreaming;
      heads.push_back(attend_group(qh, kh, vh, streaming, spec, scale, block));
    }
  }
  return at::cat(heads, 0);
}

}  // namespace

bool LayerSpec::all_full() const {
  if (is_gated()) return false;
  for (auto kind : kinds)
    if (kind != HeadKind::kFull) return false;
  return true;
}

at::Tensor attend(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const LayerSpec& spec) {
  return attend_impl(q, k, v, spec, kQueryBlock);
}

at::Tensor attend_reference(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const LayerSpec& spec) {
  return attend_impl(q, k, v, spec, std::max<int64_t>(q.size(1), 1));
}

}  // namespace duo::attention
