// The CPU backend (see backends.h): LayerSpec -> kernel parameters, then the kernels of
// kernels/cpu (through the autograd wrappers for whole-sequence attention).
#include <ATen/ATen.h>

#include "attention/autograd_ops.h"
#include "attention/backends.h"
#include "kernels/cpu/decode_attention.h"
#include "kernels/cpu/flash_attention.h"

namespace duo::attention {

at::Tensor attend_cpu(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const LayerSpec& spec) {
  const int64_t hkv = k.size(0);
  kernels::cpu::AttentionParams p;
  if (!spec.is_gated() && !spec.kinds.empty()) {
    p.streaming.resize(static_cast<size_t>(hkv));
    for (int64_t h = 0; h < hkv; ++h) p.streaming[static_cast<size_t>(h)] = spec.kind(h) == HeadKind::kStreaming;
  }
  p.window = spec.window;
  p.sliding_window = spec.sliding_window;
  p.scale = spec.scale;
  if (spec.is_gated()) return gated_attention(q, k, v, spec.alpha, p, spec.saved.get());
  return flash_attention(q, k, v, p);
}

at::Tensor attend_chunk_cpu(const at::Tensor& q, const at::Tensor& k_new, const at::Tensor& v_new, int64_t p0,
                            const CacheView& cache, HeadKind kind, const LayerSpec& spec) {
  kernels::cpu::DecodeParams p;
  p.mask = kernels::HeadMask{kind == HeadKind::kStreaming, spec.window, spec.sliding_window};
  p.scale = spec.scale;
  if (cache.empty()) return kernels::cpu::decode_attention(q, k_new, v_new, p0, {}, {}, {}, p);
  return kernels::cpu::decode_attention(q, k_new, v_new, p0, cache.k, cache.v, cache.pos, p);
}

}  // namespace duo::attention
