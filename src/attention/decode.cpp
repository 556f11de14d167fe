// Decode front end (see decode.h): validates once, then dispatches by device.
#include "attention/decode.h"

#include <ATen/ATen.h>

#include "attention/backends.h"
#include "core/error.h"

namespace duo::attention {
namespace {

void validate(const at::Tensor& q, const at::Tensor& k_new, const at::Tensor& v_new, int64_t p0,
              const CacheView& cache, const LayerSpec& spec) {
  DUO_CHECK(q.dim() == 3 && k_new.dim() == 3 && k_new.sizes() == v_new.sizes(),
            "decode attention: expected q [Hq, n, D], k_new and v_new [Hkv, n, D]; got q {}, k_new {}, v_new {}",
            q.sizes(), k_new.sizes(), v_new.sizes());
  const int64_t hq = q.size(0), n = q.size(1), d = q.size(2), hkv = k_new.size(0);
  DUO_CHECK(k_new.size(1) == n && k_new.size(2) == d,
            "decode attention: k_new must be [Hkv, {}, {}] to match q; got {}", n, d, k_new.sizes());
  DUO_CHECK(hkv > 0 && hq % hkv == 0, "decode attention: query heads must be a multiple of KV heads; got Hq {}, Hkv {}",
            hq, hkv);
  DUO_CHECK(p0 >= 0, "decode attention: first query position must be >= 0; got {}", p0);
  DUO_CHECK(spec.sliding_window >= 0, "decode attention: sliding_window must be >= 0; got {}", spec.sliding_window);
  check_dtype_and_device("decode attention", q, k_new, v_new);
  if (cache.empty()) return;
  DUO_CHECK(cache.k.dim() == 3 && cache.k.size(0) == hkv && cache.k.size(2) == d && cache.v.defined() &&
                cache.v.sizes() == cache.k.sizes(),
            "decode attention: cache must be [{}, S, {}] for k and v; got k {}, v {}", hkv, d, cache.k.sizes(),
            cache.v.defined() ? cache.v.sizes() : at::IntArrayRef{});
  DUO_CHECK(cache.pos.defined() && cache.pos.dim() == 1 && cache.pos.size(0) == cache.k.size(1) &&
                cache.pos.scalar_type() == at::kLong,
            "decode attention: cache positions must be int64 [{}]; got {}", cache.k.size(1),
            cache.pos.defined() ? cache.pos.sizes() : at::IntArrayRef{});
  DUO_CHECK(cache.k.device() == q.device() && cache.v.device() == q.device(),
            "decode attention: the cache is on {} but the queries on {}; expected one device", cache.k.device().str(),
            q.device().str());
}

}  // namespace

at::Tensor attend_chunk(const at::Tensor& q, const at::Tensor& k_new, const at::Tensor& v_new, int64_t p0,
                        const CacheView& cache, HeadKind kind, const LayerSpec& spec) {
  validate(q, k_new, v_new, p0, cache, spec);
  if (q.device().is_cpu()) return attend_chunk_cpu(q, k_new, v_new, p0, cache, kind, spec);
  no_backend("decode attention", q.device());
}

void attend_rows(const float* q, int64_t g, int64_t d, int64_t p, kernels::cpu::RowGroup* groups,
                 const HeadKind* kinds, int64_t n_groups, const LayerSpec& spec, float* out) {
  DUO_CHECK(g >= 1 && d >= 1 && p >= 0 && spec.sliding_window >= 0,
            "decode attention (one token): expected G >= 1, D >= 1, p >= 0, sliding_window >= 0; got {}, {}, {}, {}",
            g, d, p, spec.sliding_window);
  for (int64_t i = 0; i < n_groups; ++i)
    groups[i].mask = kernels::HeadMask{kinds[i] == HeadKind::kStreaming, spec.window, spec.sliding_window};
  kernels::cpu::DecodeParams params;
  params.scale = spec.scale;
  kernels::cpu::decode_rows(q, g, d, p, groups, n_groups, params, out);
}

}  // namespace duo::attention
