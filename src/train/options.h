// `duo train` options: defaults (the official DuoAttention hyper-parameters, DESIGN.md section 1)
// < --config YAML < --set key=value. One visit() serves YAML, flags, --help and the resolved
// config written beside the outputs (`duo train` adds the common keys threads and quiet). The
// training window is train_sink / train_recent, never the deploy window that `duo export` writes
// into a mask folder.
#pragma once

#include <cstdint>
#include <string>

#include "core/stream_window.h"

namespace duo::train {

inline constexpr int64_t kMaxBatchSize = 65536;  // a bound for the option check, far above any use

struct TrainOptions {
  std::string model;                 // model folder (config.json + safetensors)
  std::string dataset;               // HDF5 dataset from `duo gen-data` (or set data_config)
  std::string data_config;           // data_gen YAML: generate samples on the fly instead of `dataset`
  std::string tokenizer;             // tokenizer for data_config (default: the model folder)
  bool shuffle = true;               // shuffle the dataset each epoch; false replays the file in order
  int64_t train_sink = kTrainWindow.sink;      // training window: sink tokens (not the deploy window)
  int64_t train_recent = kTrainWindow.recent;  // training window: recent tokens
  double lr = 0.02;                  // peak learning rate
  double reg_weight = 0.05;          // weight of mean(|alpha|)
  int64_t steps = 2000;              // optimizer steps
  int64_t batch_size = 1;            // samples per optimizer step (official: 1), shared over the processes
  double initial_value = 1.0;        // initial gate value
  std::string init_gates;            // start from these gates (a run folder or TSV) instead
  int64_t seed = 42;                 // data order and on-the-fly generation
  std::string dtype = "fp32";        // compute dtype: fp32 | bf16
  int64_t checkpoint_every = 50;     // save checkpoint/ every K steps (0 = only at the end)
  bool recompute = true;             // per-layer activation checkpointing
  std::string output_dir = "outputs/train";  // run folder

  template <class V>
  void visit(V& v) {
    v("model", model, "model folder (config.json + safetensors)");
    v("dataset", dataset, "HDF5 dataset written by `duo gen-data` (or set data_config)");
    v("data_config", data_config, "data_gen YAML to generate samples on the fly instead of a dataset file");
    v("tokenizer", tokenizer, "tokenizer.json or folder for data_config (default: the model folder)");
    v("shuffle", shuffle, "shuffle the samples each epoch; false replays the file in order");
    v("train_sink", train_sink, "training window: sink tokens of the streaming path (config.json sink_size)");
    v("train_recent", train_recent, "training window: recent tokens of the streaming path (config.json recent_size)");
    v("lr", lr, "peak learning rate (AdamW, official warm-up/decay schedule)");
    v("reg_weight", reg_weight, "weight of the L1 term mean(|alpha|)");
    v("steps", steps, "optimizer steps (batch_size samples each)");
    v("batch_size", batch_size, "samples per optimizer step, split over the processes (gradients averaged)");
    v("initial_value", initial_value, "initial value of every gate");
    v("init_gates", init_gates, "start from the gates in this run folder or full_attention_heads.tsv");
    v("seed", seed, "seed for the data order and on-the-fly generation");
    v("dtype", dtype, "compute dtype: fp32 | bf16");
    v("checkpoint_every", checkpoint_every, "write checkpoint/ every K steps (0 = only at the end)");
    v("recompute", recompute, "recompute each layer in the backward (activation checkpointing)");
    v("output_dir", output_dir, "run folder for the gates, history, plots and checkpoints");
  }
};

}  // namespace duo::train
