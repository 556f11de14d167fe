// Model: construction (random or from a checkpoint) and the forward pass (see model.h).
#include "model/model.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include <algorithm>
#include <set>

#include "core/error.h"
#include "core/limits.h"
#include "io/checkpoint.h"
#include "model/modules.h"
#include "model/rope.h"

namespace duo::model {

struct Model::State {
  ModelConfig cfg;
  LoadOptions opts;
  LoadInfo info;
  CausalLM net{nullptr};
  RopeParams rope;

  DecoderLayerImpl& layer(int64_t l) {
    DUO_CHECK(l >= 0 && l < cfg.n_layers, "model: layer index out of range; expected 0 <= l < {}, got {}",
              cfg.n_layers, l);
    return *net->model->layers[static_cast<size_t>(l)];
  }
};

namespace {

void check_options(const LoadOptions& opts) {
  // float64 is for tests (gradients against finite differences); users pick fp32 or bf16.
  DUO_CHECK(opts.dtype == at::kFloat || opts.dtype == at::kBFloat16 || opts.dtype == at::kDouble,
            "model: compute dtype must be float32 or bfloat16 (float64: tests only); got {}",
            dtype_name(opts.dtype));
  const auto w = opts.weight_dtype;
  DUO_CHECK(w == at::ScalarType::Undefined || w == opts.dtype ||
                (opts.dtype == at::kFloat && (w == at::kBFloat16 || w == at::kHalf)),
            "model: weight dtype {} with compute dtype {}; expected the compute dtype, or bfloat16/float16 weights "
            "under float32 compute",
            dtype_name(w), dtype_name(opts.dtype));
}

// The resolved storage dtype of the weight matrices.
at::ScalarType matrix_dtype(const LoadOptions& opts) {
  return opts.weight_dtype == at::ScalarType::Undefined ? opts.dtype : opts.weight_dtype;
}

// Parameter options for `opts`: matrices in their storage dtype, the rest in the compute dtype.
ParamOptions param_options(const LoadOptions& opts) {
  const auto compute = at::TensorOptions().dtype(opts.dtype).device(opts.device);
  return ParamOptions(compute, compute.dtype(matrix_dtype(opts)));
}

// Checkpoint tensors that carry no weights and are skipped (old Llama exports saved RoPE buffers).
bool ignorable(const std::string& name) {
  const std::string suffix = "rotary_emb.inv_freq";
  return name.size() >= suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string dims(at::IntArrayRef s) { return io::shape_string(s.vec()); }

}  // namespace

at::ScalarType parse_dtype(const std::string& name, const std::string& what) {
  if (name == "fp32" || name == "float32" || name == "f32") return at::kFloat;
  if (name == "bf16" || name == "bfloat16") return at::kBFloat16;
  if (name == "fp16" || name == "float16" || name == "f16") return at::kHalf;
  fail("{}: unknown dtype '{}'; expected fp32, bf16 or fp16", what, name);
}

std::string dtype_name(at::ScalarType dtype) {
  switch (dtype) {
    case at::kFloat: return "float32";
    case at::kBFloat16: return "bfloat16";
    case at::kHalf: return "float16";
    default: return c10::toString(dtype);
  }
}

Model Model::random(const ModelConfig& cfg, uint64_t seed, const LoadOptions& opts) {
  cfg.validate();
  check_options(opts);
  // Initialized in float32, then converted: both copies must fit in memory.
  const double bytes = static_cast<double>(cfg.n_params()) * (4.0 + static_cast<double>(c10::elementSize(opts.dtype)));
  const int64_t ram = core::physical_memory_bytes();
  DUO_CHECK(ram <= 0 || bytes <= static_cast<double>(ram),
            "model: {} parameters ({} layers, hidden_size {}) need {:.1f} GiB to initialize; this machine has {:.1f} "
            "GiB (is a size in the config a typo?)",
            cfg.n_params(), cfg.n_layers, cfg.hidden_size, core::gib(static_cast<int64_t>(bytes)), core::gib(ram));
  c10::NoGradGuard no_grad;
  auto state = std::make_shared<State>();
  state->cfg = cfg;
  state->opts = opts;
  // Initialize in float32 on the CPU so that a seed means the same weights everywhere.
  state->net = CausalLM(cfg, at::TensorOptions().dtype(at::kFloat));
  auto gen = at::detail::createCPUGenerator(seed);
  for (auto& item : state->net->named_parameters(/*recurse=*/true)) {
    const std::string& name = item.key();
    at::Tensor p = item.value();
    const bool is_norm = name.find("norm.weight") != std::string::npos;
    if (is_norm) {
      p.fill_(1.0);
    } else if (name.size() >= 5 && name.compare(name.size() - 5, 5, ".bias") == 0) {
      p.zero_();
    } else {
      p.normal_(0.0, cfg.initializer_range, gen);
    }
  }
  if (cfg.pad_token_ids.size() == 1 && cfg.pad_token_ids[0] >= 0 && cfg.pad_token_ids[0] < cfg.vocab_size) {
    state->net->model->embed_tokens->weight[cfg.pad_token_ids[0]].zero_();
  }
  if (matrix_dtype(opts) == opts.dtype) {
    state->net->to(opts.device, opts.dtype);
  } else {  // matrices in 16 bits: copy into a model built with the storage dtypes
    CausalLM net(cfg, param_options(opts));
    auto init = state->net->named_parameters(/*recurse=*/true);
    for (auto& item : net->named_parameters(/*recurse=*/true)) item.value().copy_(init[item.key()]);
    state->net = net;
  }
  state->rope = rope_params(cfg);
  return Model(std::move(state));
}

std::vector<std::pair<std::string, std::vector<int64_t>>> expected_tensors(const ModelConfig& cfg) {
  CausalLM meta(cfg, at::TensorOptions().dtype(at::kFloat).device(at::kMeta));
  std::vector<std::pair<std::string, std::vector<int64_t>>> out;
  for (auto& item : meta->named_parameters(/*recurse=*/true)) {
    out.emplace_back(item.key(), item.value().sizes().vec());
  }
  return out;
}

namespace {

// num_hidden_layers against the layers the checkpoint holds, before the model (one module per
// layer, even on the meta device) is built: a typo such as 2^40 layers must not grow memory.
// Sizes other than the layer count are compared tensor by tensor on the meta model, which
// allocates nothing.
void check_layer_count(const io::Checkpoint& ckpt, const std::filesystem::path& dir, const ModelConfig& cfg) {
  const std::string prefix = "model.layers.";
  int64_t n = 0;  // 1 + the highest layer index named in the checkpoint
  for (const auto& name : ckpt.names()) {
    if (name.compare(0, prefix.size(), prefix) != 0) continue;
    const size_t dot = name.find('.', prefix.size());
    const std::string index =
        name.substr(prefix.size(), dot == std::string::npos ? std::string::npos : dot - prefix.size());
    if (index.empty() || index.size() > 9 || index.find_first_not_of("0123456789") != std::string::npos) continue;
    n = std::max<int64_t>(n, std::stoll(index) + 1);
  }
  // More layers in the checkpoint than in the config: the unused-tensor check names the first.
  DUO_CHECK(cfg.n_layers <= n,
            "{}: config.json key 'num_hidden_layers' is {} but the checkpoint's tensors hold only {} layers "
            "(no model.layers.{}.*); expected them to agree",
            dir.string(), cfg.n_layers, n, n);
}

LoadInfo check_checkpoint(const io::Checkpoint& ckpt, const std::filesystem::path& dir, const ModelConfig& cfg) {
  check_layer_count(ckpt, dir, cfg);
  LoadInfo info;
  info.dir = dir;
  for (const auto& f : ckpt.files()) info.files.push_back(f->path().filename().string());
  const auto names = ckpt.names();
  info.n_tensors = static_cast<int64_t>(names.size());
  std::set<std::string> expected;
  for (const auto& [name, shape] : expected_tensors(cfg)) {
    DUO_CHECK(ckpt.contains(name), "{}: tensor '{}' is missing from the checkpoint; expected shape {} ({} {})",
              dir.string(), name, io::shape_string(shape), cfg.model_type, cfg.architecture);
    const auto& ti = ckpt.info(name);
    DUO_CHECK(ti.shape == shape, "{}: tensor '{}' has wrong shape; expected {}, got {}", ckpt.file_of(name), name,
              io::shape_string(shape), io::shape_string(ti.shape));
    const auto dt = io::to_scalar_type(ti.dtype);
    DUO_CHECK(dt == at::kFloat || dt == at::kHalf || dt == at::kBFloat16 || dt == at::kDouble,
              "{}: tensor '{}' has dtype {}; expected F32, F16 or BF16", ckpt.file_of(name), name,
              io::dtype_name(ti.dtype));
    expected.insert(name);
  }
  for (const auto& name : names) {
    info.dtype_counts[std::string(io::dtype_name(ckpt.info(name).dtype))] += 1;
    if (expected.count(name)) continue;
    if (ignorable(name) || (cfg.tie_word_embeddings && name == "lm_head.weight")) {
      // Tied checkpoints sometimes carry a copy of the embedding as lm_head.weight; it is unused.
      info.ignored.push_back(name);
      continue;
    }
    fail("{}: tensor '{}' in {} is not used by the model ({} with {} layers); unexpected tensor", dir.string(), name,
         ckpt.file_of(name), cfg.model_type, cfg.n_layers);
  }
  return info;
}

}  // namespace

at::ScalarType checkpoint_matrix_dtype(const std::filesystem::path& dir, const ModelConfig& cfg) {
  const auto ckpt = io::Checkpoint::open(dir);
  check_layer_count(ckpt, dir, cfg);  // before one module per layer is built
  // The matrices are the parameters a model built with another matrix dtype stores differently.
  CausalLM meta(cfg, ParamOptions(at::TensorOptions().dtype(at::kFloat).device(at::kMeta),
                                  at::TensorOptions().dtype(at::kHalf).device(at::kMeta)));
  at::ScalarType found = at::ScalarType::Undefined;
  for (auto& item : meta->named_parameters(/*recurse=*/true)) {
    if (item.value().scalar_type() != at::kHalf) continue;
    DUO_CHECK(ckpt.contains(item.key()), "{}: tensor '{}' is missing from the checkpoint", dir.string(), item.key());
    const auto dt = io::to_scalar_type(ckpt.info(item.key()).dtype);
    if (found == at::ScalarType::Undefined) found = dt;
    if (dt != found) return at::ScalarType::Undefined;
  }
  return found;
}

LoadInfo inspect_checkpoint(const std::filesystem::path& dir, const ModelConfig& cfg) {
  return check_checkpoint(io::Checkpoint::open(dir), dir, cfg);
}

Model Model::load(const std::filesystem::path& dir, const LoadOptions& opts) {
  check_options(opts);
  c10::NoGradGuard no_grad;
  auto state = std::make_shared<State>();
  state->cfg = ModelConfig::load(dir);
  state->opts = opts;
  auto ckpt = io::Checkpoint::open(dir);
  state->info = check_checkpoint(ckpt, dir, state->cfg);
  state->net = CausalLM(state->cfg, param_options(opts));
  for (auto& item : state->net->named_parameters(/*recurse=*/true)) {
    at::Tensor p = item.value();
    p.copy_(ckpt.tensor(item.key(), p.sizes()));  // converts dtype (none: a bf16 matrix stays bf16) and device
  }
  state->rope = rope_params(state->cfg);
  return Model(std::move(state));
}

const ModelConfig& Model::config() const { return s_->cfg; }
const LoadOptions& Model::options() const { return s_->opts; }
at::ScalarType Model::weight_dtype() const { return matrix_dtype(s_->opts); }
const LoadInfo& Model::load_info() const { return s_->info; }

at::Tensor Model::embed(const at::Tensor& ids) const {
  DUO_CHECK(ids.dim() == 1 && ids.scalar_type() == at::kLong, "model: ids must be [T] int64; got {} {}",
            dims(ids.sizes()), c10::toString(ids.scalar_type()));
  const int64_t vocab = s_->cfg.vocab_size;
  if (ids.numel() > 0) {
    auto cpu = ids.to(at::kCPU).contiguous();
    const int64_t* p = cpu.data_ptr<int64_t>();
    for (int64_t i = 0; i < cpu.numel(); ++i) {
      DUO_CHECK(p[i] >= 0 && p[i] < vocab, "model: token id at position {} out of range; expected 0 <= id < {}, got {}",
                i, vocab, p[i]);
    }
  }
  auto x = at::embedding(s_->net->model->embed_tokens->weight, ids.to(s_->opts.device));
  return x.scalar_type() == s_->opts.dtype ? x : x.to(s_->opts.dtype);  // 16-bit storage: widened rows
}

std::pair<at::Tensor, at::Tensor> Model::rope_tables(const at::Tensor& positions) const {
  return rope_cos_sin(s_->rope, positions.to(s_->opts.device), s_->opts.dtype);
}

at::Tensor Model::attn_norm(int64_t l, const at::Tensor& x) const { return s_->layer(l).input_layernorm->forward(x); }

Model::QKV Model::qkv_with(int64_t l, const at::Tensor& h, const at::Tensor& cos, const at::Tensor& sin) const {
  const ModelConfig& c = s_->cfg;
  auto& attn = *s_->layer(l).self_attn;
  const int64_t t = h.size(0);
  auto q = attn.q_proj->forward(h).view({t, c.n_heads, c.head_dim});     // [T, Hq, D]
  auto k = attn.k_proj->forward(h).view({t, c.n_kv_heads, c.head_dim});  // [T, Hkv, D]
  auto v = attn.v_proj->forward(h).view({t, c.n_kv_heads, c.head_dim});  // [T, Hkv, D]
  if (c.qk_norm) {
    q = attn.q_norm->forward(q);
    k = attn.k_norm->forward(k);
  }
  q = apply_rope(q.transpose(0, 1), cos, sin).contiguous();  // [Hq, T, D]
  k = apply_rope(k.transpose(0, 1), cos, sin).contiguous();  // [Hkv, T, D]
  return {q, k, v.transpose(0, 1).contiguous()};
}

Model::QKV Model::qkv(int64_t l, const at::Tensor& h, const at::Tensor& positions) const {
  DUO_CHECK(h.dim() == 2 && positions.dim() == 1 && positions.size(0) == h.size(0),
            "model: qkv expects h [T, hidden] and positions [T]; got {} and {}", dims(h.sizes()),
            dims(positions.sizes()));
  auto [cos, sin] = rope_tables(positions);
  return qkv_with(l, h, cos, sin);
}

at::Tensor Model::attn_out(int64_t l, const at::Tensor& o) const {
  DUO_CHECK(o.dim() == 3 && o.size(0) == s_->cfg.n_heads && o.size(2) == s_->cfg.head_dim,
            "model: attn_out expects o [{}, T, {}]; got {}", s_->cfg.n_heads, s_->cfg.head_dim, dims(o.sizes()));
  auto flat = o.transpose(0, 1).reshape({o.size(1), s_->cfg.q_dim()});  // [T, Hq*D]
  return s_->layer(l).self_attn->o_proj->forward(flat);
}

Model::LayerWeights Model::layer_weights(int64_t l) const {
  auto& layer = s_->layer(l);
  auto& attn = *layer.self_attn;
  auto& mlp = *layer.mlp;
  LayerWeights w;
  w.attn_norm = layer.input_layernorm->weight;
  w.mlp_norm = layer.post_attention_layernorm->weight;
  w.q = attn.q_proj->weight, w.k = attn.k_proj->weight, w.v = attn.v_proj->weight, w.o = attn.o_proj->weight;
  w.q_bias = attn.q_proj->bias, w.k_bias = attn.k_proj->bias, w.v_bias = attn.v_proj->bias;
  w.o_bias = attn.o_proj->bias;
  if (attn.q_norm) w.q_norm = attn.q_norm->weight, w.k_norm = attn.k_norm->weight;
  w.gate = mlp.gate_proj->weight, w.up = mlp.up_proj->weight, w.down = mlp.down_proj->weight;
  w.gate_bias = mlp.gate_proj->bias, w.up_bias = mlp.up_proj->bias, w.down_bias = mlp.down_proj->bias;
  w.eps = layer.input_layernorm->eps;
  return w;
}

at::Tensor Model::mlp_block(int64_t l, const at::Tensor& x) const {
  auto& layer = s_->layer(l);
  return layer.mlp->forward(layer.post_attention_layernorm->forward(x));
}

attention::LayerSpec Model::layer_spec(int64_t l, const attention::LayerSpec& spec) const {
  attention::LayerSpec s = spec;
  const int64_t window = s_->cfg.layer_sliding_window(l);
  if (window > 0) s.sliding_window = s.sliding_window > 0 ? std::min(s.sliding_window, window) : window;
  return s;
}

at::Tensor Model::layer_with(int64_t l, const at::Tensor& x, const attention::LayerSpec& spec, const at::Tensor& cos,
                             const at::Tensor& sin) const {
  auto qkv = qkv_with(l, attn_norm(l, x), cos, sin);
  auto o = attention::attend(qkv.q, qkv.k, qkv.v, layer_spec(l, spec));  // [Hq, T, D]
  auto h = x + attn_out(l, o);
  return h + mlp_block(l, h);
}

at::Tensor Model::layer_forward(int64_t l, const at::Tensor& x, const attention::LayerSpec& spec, int64_t pos0) const {
  DUO_CHECK(x.dim() == 2 && x.size(1) == s_->cfg.hidden_size, "model: layer input must be [T, {}]; got {}",
            s_->cfg.hidden_size, dims(x.sizes()));
  auto positions = at::arange(pos0, pos0 + x.size(0), at::TensorOptions().dtype(at::kLong).device(x.device()));
  auto [cos, sin] = rope_tables(positions);
  return layer_with(l, x, spec, cos, sin);
}

at::Tensor Model::final_norm(const at::Tensor& x) const { return s_->net->model->norm->forward(x); }

at::Tensor Model::lm_head(const at::Tensor& h) const {
  const auto& w = s_->cfg.tie_word_embeddings ? s_->net->model->embed_tokens->weight : s_->net->lm_head->weight;
  auto y = model::linear(h, w);
  return y.scalar_type() == at::kDouble ? y : y.to(at::kFloat);  // fp64 (tests) stays fp64
}

at::Tensor Model::hidden(const at::Tensor& ids, const AttentionPlan& plan) const {
  const ModelConfig& c = s_->cfg;
  DUO_CHECK(plan.empty() || static_cast<int64_t>(plan.size()) == c.n_layers,
            "model: attention plan must have one spec per layer; expected {}, got {}", c.n_layers, plan.size());
  bool gated = false;
  for (const auto& s : plan) gated |= s.is_gated();
  c10::AutoGradMode grad_mode(gated && c10::GradMode::is_enabled());
  auto x = embed(ids);  // [T, hidden]
  auto positions = at::arange(ids.size(0), at::TensorOptions().dtype(at::kLong).device(x.device()));
  auto [cos, sin] = rope_tables(positions);
  const attention::LayerSpec full;
  for (int64_t l = 0; l < c.n_layers; ++l) {
    x = layer_with(l, x, plan.empty() ? full : plan[static_cast<size_t>(l)], cos, sin);
  }
  return final_norm(x);
}

at::Tensor Model::logits(const at::Tensor& ids, const AttentionPlan& plan) const {
  return lm_head(hidden(ids, plan));
}

std::vector<std::pair<std::string, at::Tensor>> Model::named_weights() const {
  std::vector<std::pair<std::string, at::Tensor>> out;
  for (auto& item : s_->net->named_parameters(/*recurse=*/true)) out.emplace_back(item.key(), item.value());
  return out;
}

}  // namespace duo::model
