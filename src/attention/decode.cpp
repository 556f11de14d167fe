// Decode front end (see decode.h): checks the device, then calls the CPU decode kernel; the
// reference concatenates cache and chunk and runs the materialized masked softmax.
#include "attention/decode.h"

#include <ATen/ATen.h>

#include "attention/reference.h"
#include "core/error.h"
#include "kernels/cpu/decode_attention.h"

namespace duo::attention {
namespace {

bool has_cache(const CacheView& c) { return c.k.defined() && c.k.dim() == 3 && c.k.size(1) > 0; }

void check_device(const at::Tensor& q, const CacheView& cache) {
  const bool cuda = !q.device().is_cpu() || (has_cache(cache) && !cache.k.device().is_cpu());
  DUO_CHECK(!cuda, "attention: tensors are on {}, but duo was built without CUDA; expected cpu tensors",
            (!q.device().is_cpu() ? q : cache.k).device().str());
}

}  // namespace

at::Tensor attend_chunk(const at::Tensor& q, const at::Tensor& k_new, const at::Tensor& v_new, int64_t p0,
                        const CacheView& cache, HeadKind kind, const LayerSpec& spec) {
  check_device(q, cache);
  kernels::cpu::DecodeParams p;
  p.mask = kernels::cpu::HeadMask{kind == HeadKind::kStreaming, spec.sink, spec.recent, spec.sliding_window};
  p.scale = spec.scale;
  if (!has_cache(cache)) return kernels::cpu::decode_attention(q, k_new, v_new, p0, {}, {}, {}, p);
  return kernels::cpu::decode_attention(q, k_new, v_new, p0, cache.k, cache.v, cache.pos, p);
}

at::Tensor attend_chunk_reference(const at::Tensor& q, const at::Tensor& k_new, const at::Tensor& v_new, int64_t p0,
                                  const CacheView& cache, HeadKind kind, const LayerSpec& spec) {
  LayerSpec s = spec;
  s.alpha = at::Tensor();
  s.kinds.assign(k_new.size(0), kind);
  const int64_t n = q.size(1);
  const at::Tensor q_pos = at::arange(p0, p0 + n, at::kLong);
  if (!has_cache(cache)) return attend_positions_reference(q, q_pos, k_new, v_new, q_pos, s);
  const at::Tensor k = at::cat({cache.k.to(k_new.scalar_type()), k_new}, 1);
  const at::Tensor v = at::cat({cache.v.to(v_new.scalar_type()), v_new}, 1);
  return attend_positions_reference(q, q_pos, k, v, at::cat({cache.pos.to(at::kLong), q_pos}), s);
}

}  // namespace duo::attention
