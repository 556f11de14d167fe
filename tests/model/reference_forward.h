// A plain reference forward pass for the model tests, written apart from src/model: float64,
// weights looked up by their Hugging Face names, explicit loops over heads, RoPE from the
// formulas (per frequency, in double), a materialized masked softmax. Slow; tiny models only.
#pragma once

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <map>
#include <string>
#include <vector>

namespace duo::testing {

struct ReferenceOutput {
  at::Tensor hidden;  // [T, hidden] float64, after the final norm
  at::Tensor logits;  // [T, vocab] float64
};

inline double ref_num(const nlohmann::json& j, const char* key, double def) {
  return j.contains(key) && !j[key].is_null() ? j[key].get<double>() : def;
}

// inv_freq[i] for i < D/2 and the cos/sin scale, straight from the published formulas.
inline std::vector<double> reference_inv_freq(const nlohmann::json& c, int64_t d, double* attention_scale) {
  const double theta = ref_num(c, "rope_theta", 10000.0);
  std::vector<double> inv(d / 2);
  for (int64_t i = 0; i < d / 2; ++i) inv[i] = std::pow(theta, -2.0 * i / d);
  *attention_scale = 1.0;
  if (!c.contains("rope_scaling") || c["rope_scaling"].is_null()) return inv;
  const auto& rs = c["rope_scaling"];
  const std::string type = rs.contains("rope_type") ? rs["rope_type"] : rs["type"];
  const double factor = ref_num(rs, "factor", 1.0);
  if (type == "linear") {
    for (auto& f : inv) f /= factor;
  } else if (type == "llama3") {
    const double lo = rs["low_freq_factor"], hi = rs["high_freq_factor"];
    const double orig = rs["original_max_position_embeddings"];
    for (auto& f : inv) {
      const double wavelen = 2 * M_PI / f;
      if (wavelen < orig / hi) continue;                  // high frequency: unchanged
      if (wavelen > orig / lo) { f /= factor; continue; }  // low frequency: interpolated
      const double smooth = (orig / wavelen - lo) / (hi - lo);
      f = (1 - smooth) * f / factor + smooth * f;
    }
  } else if (type == "yarn") {
    const double orig = ref_num(rs, "original_max_position_embeddings", ref_num(c, "max_position_embeddings", 0));
    const double beta_fast = ref_num(rs, "beta_fast", 32), beta_slow = ref_num(rs, "beta_slow", 1);
    auto dim_for = [&](double rotations) { return d * std::log(orig / (rotations * 2 * M_PI)) / (2 * std::log(theta)); };
    double low = std::max(std::floor(dim_for(beta_fast)), 0.0);
    double high = std::min(std::ceil(dim_for(beta_slow)), double(d - 1));
    if (low == high) high += 0.001;
    for (int64_t i = 0; i < d / 2; ++i) {
      double ramp = std::min(1.0, std::max(0.0, (i - low) / (high - low)));  // 0: keep, 1: divide by factor
      inv[i] = inv[i] / factor * ramp + inv[i] * (1 - ramp);
    }
    *attention_scale = rs.contains("attention_factor") ? rs["attention_factor"].get<double>()
                                                       : (factor <= 1 ? 1.0 : 0.1 * std::log(factor) + 1.0);
  }
  return inv;
}

inline at::Tensor ref_rmsnorm(const at::Tensor& x, const at::Tensor& w, double eps) {
  return x / at::sqrt(x.pow(2).mean(-1, true) + eps) * w;
}

inline at::Tensor ref_linear(const std::map<std::string, at::Tensor>& W, const std::string& name, const at::Tensor& x) {
  at::Tensor y = at::matmul(x, W.at(name + ".weight").to(at::kDouble).t());
  auto b = W.find(name + ".bias");
  if (b != W.end()) y = y + b->second.to(at::kDouble);
  return y;
}

// Rotates rows of x [T, D] at positions 0..T-1 (pairs (i, i + D/2), HF rotate_half convention).
inline at::Tensor ref_rope(const at::Tensor& x, const std::vector<double>& inv, double scale) {
  const int64_t t_len = x.size(0), d = x.size(1), half = d / 2;
  at::Tensor out = at::empty_like(x);
  auto a = x.accessor<double, 2>();
  auto o = out.accessor<double, 2>();
  for (int64_t t = 0; t < t_len; ++t) {
    for (int64_t i = 0; i < half; ++i) {
      const double ang = t * inv[i], c = std::cos(ang) * scale, s = std::sin(ang) * scale;
      o[t][i] = a[t][i] * c - a[t][i + half] * s;
      o[t][i + half] = a[t][i + half] * c + a[t][i] * s;
    }
  }
  return out;
}

inline ReferenceOutput reference_forward(const nlohmann::json& c, const std::map<std::string, at::Tensor>& W,
                                         const std::vector<int64_t>& ids) {
  const std::string type = c["model_type"];
  const int64_t h = c["hidden_size"], n_layers = c["num_hidden_layers"], hq = c["num_attention_heads"];
  const int64_t hkv = c.contains("num_key_value_heads") ? c["num_key_value_heads"].get<int64_t>() : hq;
  const int64_t d = c.contains("head_dim") && !c["head_dim"].is_null() ? c["head_dim"].get<int64_t>() : h / hq;
  const double eps = c["rms_norm_eps"];
  const int64_t t_len = static_cast<int64_t>(ids.size());
  double scale = 1.0;
  const auto inv = reference_inv_freq(c, d, &scale);

  at::Tensor emb = W.at("model.embed_tokens.weight").to(at::kDouble);
  at::Tensor x = at::empty({t_len, h}, at::kDouble);
  for (int64_t t = 0; t < t_len; ++t) x[t] = emb[ids[t]];

  for (int64_t l = 0; l < n_layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    int64_t window = 0;
    if (type == "mistral" && c.contains("sliding_window") && !c["sliding_window"].is_null()) window = c["sliding_window"];
    if ((type == "qwen2" || type == "qwen3") && c.value("use_sliding_window", false) &&
        l >= c.value("max_window_layers", int64_t(0)))
      window = c["sliding_window"];
    at::Tensor hn = ref_rmsnorm(x, W.at(p + "input_layernorm.weight").to(at::kDouble), eps);
    at::Tensor q = ref_linear(W, p + "self_attn.q_proj", hn);  // [T, Hq*D]
    at::Tensor k = ref_linear(W, p + "self_attn.k_proj", hn);  // [T, Hkv*D]
    at::Tensor v = ref_linear(W, p + "self_attn.v_proj", hn);
    std::vector<at::Tensor> heads;
    for (int64_t head = 0; head < hq; ++head) {
      const int64_t g = head / (hq / hkv);
      at::Tensor qh = q.narrow(1, head * d, d).contiguous(), kh = k.narrow(1, g * d, d).contiguous();
      at::Tensor vh = v.narrow(1, g * d, d);
      if (type == "qwen3") {
        qh = ref_rmsnorm(qh, W.at(p + "self_attn.q_norm.weight").to(at::kDouble), eps);
        kh = ref_rmsnorm(kh, W.at(p + "self_attn.k_norm.weight").to(at::kDouble), eps);
      }
      qh = ref_rope(qh, inv, scale);
      kh = ref_rope(kh, inv, scale);
      at::Tensor scores = at::matmul(qh, kh.t()) / std::sqrt(double(d));  // [T, T]
      auto s = scores.accessor<double, 2>();
      for (int64_t i = 0; i < t_len; ++i)
        for (int64_t j = 0; j < t_len; ++j)
          if (j > i || (window > 0 && i - j >= window)) s[i][j] = -INFINITY;
      heads.push_back(at::matmul(at::softmax(scores, 1), vh));  // [T, D]
    }
    x = x + ref_linear(W, p + "self_attn.o_proj", at::cat(heads, 1));
    at::Tensor h2 = ref_rmsnorm(x, W.at(p + "post_attention_layernorm.weight").to(at::kDouble), eps);
    at::Tensor gate = ref_linear(W, p + "mlp.gate_proj", h2);
    at::Tensor mlp = ref_linear(W, p + "mlp.down_proj", gate * at::sigmoid(gate) * ref_linear(W, p + "mlp.up_proj", h2));
    x = x + mlp;
  }
  ReferenceOutput out;
  out.hidden = ref_rmsnorm(x, W.at("model.norm.weight").to(at::kDouble), eps);
  const bool tied = c.value("tie_word_embeddings", false);
  out.logits = at::matmul(out.hidden, (tied ? emb : W.at("lm_head.weight").to(at::kDouble)).t());
  return out;
}

// max |a - b| / max |b|.
inline double rel_error(const at::Tensor& a, const at::Tensor& b) {
  auto bd = b.to(at::kDouble);
  return (a.to(at::kDouble) - bd).abs().max().item<double>() / std::max(bd.abs().max().item<double>(), 1e-30);
}

}  // namespace duo::testing
