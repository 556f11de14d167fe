// Attention front end: validates once, then dispatches by device to the kernels. CPU runs the
// blockwise kernels of kernels/cpu through the autograd wrappers of autograd_ops.h; a CUDA
// device is refused (this build has no CUDA kernels). The reference lives in reference.cpp.
#include "attention/attention.h"

#include <ATen/ATen.h>

#include "attention/autograd_ops.h"
#include "core/error.h"
#include "kernels/cpu/flash_attention.h"

namespace duo::attention {
namespace {

void validate(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const LayerSpec& spec) {
  DUO_CHECK(q.dim() == 3 && k.dim() == 3 && v.dim() == 3,
            "attention: expected q [Hq, T, D], k and v [Hkv, T, D]; got q {}, k {}, v {}", q.sizes(), k.sizes(),
            v.sizes());
  DUO_CHECK(k.sizes() == v.sizes(), "attention: k and v shapes differ; expected equal, got k {} and v {}", k.sizes(),
            v.sizes());
  DUO_CHECK(q.size(1) == k.size(1) && q.size(2) == k.size(2),
            "attention: q and k disagree on T or D; expected q [Hq, {}, {}], got {}", k.size(1), k.size(2), q.sizes());
  const int64_t hkv = k.size(0);
  DUO_CHECK(hkv > 0 && q.size(0) % hkv == 0,
            "attention: query heads must be a multiple of KV heads; got Hq {} and Hkv {}", q.size(0), hkv);
  DUO_CHECK(spec.kinds.empty() || static_cast<int64_t>(spec.kinds.size()) == hkv,
            "attention: head kinds must list every KV head; expected {}, got {}", hkv, spec.kinds.size());
  if (spec.is_gated()) {
    DUO_CHECK(spec.alpha.dim() == 1 && spec.alpha.size(0) == hkv, "attention: gates must have shape [{}]; got {}",
              hkv, spec.alpha.sizes());
  }
  bool any_streaming = spec.is_gated();
  for (auto kind : spec.kinds) any_streaming |= kind == HeadKind::kStreaming;
  if (any_streaming) {
    DUO_CHECK(spec.sink >= 0 && spec.recent >= 1,
              "attention: streaming needs sink >= 0 and recent >= 1; got sink {}, recent {}", spec.sink, spec.recent);
  }
  DUO_CHECK(spec.sliding_window >= 0, "attention: sliding_window must be >= 0; got {}", spec.sliding_window);
  DUO_CHECK(q.scalar_type() == k.scalar_type() && q.scalar_type() == v.scalar_type(),
            "attention: q, k, v dtypes differ; got {}, {}, {}", c10::toString(q.scalar_type()),
            c10::toString(k.scalar_type()), c10::toString(v.scalar_type()));
  const auto dt = q.scalar_type();
  DUO_CHECK(dt == at::kFloat || dt == at::kBFloat16 || dt == at::kDouble,
            "attention: unsupported dtype; expected float32, bfloat16 or float64, got {}", c10::toString(dt));
  DUO_CHECK(q.device() == k.device() && q.device() == v.device(),
            "attention: q, k, v on different devices; got {}, {}, {}", q.device().str(), k.device().str(),
            v.device().str());
  DUO_CHECK(q.device().is_cpu(),
            "attention: tensors are on {}, but duo was built without CUDA; expected cpu tensors (configure with "
            "DUO_CUDA=ON once CUDA kernels exist)",
            q.device().str());
}

kernels::cpu::AttentionParams to_params(const LayerSpec& spec, int64_t hkv) {
  kernels::cpu::AttentionParams p;
  if (!spec.is_gated() && !spec.kinds.empty()) {
    p.streaming.resize(hkv);
    for (int64_t h = 0; h < hkv; ++h) p.streaming[h] = spec.kinds[h] == HeadKind::kStreaming ? 1 : 0;
  }
  p.sink = spec.sink;
  p.recent = std::max<int64_t>(spec.recent, 1);
  p.window = spec.sliding_window;
  p.scale = spec.scale;
  return p;
}

}  // namespace

bool LayerSpec::all_full() const {
  if (is_gated()) return false;
  for (auto kind : kinds)
    if (kind != HeadKind::kFull) return false;
  return true;
}

at::Tensor attend(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const LayerSpec& spec) {
  validate(q, k, v, spec);
  const kernels::cpu::AttentionParams params = to_params(spec, k.size(0));
  if (spec.is_gated()) return gated_attention(q, k, v, spec.alpha, params, spec.saved.get());
  return flash_attention(q, k, v, params);
}

}  // namespace duo::attention
