// Attention front end (see attention.h): validates once, then dispatches by device.
#include "attention/attention.h"

#include <ATen/ATen.h>

#include "attention/backends.h"
#include "core/error.h"

namespace duo::attention {

void check_dtype_and_device(const char* what, const at::Tensor& q, const at::Tensor& k, const at::Tensor& v) {
  DUO_CHECK(q.scalar_type() == k.scalar_type() && q.scalar_type() == v.scalar_type(),
            "{}: q, k, v dtypes differ; got {}, {}, {}", what, c10::toString(q.scalar_type()),
            c10::toString(k.scalar_type()), c10::toString(v.scalar_type()));
  const auto dt = q.scalar_type();
  DUO_CHECK(dt == at::kFloat || dt == at::kBFloat16 || dt == at::kDouble,
            "{}: unsupported dtype; expected float32, bfloat16 or float64, got {}", what, c10::toString(dt));
  DUO_CHECK(q.device() == k.device() && q.device() == v.device(), "{}: q, k, v on different devices; got {}, {}, {}",
            what, q.device().str(), k.device().str(), v.device().str());
}

[[noreturn]] void no_backend(const char* what, const at::Device& device) {
  fail("{}: tensors are on {}, but this build of duo has no attention backend for it; expected cpu tensors", what,
       device.str());
}

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
  DUO_CHECK(spec.sliding_window >= 0, "attention: sliding_window must be >= 0; got {}", spec.sliding_window);
  check_dtype_and_device("attention", q, k, v);
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
  if (q.device().is_cpu()) return attend_cpu(q, k, v, spec);
  no_backend("attention", q.device());
}

}  // namespace duo::attention
