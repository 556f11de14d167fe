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

}  // namespace duo::attention
