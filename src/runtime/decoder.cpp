// Decoder and greedy generation (see decoder.h).
#include "runtime/decoder.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include <algorithm>
#include <chrono>

#include "attention/attention.h"
#include "attention/decode.h"
#include "core/error.h"
#include "runtime/cached_attention.h"

namespace duo::runtime {

namespace {

at::Tensor index_tensor(const std::vector<int64_t>& idx) {
  if (idx.empty()) return {};
  return at::tensor(idx, at::TensorOptions().dtype(at::kLong));
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

Decoder::Decoder(model::Model model, HeadLayout layout, int64_t capacity, CachedAttention backend)
    : backend_(backend),
      model_(std::move(model)),
      cache_(layout, model_.config().head_dim, model_.options().dtype, capacity) {
  const auto& c = model_.config();
  DUO_CHECK(layout.n_layers == c.n_layers && layout.n_kv_heads == c.n_kv_heads,
            "decoder: head mask has shape [{}, {}] (layers, kv heads) but the model has [{}, {}]", layout.n_layers,
            layout.n_kv_heads, c.n_layers, c.n_kv_heads);
  DUO_CHECK(model_.options().device.is_cpu(), "decoder: the runtime runs on cpu; got a model on {}",
            model_.options().device.str());
  for (int64_t l = 0; l < c.n_layers; ++l) {
    full_idx_.push_back(index_tensor(layout.full[static_cast<size_t>(l)]));
    stream_idx_.push_back(index_tensor(layout.stream[static_cast<size_t>(l)]));
  }
}

at::Tensor Decoder::attend_layer(int64_t l, const model::Model::QKV& qkv, int64_t p0) {
  const auto& cfg = model_.config();
  const HeadLayout& lay = cache_.layout();
  const int64_t c = qkv.q.size(1), d = cfg.head_dim, hkv = cfg.n_kv_heads, g = cfg.n_gqa();
  const int64_t hf = lay.n_full(l), hs = lay.n_stream(l);
  const int64_t window = cfg.layer_sliding_window(l);

  if (p0 == 0 && c > 1) {
    // The first chunk: one blockwise pass over the chunk alone, then cache it.
    attention::LayerSpec spec;
    spec.kinds.assign(static_cast<size_t>(hkv), attention::HeadKind::kFull);
    for (int64_t s : lay.stream[static_cast<size_t>(l)]) spec.kinds[static_cast<size_t>(s)] = attention::HeadKind::kStreaming;
    spec.sink = lay.sink;
    spec.recent = lay.recent;
    auto o = attention::attend(qkv.q, qkv.k, qkv.v, model_.layer_spec(l, spec));
    cache_.append(l, qkv.k, qkv.v);
    return o;
  }

  if (backend_ == CachedAttention::kKernel) return attend_layer_kernel(l, qkv, p0);
  auto q4 = qkv.q.view({hkv, g, c, d});  // [Hkv, G, C, D]
  at::Tensor o_stream;                   // [Hs*G, C, D]
  if (hs > 0) {
    // Streaming heads see the ring as it was before this chunk plus the chunk itself.
    const auto& sidx = stream_idx_[static_cast<size_t>(l)];
    const RingView ring = cache_.ring(l);
    auto qs = q4.index_select(0, sidx).reshape({hs * g, c, d});
    auto ks = at::cat({ring.k, qkv.k.index_select(0, sidx).to(ring.k.scalar_type())}, 1);  // [Hs, S + C, D]
    auto vs = at::cat({ring.v, qkv.v.index_select(0, sidx).to(ring.v.scalar_type())}, 1);
    std::vector<int64_t> pos = *ring.pos;
    for (int64_t t = 0; t < c; ++t) pos.push_back(p0 + t);
    KeyMask m;
    m.streaming = true;
    m.sink = lay.sink;
    m.recent = lay.recent;
    m.window = window;
    o_stream = attend_positions(qs, p0, ks, vs, pos, m);
  }
  cache_.append(l, qkv.k, qkv.v);
  at::Tensor o_full;  // [Hf*G, C, D]
  if (hf > 0) {
    auto qf = hs == 0 ? qkv.q : q4.index_select(0, full_idx_[static_cast<size_t>(l)]).reshape({hf * g, c, d});
    KeyMask m;
    m.window = window;
    o_full = attend_contiguous(qf, p0, cache_.full_k(l), cache_.full_v(l), /*k0=*/0, m);
  }
  if (hs == 0) return o_full;
  if (hf == 0) return o_stream;
  auto out = at::empty({hkv, g, c, d}, qkv.q.options());
  out.index_copy_(0, full_idx_[static_cast<size_t>(l)], o_full.view({hf, g, c, d}));
  out.index_copy_(0, stream_idx_[static_cast<size_t>(l)], o_stream.view({hs, g, c, d}));
  return out.view({hkv * g, c, d});
}

at::Tensor Decoder::positions(int64_t n) {
  if (!arange_.defined() || arange_.size(0) < n) {
    arange_ = at::arange(std::max<int64_t>(n, 2 * (arange_.defined() ? arange_.size(0) : 0)),
                         at::TensorOptions().dtype(at::kLong));
  }
  return arange_.narrow(0, 0, n);
}

at::Tensor Decoder::attend_layer_kernel(int64_t l, const model::Model::QKV& qkv, int64_t p0) {
  // Both head groups attend over (cache before the chunk) + (the chunk), then the chunk is cached.
  const auto& cfg = model_.config();
  const HeadLayout& lay = cache_.layout();
  const int64_t c = qkv.q.size(1), d = cfg.head_dim, hkv = cfg.n_kv_heads, g = cfg.n_gqa();
  const int64_t hf = lay.n_full(l), hs = lay.n_stream(l);
  attention::LayerSpec spec;
  spec.sink = lay.sink;
  spec.recent = std::max<int64_t>(lay.recent, 1);
  spec = model_.layer_spec(l, spec);
  auto q4 = qkv.q.view({hkv, g, c, d});  // [Hkv, G, C, D]
  auto group = [&](const at::Tensor& idx, int64_t n) {
    struct Part {
      at::Tensor q, k, v;
    };
    if (n == hkv) return Part{qkv.q, qkv.k, qkv.v};
    return Part{q4.index_select(0, idx).reshape({n * g, c, d}), qkv.k.index_select(0, idx), qkv.v.index_select(0, idx)};
  };
  at::Tensor o_stream, o_full;  // [Hs*G, C, D], [Hf*G, C, D]
  if (hs > 0) {
    const RingView ring = cache_.ring(l);
    auto part = group(stream_idx_[static_cast<size_t>(l)], hs);
    attention::CacheView view{ring.k, ring.v, at::tensor(*ring.pos, at::TensorOptions().dtype(at::kLong))};
    o_stream = attention::attend_chunk(part.q, part.k, part.v, p0, view, attention::HeadKind::kStreaming, spec);
  }
  if (hf > 0) {
    auto part = group(full_idx_[static_cast<size_t>(l)], hf);
    attention::CacheView view{cache_.full_k(l), cache_.full_v(l), positions(cache_.length(l))};
    o_full = attention::attend_chunk(part.q, part.k, part.v, p0, view, attention::HeadKind::kFull, spec);
  }
  cache_.append(l, qkv.k, qkv.v);
  if (hs == 0) return o_full;
  if (hf == 0) return o_stream;
  auto out = at::empty({hkv, g, c, d}, qkv.q.options());
  out.index_copy_(0, full_idx_[static_cast<size_t>(l)], o_full.view({hf, g, c, d}));
  out.index_copy_(0, stream_idx_[static_cast<size_t>(l)], o_stream.view({hs, g, c, d}));
  return out.view({hkv * g, c, d});
}

at::Tensor Decoder::forward(const at::Tensor& ids) {
  DUO_CHECK(ids.dim() == 1 && ids.size(0) >= 1 && ids.scalar_type() == at::kLong,
            "decoder: ids must be [C] int64 with C >= 1; got {} {}", ids.sizes(), c10::toString(ids.scalar_type()));
  c10::NoGradGuard no_grad;
  const int64_t c = ids.size(0), p0 = position_;
  auto x = model_.embed(ids);  // [C, hidden]
  auto positions = at::arange(p0, p0 + c, at::TensorOptions().dtype(at::kLong));
  for (int64_t l = 0; l < model_.config().n_layers; ++l) {
    auto qkv = model_.qkv(l, model_.attn_norm(l, x), positions);
    auto o = attend_layer(l, qkv, p0);  // [Hq, C, D]
    x = x + model_.attn_out(l, o);
    x = x + model_.mlp_block(l, x);
  }
  position_ += c;
  return model_.final_norm(x);
}

at::Tensor Decoder::prefill(const at::Tensor& ids, int64_t chunk, bool all_logits) {
  DUO_CHECK(ids.dim() == 1 && ids.size(0) >= 1, "decoder: prompt must be [T] with T >= 1; got {}", ids.sizes());
  DUO_CHECK(chunk >= 0, "decoder: prefill chunk must be >= 0; got {}", chunk);
  c10::NoGradGuard no_grad;
  const int64_t t = ids.size(0);
  const int64_t step = chunk > 0 ? chunk : t;
  std::vector<at::Tensor> logits;
  at::Tensor last;
  for (int64_t s = 0; s < t; s += step) {
    auto h = forward(ids.narrow(0, s, std::min(step, t - s)));  // [C, hidden]
    if (all_logits) {
      logits.push_back(model_.lm_head(h));
    } else {
      last = h.narrow(0, h.size(0) - 1, 1);  // only the last token needs the LM head
    }
  }
  if (all_logits) return at::cat(logits, 0);  // [T, vocab]
  return model_.lm_head(last).squeeze(0);    // [vocab]
}

at::Tensor Decoder::step(int64_t token) {
  c10::NoGradGuard no_grad;
  auto ids = at::full({1}, token, at::TensorOptions().dtype(at::kLong));
  return model_.lm_head(forward(ids)).squeeze(0);
}

GenerateResult generate_greedy(const model::Model& model, const HeadLayout& layout, const std::vector<int64_t>& prompt,
                               const GenerateOptions& opts) {
  DUO_CHECK(!prompt.empty(), "generate: the prompt is empty; expected at least one token");
  DUO_CHECK(opts.max_new_tokens >= 1, "generate: max_new_tokens must be >= 1; got {}", opts.max_new_tokens);
  GenerateResult r;
  r.prompt_tokens = static_cast<int64_t>(prompt.size());
  Decoder dec(model, layout, r.prompt_tokens + opts.max_new_tokens, opts.backend);
  auto ids = at::tensor(prompt, at::TensorOptions().dtype(at::kLong));
  auto is_stop = [&](int64_t id) { return std::find(opts.stop_ids.begin(), opts.stop_ids.end(), id) != opts.stop_ids.end(); };

  auto t0 = std::chrono::steady_clock::now();
  int64_t next = dec.prefill(ids, opts.prefill_chunk).argmax().item<int64_t>();
  r.prefill_seconds = seconds_since(t0);
  r.tokens.push_back(next);

  t0 = std::chrono::steady_clock::now();
  while (static_cast<int64_t>(r.tokens.size()) < opts.max_new_tokens && !is_stop(next)) {
    next = dec.step(next).argmax().item<int64_t>();
    r.tokens.push_back(next);
    ++r.decode_steps;
  }
  r.decode_seconds = seconds_since(t0);
  r.kv_bytes = dec.cache().bytes();
  r.kv_used_bytes = dec.cache().used_bytes();
  return r;
}

}  // namespace duo::runtime
