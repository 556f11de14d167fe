// Decoder and greedy generation (see decoder.h).
#include "runtime/decoder.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include <algorithm>
#include <chrono>

#include "attention/attention.h"
#include "attention/decode.h"
#include "core/error.h"
#include "core/limits.h"

namespace duo::runtime {

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

void check_kv_dtype(at::ScalarType kv_dtype, const char* what) {
  DUO_CHECK(kv_dtype == at::kFloat || kv_dtype == at::kBFloat16 || kv_dtype == at::kHalf,
            "{}: unsupported KV cache dtype; expected fp32, bf16 or f16, got {}", what, c10::toString(kv_dtype));
}

Decoder::Decoder(model::Model model, HeadLayout layout, int64_t capacity, std::optional<at::ScalarType> kv_dtype)
    : model_(std::move(model)),
      cache_(layout, model_.config().head_dim, kv_dtype.value_or(model_.options().dtype), capacity) {
  if (kv_dtype) check_kv_dtype(*kv_dtype, "decoder");
  const auto& c = model_.config();
  DUO_CHECK(layout.n_layers == c.n_layers && layout.n_kv_heads == c.n_kv_heads,
            "decoder: head mask has shape [{}, {}] (layers, kv heads) but the model has [{}, {}]", layout.n_layers,
            layout.n_kv_heads, c.n_layers, c.n_kv_heads);
  DUO_CHECK(model_.options().device.is_cpu(), "decoder: the runtime runs on cpu; got a model on {}",
            model_.options().device.str());
  for (int64_t l = 0; l < c.n_layers; ++l) specs_.push_back(model_.layer_spec(l, layout.layer_spec(l)));
  use_row_step(true);
}

void Decoder::use_row_step(bool on) {
  if (on && RowStep::supports(model_)) {
    if (!row_) row_.emplace(model_);
  } else {
    row_.reset();
  }
}

at::Tensor Decoder::attend_layer(int64_t l, model::Model::QKV qkv, int64_t p0) {
  const attention::LayerSpec& spec = specs_[static_cast<size_t>(l)];
  if (cache_.dtype() != qkv.k.scalar_type()) {
    // Attention sees the K/V the cache will hold (decoder.h: KV precision), for the chunk's own
    // keys too; the cache then stores them exactly.
    qkv.k = qkv.k.to(cache_.dtype()).to(qkv.k.scalar_type());
    qkv.v = qkv.v.to(cache_.dtype()).to(qkv.v.scalar_type());
  }
  if (p0 == 0 && qkv.q.size(1) > 1) {
    // The first chunk: one blockwise pass over the chunk alone (block-sparse for streaming heads).
    at::Tensor o = attention::attend(qkv.q, qkv.k, qkv.v, spec);
    cache_.append(l, qkv.k, qkv.v);
    return o;
  }
  // Each head kind attends over (its store before the chunk) + (the chunk); then the chunk is cached.
  at::Tensor out;  // [Hq, C, D]
  for (attention::HeadKind kind : attention::kHeadKinds) {
    const int64_t h = cache_.heads(l, kind);
    if (h == 0) continue;
    at::Tensor o = attention::attend_chunk(cache_.gather(l, kind, qkv.q), cache_.gather(l, kind, qkv.k),
                                           cache_.gather(l, kind, qkv.v), p0, cache_.view(l, kind), kind, spec);
    if (h == model_.config().n_kv_heads) {
      out = o;
    } else {
      if (!out.defined()) out = at::empty_like(qkv.q);
      cache_.scatter(l, kind, o, out);
    }
  }
  cache_.append(l, qkv.k, qkv.v);
  return out;
}

// The MLP block over slices of kMlpRows rows. Its [C, intermediate] temporaries (gate, up, their
// activation and product: 4 x C x intermediate floats) are the largest activations of a prefill
// chunk; rows are independent, so slicing bounds them without changing what is computed.
constexpr int64_t kMlpRows = 1024;

at::Tensor Decoder::mlp_rows(int64_t l, const at::Tensor& x) const {
  const int64_t c = x.size(0);  // x [C, hidden]
  if (c <= kMlpRows) return model_.mlp_block(l, x);
  at::Tensor out = at::empty_like(x);
  for (int64_t s = 0; s < c; s += kMlpRows) {
    const int64_t n = std::min(kMlpRows, c - s);
    out.narrow(0, s, n).copy_(model_.mlp_block(l, x.narrow(0, s, n)));
  }
  return out;
}

at::Tensor Decoder::forward(const at::Tensor& ids) {
  DUO_CHECK(ids.dim() == 1 && ids.size(0) >= 1 && ids.scalar_type() == at::kLong,
            "decoder: ids must be [C] int64 with C >= 1; got {} {}", ids.sizes(), c10::toString(ids.scalar_type()));
  c10::NoGradGuard no_grad;
  const int64_t c = ids.size(0), p0 = position_;
  if (c == 1 && row_) return forward_row(ids);
  auto x = model_.embed(ids);  // [C, hidden]
  auto positions = at::arange(p0, p0 + c, at::TensorOptions().dtype(at::kLong));
  for (int64_t l = 0; l < model_.config().n_layers; ++l) {
    auto qkv = model_.qkv(l, model_.attn_norm(l, x), positions);
    auto o = attend_layer(l, qkv, p0);  // [Hq, C, D]
    x = x + model_.attn_out(l, o);
    x.add_(mlp_rows(l, x));  // x is this layer's own sum (above): updated in place
  }
  position_ += c;
  return model_.final_norm(x);
}

at::Tensor Decoder::forward_row(const at::Tensor& ids) {
  const auto& c = model_.config();
  const int64_t p0 = position_, g = c.n_heads / c.n_kv_heads, d = c.head_dim;
  at::Tensor x = model_.embed(ids).contiguous();  // [1, hidden] fp32, updated in place
  auto [cos, sin] = model_.rope_tables(at::full({1}, p0, at::TensorOptions().dtype(at::kLong)));  // [1, D] each
  cos = cos.contiguous(), sin = sin.contiguous();
  // Rows of one token: q and the attention output [Hkv, G, D] (query head h * G + j is row (h, j),
  // the order Model::attn_out flattens), k and v [Hkv, D].
  std::vector<float> q(static_cast<size_t>(c.n_heads * d)), o(q.size()), k(static_cast<size_t>(c.n_kv_heads * d)),
      v(k.size());
  float* xp = x.data_ptr<float>();
  for (int64_t l = 0; l < c.n_layers; ++l) {
    row_->qkv(l, xp, cos.data_ptr<float>(), sin.data_ptr<float>(), q.data(), k.data(), v.data());
    // The cache takes the token first (rounded to its dtype), so attention reads exactly what the
    // cache holds, the token's own key included (decoder.h: KV precision).
    cache_.append_row(l, k.data(), v.data());
    kernels::cpu::RowGroup groups[2];
    HeadKind kinds[2];
    const int64_t n = cache_.row_groups(l, groups, kinds);
    attention::attend_rows(q.data(), g, d, p0, groups, kinds, n, specs_[static_cast<size_t>(l)], o.data());
    row_->attn_out(l, o.data(), xp);
    row_->mlp(l, xp);
  }
  position_ += 1;
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

void check_kv_fits(const model::Model& model, const HeadLayout& layout, int64_t prompt_tokens,
                   int64_t max_new_tokens, std::optional<at::ScalarType> kv_dtype) {
  // The cache is allocated up front for every token; a typo (--max-new-tokens 1e9) must be one
  // line here, not an allocation failure deep in LibTorch. Computed in double: no overflow.
  const auto& c = model.config();
  const double tokens = static_cast<double>(prompt_tokens) + static_cast<double>(max_new_tokens);
  const double window = static_cast<double>(layout.window.sink + layout.window.recent);
  const double elem = static_cast<double>(c10::elementSize(kv_dtype.value_or(model.options().dtype)));
  const double bytes = 2.0 * static_cast<double>(c.head_dim) * elem *
                       (static_cast<double>(layout.total_full()) * tokens +
                        static_cast<double>(layout.total_stream()) * std::min(tokens, window));
  const int64_t ram = core::physical_memory_bytes();
  DUO_CHECK(ram <= 0 || bytes <= static_cast<double>(ram),
            "generate: the KV cache for {} prompt + {} new tokens needs {:.1f} GiB; this machine has {:.1f} GiB "
            "(is max_new_tokens right?)",
            prompt_tokens, max_new_tokens, bytes / (1024.0 * 1024.0 * 1024.0), core::gib(ram));
}

GenerateResult generate_greedy(const model::Model& model, const HeadLayout& layout, const std::vector<int64_t>& prompt,
                               const GenerateOptions& opts) {
  DUO_CHECK(!prompt.empty(), "generate: the prompt is empty; expected at least one token");
  DUO_CHECK(opts.max_new_tokens >= 1, "generate: max_new_tokens must be >= 1; got {}", opts.max_new_tokens);
  DUO_CHECK(opts.prefill_chunk >= 0, "generate: prefill_chunk must be >= 0 (0 = whole prompt); got {}",
            opts.prefill_chunk);
  if (opts.kv_dtype) check_kv_dtype(*opts.kv_dtype, "generate");
  check_kv_fits(model, layout, static_cast<int64_t>(prompt.size()), opts.max_new_tokens, opts.kv_dtype);
  GenerateResult r;
  r.prompt_tokens = static_cast<int64_t>(prompt.size());
  Decoder dec(model, layout, r.prompt_tokens + opts.max_new_tokens, opts.kv_dtype);
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
