// Gate trainer on tiny random models: the two-way loss against a separately computed value,
// the gate gradient against finite differences (double precision), recompute == plain,
// resume determinism, NaN handling, output files, gates loading back.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "core/error.h"
#include "io/hdf5.h"
#include "mask/gate_table.h"
#include "model/model.h"
#include "train/loss.h"
#include "train/run_state.h"
#include "train/trainer.h"
#include "train/two_way.h"

namespace fs = std::filesystem;
using namespace duo;
using namespace duo::train;

namespace {

model::ModelConfig tiny_config(int64_t layers = 2) {
  nlohmann::json j = {{"model_type", "llama"},        {"vocab_size", 64},          {"hidden_size", 32},
                      {"intermediate_size", 48},      {"num_hidden_layers", layers}, {"num_attention_heads", 4},
                      {"num_key_value_heads", 2},     {"rms_norm_eps", 1e-5},      {"rope_theta", 10000.0},
                      {"max_position_embeddings", 512}, {"tie_word_embeddings", false}};
  return model::ModelConfig::from_json(j, "tiny");
}

model::Model tiny_model(at::ScalarType dtype = at::kFloat, uint64_t seed = 1, int64_t layers = 2) {
  model::LoadOptions lo;
  lo.dtype = dtype;
  auto m = model::Model::random(tiny_config(layers), seed, lo);
  // Random init (std 0.02) makes attention nearly uniform; sharper weights make full and
  // streaming attention differ clearly so the gates matter.
  at::NoGradGuard g;
  for (auto& [name, w] : m.named_weights())
    if (name.find("q_proj") != std::string::npos || name.find("k_proj") != std::string::npos) w.mul_(25.0);
  return m;
}

// Random ids with the last `labels` tokens labelled.
TrainSample make_sample(int64_t t, int64_t labels, uint64_t seed, int64_t vocab = 64) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  TrainSample s;
  s.ids = at::randint(3, vocab, {t}, gen, at::kLong);
  s.label_mask = at::zeros({t}, at::kBool);
  s.label_mask.narrow(0, t - labels, labels).fill_(true);
  return s;
}

class MemorySamples : public SampleSource {
 public:
  explicit MemorySamples(std::vector<TrainSample> s, int64_t fail_at = -1) : s_(std::move(s)), fail_at_(fail_at) {}
  int64_t size() const override { return static_cast<int64_t>(s_.size()); }
  TrainSample get(int64_t i) const override {
    if (fail_at_ >= 0 && calls_++ == fail_at_) throw std::runtime_error("simulated crash");
    return s_[i];
  }
  std::string describe() const override { return "memory"; }

 private:
  std::vector<TrainSample> s_;
  int64_t fail_at_;
  mutable int64_t calls_ = 0;
};

std::vector<TrainSample> samples(int n, int64_t t = 48) {
  std::vector<TrainSample> v;
  for (int i = 0; i < n; ++i) v.push_back(make_sample(t + 4 * i, 6, 100 + i));
  return v;
}

TrainOptions small_options(const fs::path& out) {
  TrainOptions o;
  o.model = "tiny";
  o.dataset = "memory";
  o.train_sink = 4;
  o.train_recent = 8;
  o.steps = 6;
  o.lr = 0.05;
  o.checkpoint_every = 2;
  o.output_dir = out.string();
  return o;
}

fs::path fresh_dir(const std::string& name) {
  auto d = fs::temp_directory_path() / ("duo_train_test_" + name);
  fs::remove_all(d);
  return d;
}

attention::LayerSpec gated(const at::Tensor& a, int64_t sink, int64_t recent) {
  attention::LayerSpec s;
  s.alpha = a;
  s.window = duo::StreamWindow(sink, recent);
  return s;
}

}  // namespace

TEST(TwoWay, LossEqualsSeparatelyComputedForwards) {
  auto m = tiny_model();
  auto s = make_sample(40, 5, 7);
  auto alpha = at::tensor({0.2f, 0.9f, 0.6f, 0.0f}).reshape({2, 2});
  TwoWayConfig cfg;
  cfg.window = duo::StreamWindow(2, 6);
  cfg.reg_weight = 0.05;
  auto r = two_way_step(m, s.ids, s.label_mask, alpha, cfg);
  // Independent path: whole-model forwards with plans, then the loss by explicit loops.
  auto h_full = m.hidden(s.ids).to(at::kDouble);
  model::AttentionPlan plan = {gated(alpha[0], 2, 6), gated(alpha[1], 2, 6)};
  at::Tensor h_gated;
  {
    at::NoGradGuard g;
    h_gated = m.hidden(s.ids, plan).to(at::kDouble);
  }
  double sum = 0;
  int n = 0;
  for (int64_t i = 0; i < 40; ++i) {
    if (!s.label_mask[i].item<bool>()) continue;
    double row = 0;
    for (int64_t d = 0; d < 32; ++d) {
      double diff = h_full[i][d].item<double>() - h_gated[i][d].item<double>();
      row += diff * diff;
    }
    sum += row / 32;
    ++n;
  }
  const double distill = sum / n, reg = (0.2 + 0.9 + 0.6 + 0.0) / 4;
  EXPECT_GT(distill, 1e-6);  // the gates matter on this model
  EXPECT_NEAR(r.distill, distill, 1e-5 * distill + 1e-9);
  EXPECT_NEAR(r.reg, reg, 1e-7);
  EXPECT_NEAR(r.loss, distill + 0.05 * reg, 1e-5 * distill + 1e-7);
  EXPECT_EQ(r.n_labels, 5);
}

TEST(TwoWay, GateGradientMatchesFiniteDifferencesInDouble) {
  auto m = tiny_model(at::kDouble, 3);
  auto s = make_sample(36, 4, 11);
  auto alpha = at::tensor({0.3, 0.8, 0.55, 0.1}, at::kDouble).reshape({2, 2});
  TwoWayConfig cfg;
  cfg.window = duo::StreamWindow(2, 5);
  cfg.reg_weight = 0.05;
  auto r = two_way_step(m, s.ids, s.label_mask, alpha, cfg);
  ASSERT_EQ(r.grad.sizes(), alpha.sizes());
  const double eps = 1e-6;
  double max_abs = 0;
  for (int64_t l = 0; l < 2; ++l) {
    for (int64_t g = 0; g < 2; ++g) {
      auto up = alpha.clone(), down = alpha.clone();
      up[l][g] += eps;
      down[l][g] -= eps;
      double fd = (two_way_step(m, s.ids, s.label_mask, up, cfg).loss -
                   two_way_step(m, s.ids, s.label_mask, down, cfg).loss) / (2 * eps);
      double an = r.grad[l][g].item<double>();
      max_abs = std::max(max_abs, std::abs(an));
      EXPECT_NEAR(an, fd, 1e-6 + 1e-5 * std::abs(fd)) << "gate [" << l << ", " << g << "]";
    }
  }
  EXPECT_GT(max_abs, 1e-4);  // gradients are not trivially zero
}

TEST(TwoWay, RecomputeMatchesPlainBackward) {
  auto m = tiny_model();
  auto s = make_sample(64, 6, 5);
  auto alpha = at::tensor({0.4f, 0.7f, 1.0f, 0.25f}).reshape({2, 2});
  TwoWayConfig a, b;
  a.window = b.window = duo::StreamWindow(2, 8);
  a.recompute = true;
  b.recompute = false;
  auto ra = two_way_step(m, s.ids, s.label_mask, alpha, a);
  auto rb = two_way_step(m, s.ids, s.label_mask, alpha, b);
  EXPECT_NEAR(ra.loss, rb.loss, 1e-7);
  EXPECT_TRUE(at::allclose(ra.grad, rb.grad, 1e-4, 1e-7)) << ra.grad << rb.grad;
}

// Keeping the attention results of the first pass (the default) must give what recomputing
// them gives. Not bitwise: with autograd on, RoPE takes another (differently rounded) path, so
// the recomputed q, k differ from the first pass's in the last bits.
TEST(TwoWay, KeptAttentionEqualsRecomputedAttention) {
  auto m = tiny_model();
  auto s = make_sample(80, 6, 9);
  auto alpha = at::tensor({0.4f, 0.7f, 0.9f, 0.25f}).reshape({2, 2});
  TwoWayConfig a, b;
  a.window = b.window = duo::StreamWindow(2, 8);
  a.keep_attention = true;
  b.keep_attention = false;
  auto ra = two_way_step(m, s.ids, s.label_mask, alpha, a);
  auto rb = two_way_step(m, s.ids, s.label_mask, alpha, b);
  EXPECT_EQ(ra.loss, rb.loss);  // both from the first pass
  EXPECT_TRUE(at::allclose(ra.grad, rb.grad, 1e-5, 1e-8)) << ra.grad << rb.grad;
  EXPECT_GT(ra.grad.abs().max().item<double>(), 1e-6);
}

TEST(Trainer, ResumeAfterCrashIsBitwiseEqual) {
  auto m = tiny_model();
  auto data = samples(5);
  auto dir_a = fresh_dir("resume_a"), dir_b = fresh_dir("resume_b");
  MemorySamples full(data);
  auto ra = run_training(small_options(dir_a), m, full, false, "a: 1\n", /*quiet=*/true);
  // Crash during step 4 (the 4th sample fetch): checkpoint of step 2 remains, then resume.
  MemorySamples crashing(data, 3);
  EXPECT_THROW(run_training(small_options(dir_b), m, crashing, false, "a: 1\n", /*quiet=*/true), std::runtime_error);
  EXPECT_EQ(load_run_state(dir_b / "checkpoint" / "state.h5").step, 2);
  MemorySamples again(data);
  auto rb = run_training(small_options(dir_b), m, again, true, "a: 1\n", /*quiet=*/true);
  EXPECT_EQ(rb.steps, 6);
  EXPECT_TRUE(at::equal(ra.gates, rb.gates)) << ra.gates << rb.gates;
  EXPECT_EQ(core::read_file(dir_a / "full_attention_heads.tsv"), core::read_file(dir_b / "full_attention_heads.tsv"));
  io::H5Reader ha(dir_a / "history.h5"), hb(dir_b / "history.h5");
  EXPECT_EQ(ha.read_vector<double>("distill_loss"), hb.read_vector<double>("distill_loss"));
  EXPECT_EQ(ha.read_vector<float>("gates"), hb.read_vector<float>("gates"));
  // A second run into the same folder without --resume is refused (nothing is overwritten).
  MemorySamples more(data);
  EXPECT_THROW(run_training(small_options(dir_a), m, more, false, "", /*quiet=*/true), Error);
  fs::remove_all(dir_a);
  fs::remove_all(dir_b);
}

TEST(Trainer, OutputsAreWrittenAndGatesMove) {
  auto m = tiny_model();
  auto dir = fresh_dir("outputs");
  MemorySamples data(samples(3));
  auto o = small_options(dir);
  auto r = run_training(o, m, data, false, "steps: 6\n", /*quiet=*/true);
  auto t = mask::read_gate_tsv(dir / "full_attention_heads.tsv");
  EXPECT_EQ(t.n_layers, 2);
  EXPECT_EQ(t.n_kv_heads, 2);
  double moved = 0;
  for (double v : t.values) moved = std::max(moved, std::abs(1.0 - v));
  EXPECT_GT(moved, 1e-3);
  io::H5Reader h(dir / "history.h5");
  EXPECT_EQ(h.shape("gates"), (std::vector<int64_t>{6, 2, 2}));
  EXPECT_EQ(h.shape("distill_loss"), (std::vector<int64_t>{6}));
  auto seq = h.read_vector<int64_t>("seq_len");
  EXPECT_TRUE(seq[0] == 48 || seq[0] == 52 || seq[0] == 56) << seq[0];  // the three samples' lengths
  auto lr = h.read_vector<double>("lr");
  EXPECT_DOUBLE_EQ(lr[0], 0.05);  // N // 5 = 1: min(1, max(1, .1), max(6, .1)) = 1
  auto svg = core::read_file(dir / "gates.svg");
  EXPECT_NE(svg.find("<svg"), std::string::npos);
  auto cfg = nlohmann::json::parse(core::read_file(dir / "config.json"));
  EXPECT_EQ(cfg["sink_size"], 4);
  EXPECT_EQ(cfg["recent_size"], 8);
  EXPECT_EQ(core::read_file(dir / "config.yaml"), "steps: 6\n");
  // The gate file loads back into the trainer as its starting point.
  auto dir2 = fresh_dir("outputs2");
  auto o2 = small_options(dir2);
  o2.init_gates = dir.string();
  o2.steps = 1;
  o2.lr = 1e-30;  // effectively no update: the loaded gates come back out (clamped to [0, 1])
  auto r2 = run_training(o2, m, data, false, "", /*quiet=*/true);
  EXPECT_TRUE(at::allclose(r2.gates, r.gates.clamp(0, 1), 0, 1e-6)) << r2.gates << r.gates;
  fs::remove_all(dir);
  fs::remove_all(dir2);
}

TEST(Trainer, NonFiniteLossStopsAndKeepsLastCheckpoint) {
  auto m = tiny_model();
  {
    at::NoGradGuard g;
    for (auto& [name, w] : m.named_weights())
      if (name == "model.embed_tokens.weight") w[2].fill_(std::numeric_limits<float>::quiet_NaN());
  }
  auto data = samples(3);
  data[2].ids[10] = 2;  // only the third sample holds the poisoned token
  auto dir = fresh_dir("nan");
  auto o = small_options(dir);
  o.shuffle = false;
  o.checkpoint_every = 1;
  MemorySamples src(data);
  try {
    run_training(o, m, src, false, "", /*quiet=*/true);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("step 3: the loss is not finite"), std::string::npos) << msg;
    EXPECT_NE(msg.find("last good checkpoint (step 2)"), std::string::npos) << msg;
  }
  auto st = load_run_state(dir / "checkpoint" / "state.h5");
  EXPECT_EQ(st.step, 2);
  EXPECT_TRUE(at::isfinite(st.gates).all().item<bool>());
  fs::remove_all(dir);
}
