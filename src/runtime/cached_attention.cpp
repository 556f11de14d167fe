// Chunk attention over cached keys (see cached_attention.h). Query rows are processed in blocks
// so that the [Hk, G * rows, n] score tile stays around 64 MiB even for long caches.
#include "runtime/cached_attention.h"

#include <ATen/ATen.h>

#include <cmath>
#include <limits>

#include "core/error.h"

namespace duo::runtime {

namespace {

constexpr int64_t kScoreBudget = int64_t{16} << 20;  // fp32 elements per score tile

void validate(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, int64_t n_pos, const KeyMask& m) {
  DUO_CHECK(q.dim() == 3 && k.dim() == 3 && k.sizes() == v.sizes() && q.size(2) == k.size(2),
            "cached attention: expected q [Hq, C, D], k and v [Hk, n, D]; got q {}, k {}, v {}", q.sizes(), k.sizes(),
            v.sizes());
  DUO_CHECK(k.size(0) > 0 && q.size(0) % k.size(0) == 0,
            "cached attention: query heads must be a multiple of key heads; got Hq {} and Hk {}", q.size(0), k.size(0));
  DUO_CHECK(n_pos == k.size(1), "cached attention: {} key positions for {} keys; expected equal", n_pos, k.size(1));
  DUO_CHECK(!m.streaming || (m.sink >= 0 && m.recent >= 1),
            "cached attention: streaming needs sink >= 0 and recent >= 1; got sink {}, recent {}", m.sink, m.recent);
}

// Visibility [C, n] (true = visible) for queries p0.. and keys at `kpos` [n] int64.
at::Tensor visible(int64_t p0, int64_t c, const at::Tensor& kpos, const KeyMask& m) {
  auto qpos = at::arange(p0, p0 + c, at::TensorOptions().dtype(at::kLong)).unsqueeze(1);  // [C, 1]
  auto kp = kpos.unsqueeze(0);                                                             // [1, n]
  auto dist = qpos - kp;                                                                   // [C, n]
  auto ok = (kp >= 0).logical_and(dist >= 0);
  if (m.window > 0) ok = ok.logical_and(dist < m.window);
  if (m.streaming) ok = ok.logical_and((kp < m.sink).logical_or(dist < m.recent));
  return ok;
}

// The shared tile loop; `mask` is [C, n] bool (true = visible) or undefined (all visible).
at::Tensor attend_impl(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& mask,
                       double scale) {
  const int64_t hq = q.size(0), c = q.size(1), d = q.size(2);
  const int64_t hk = k.size(0), n = k.size(1), g = hq / hk;
  const double s = scale > 0.0 ? scale : 1.0 / std::sqrt(static_cast<double>(d));
  auto kf = k.scalar_type() == at::kFloat ? k : k.to(at::kFloat);  // [Hk, n, D]
  auto vf = v.scalar_type() == at::kFloat ? v : v.to(at::kFloat);
  auto kt = kf.transpose(1, 2);                                   // [Hk, D, n]
  auto qf = q.to(at::kFloat).mul(s).view({hk, g, c, d});          // [Hk, G, C, D]
  auto out = at::empty({hk, g, c, d}, q.options().dtype(at::kFloat));
  const int64_t rows = std::max<int64_t>(1, kScoreBudget / std::max<int64_t>(1, hk * g * n));
  for (int64_t r0 = 0; r0 < c; r0 += rows) {
    const int64_t cb = std::min(rows, c - r0);
    auto qb = qf.narrow(2, r0, cb).reshape({hk, g * cb, d});       // [Hk, G*cb, D]
    auto scores = at::bmm(qb, kt);                                 // [Hk, G*cb, n]
    if (mask.defined()) {
      auto keep = mask.narrow(0, r0, cb);                          // [cb, n]
      scores.view({hk, g, cb, n}).masked_fill_(keep.logical_not(), -std::numeric_limits<float>::infinity());
    }
    auto p = at::softmax(scores, -1);                              // [Hk, G*cb, n]
    out.narrow(2, r0, cb).copy_(at::bmm(p, vf).view({hk, g, cb, d}));
  }
  return out.view({hq, c, d}).to(q.scalar_type());
}

}  // namespace

at::Tensor attend_contiguous(const at::Tensor& q, int64_t p0, const at::Tensor& k, const at::Tensor& v, int64_t k0,
                             const KeyMask& m) {
  validate(q, k, v, k.size(1), m);
  const int64_t c = q.size(1), n = k.size(1);
  // Every key visible from every query: the last key is not after the first query, and the
  // first key is within every window of the last query.
  const int64_t first_q = p0, last_q = p0 + c - 1, last_k = k0 + n - 1;
  bool all_visible = k0 >= 0 && last_k <= first_q;
  if (m.window > 0) all_visible = all_visible && last_q - k0 < m.window;
  if (m.streaming) {
    // The oldest key past the sink must be within the recent window of the last query.
    const int64_t oldest = std::max(k0, m.sink);
    all_visible = all_visible && (oldest > last_k || last_q - oldest < m.recent);
  }
  at::Tensor mask;
  if (!all_visible) mask = visible(p0, c, at::arange(k0, k0 + n, at::TensorOptions().dtype(at::kLong)), m);
  return attend_impl(q, k, v, mask, m.scale);
}

at::Tensor attend_positions(const at::Tensor& q, int64_t p0, const at::Tensor& k, const at::Tensor& v,
                            const std::vector<int64_t>& key_pos, const KeyMask& m) {
  validate(q, k, v, static_cast<int64_t>(key_pos.size()), m);
  auto kpos = at::tensor(key_pos, at::TensorOptions().dtype(at::kLong));
  return attend_impl(q, k, v, visible(p0, q.size(1), kpos, m), m.scale);
}

at::Tensor attend_positions_reference(const at::Tensor& q, int64_t p0, const at::Tensor& k, const at::Tensor& v,
                                      const std::vector<int64_t>& key_pos, const KeyMask& m) {
  validate(q, k, v, static_cast<int64_t>(key_pos.size()), m);
  const int64_t hq = q.size(0), c = q.size(1), d = q.size(2), hk = k.size(0), n = k.size(1), g = hq / hk;
  const double s = m.scale > 0.0 ? m.scale : 1.0 / std::sqrt(static_cast<double>(d));
  auto qd = q.to(at::kDouble).contiguous();
  auto kd = k.to(at::kDouble).contiguous();
  auto vd = v.to(at::kDouble).contiguous();
  auto out = at::zeros({hq, c, d}, at::TensorOptions().dtype(at::kDouble));
  const double* qp = qd.data_ptr<double>();
  const double* kp = kd.data_ptr<double>();
  const double* vp = vd.data_ptr<double>();
  double* op = out.data_ptr<double>();
  std::vector<double> w(static_cast<size_t>(n));
  for (int64_t h = 0; h < hq; ++h) {
    const int64_t kh = h / g;
    for (int64_t t = 0; t < c; ++t) {
      const int64_t i = p0 + t;
      double mx = -std::numeric_limits<double>::infinity();
      for (int64_t j = 0; j < n; ++j) {
        const int64_t pj = key_pos[static_cast<size_t>(j)];
        bool ok = pj >= 0 && pj <= i;
        if (m.window > 0) ok = ok && i - pj < m.window;
        if (m.streaming) ok = ok && (pj < m.sink || i - pj < m.recent);
        if (!ok) {
          w[static_cast<size_t>(j)] = -std::numeric_limits<double>::infinity();
          continue;
        }
        double dot = 0.0;
        for (int64_t e = 0; e < d; ++e) dot += qp[(h * c + t) * d + e] * kp[(kh * n + j) * d + e];
        w[static_cast<size_t>(j)] = dot * s;
        mx = std::max(mx, dot * s);
      }
      DUO_CHECK(std::isfinite(mx), "cached attention reference: query at position {} sees no key", i);
      double sum = 0.0;
      for (auto& x : w) {
        x = std::isfinite(x) ? std::exp(x - mx) : 0.0;
        sum += x;
      }
      for (int64_t j = 0; j < n; ++j) {
        const double pj = w[static_cast<size_t>(j)] / sum;
        if (pj == 0.0) continue;
        for (int64_t e = 0; e < d; ++e) op[(h * c + t) * d + e] += pj * vp[(kh * n + j) * d + e];
      }
    }
  }
  return out.to(q.scalar_type());
}

}  // namespace duo::runtime
