// Options of `duo pretrain` (configs/pretrain/duo-tiny.yaml): the model's shape, the optimizer,
// the curriculum of context lengths, evaluation and checkpointing. Visited once for YAML, --set,
// --help and the resolved config (io/options.h); unknown keys are errors.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace duo::pretrain {

// The Llama shape of the model trained from scratch (config.json is derived from it).
struct ShapeOptions {
  int64_t n_layers = 4;               // num_hidden_layers
  int64_t hidden_size = 128;          // residual width
  int64_t n_heads = 8;                // query heads
  int64_t n_kv_heads = 8;             // KV heads (the gate granularity of DuoAttention)
  int64_t intermediate_size = 384;    // SwiGLU inner width
  double rope_theta = 10000.0;        // RoPE base
  int64_t max_position_embeddings = 4096;  // written to config.json
  double initializer_range = 0.02;    // std of the normal init
  bool tie_word_embeddings = false;   // share embed_tokens and lm_head

  template <class V>
  void visit(V& v) {
    v("n_layers", n_layers, "decoder layers");
    v("hidden_size", hidden_size, "residual stream width");
    v("n_heads", n_heads, "query heads per layer");
    v("n_kv_heads", n_kv_heads, "key/value heads per layer (GQA when < n_heads)");
    v("intermediate_size", intermediate_size, "SwiGLU inner width");
    v("rope_theta", rope_theta, "RoPE base frequency");
    v("max_position_embeddings", max_position_embeddings, "context length written to config.json");
    v("initializer_range", initializer_range, "std of the normal weight init");
    v("tie_word_embeddings", tie_word_embeddings, "share the embedding and the LM head");
  }
};

// The curriculum: stage i runs until step stage_end[i] (exclusive) on classic passkey samples
// whose total length is drawn from linspace(stage_context_min[i], stage_context_max[i], 16) and
// whose keys have stage_passkey_length[i] digits. Long keys first: every key is copied twice per
// sample (in the needle and as the answer), so long keys give the copy circuit (induction heads)
// many more training tokens per sequence than 5-digit ones while it forms.
struct CurriculumOptions {
  std::vector<int64_t> stage_end = {600, 1200, 2000, 3000};
  std::vector<int64_t> stage_context_min = {96, 128, 192, 256};
  std::vector<int64_t> stage_context_max = {320, 640, 1280, 2304};
  std::vector<int64_t> stage_batch = {8, 4, 2, 2};           // sequences per step (gradients averaged)
  std::vector<int64_t> stage_passkey_length = {16, 8, 5, 5};  // digits per key
  std::vector<int64_t> stage_needle_copies = {};  // most extra needle copies per sample (empty: none)
  double min_depth = 0.0;             // needle depth ratios are drawn from
  double max_depth = 1.0;             //   linspace(min_depth, max_depth, 101)

  template <class V>
  void visit(V& v) {
    v("stage_end", stage_end, "step at which each curriculum stage ends (ascending; the last = total steps)");
    v("stage_context_min", stage_context_min, "shortest sample of each stage, in tokens");
    v("stage_context_max", stage_context_max, "longest sample of each stage, in tokens");
    v("stage_batch", stage_batch, "sequences per step in each stage");
    v("stage_passkey_length", stage_passkey_length, "digits per passkey in each stage");
    v("stage_needle_copies", stage_needle_copies,
      "per stage, the most extra copies of the needle per sample (0..N, drawn per sample); empty: none");
    v("min_depth", min_depth, "smallest needle depth ratio");
    v("max_depth", max_depth, "largest needle depth ratio");
  }
};

struct PretrainOptions {
  int64_t seed = 1;                   // weights init and data: same options + seed -> same model
  double lr = 2e-3;                   // peak learning rate
  double min_lr_ratio = 0.1;          // cosine floor as a fraction of lr
  int64_t warmup_steps = 100;         // linear warm-up
  int64_t schedule_steps = 0;         // cosine horizon; 0 = total steps (later steps stay at the floor)
  double weight_decay = 0.1;          // AdamW decay on matrices (not norms)
  double beta1 = 0.9;
  double beta2 = 0.95;
  double eps = 1e-8;
  double grad_clip = 1.0;             // global L2 norm clip; <= 0 off
  double answer_weight = 4.0;         // loss weight of passkey answer tokens (others 1)
  double lm_weight = 1.0;             // loss weight of every other token
  CurriculumOptions curriculum;
  ShapeOptions model;
  int64_t checkpoint_every = 50;      // steps between checkpoints (and HF exports)
  int64_t eval_every = 250;           // steps between recall evaluations; <= 0 off
  std::vector<int64_t> eval_lengths = {256, 512, 1024, 2048};  // context lengths evaluated
  std::vector<double> eval_depths = {0.0, 0.25, 0.5, 0.75, 1.0};  // needle depths evaluated
  int64_t eval_samples = 4;           // held-out samples per (length, depth) cell
  int64_t log_every = 10;             // steps between progress lines

  int64_t total_steps() const { return curriculum.stage_end.empty() ? 0 : curriculum.stage_end.back(); }

  template <class V>
  void visit(V& v) {
    v("seed", seed, "seed of the initial weights and of the training data");
    v("lr", lr, "peak learning rate (AdamW)");
    v("min_lr_ratio", min_lr_ratio, "cosine schedule floor, as a fraction of lr");
    v("warmup_steps", warmup_steps, "linear warm-up steps");
    v("schedule_steps", schedule_steps,
      "steps of the cosine decay; 0 = all steps (set it to the old total when extending a finished run)");
    v("weight_decay", weight_decay, "AdamW weight decay on weight matrices (norms and embeddings excluded)");
    v("beta1", beta1, "AdamW beta1");
    v("beta2", beta2, "AdamW beta2");
    v("eps", eps, "AdamW epsilon");
    v("grad_clip", grad_clip, "clip the global gradient L2 norm to this; <= 0: off");
    v("answer_weight", answer_weight, "loss weight of passkey answer tokens");
    v("lm_weight", lm_weight, "loss weight of every other next-token prediction");
    v.section("curriculum", curriculum, "context-length curriculum (the last stage_end is the step count)");
    v.section("model", model, "model shape");
    v("checkpoint_every", checkpoint_every, "steps between checkpoints (training state and the HF folder)");
    v("eval_every", eval_every, "steps between passkey-recall evaluations; <= 0: only at the end");
    v("eval_lengths", eval_lengths, "context lengths (tokens) of the recall evaluation");
    v("eval_depths", eval_depths, "needle depth ratios of the recall evaluation");
    v("eval_samples", eval_samples, "held-out samples per (length, depth) cell");
    v("log_every", log_every, "steps between progress lines");
  }
};

// Checks the options alone; throws duo::Error naming the key.
void validate_options(const PretrainOptions& o);

}  // namespace duo::pretrain
