// Training samples from a dataset file or generated on the fly (see samples.h).
#include "train/samples.h"

#include <ATen/ATen.h>

#include <filesystem>

#include "core/error.h"
#include "data_gen/dataset_file.h"
#include "data_gen/gen_options.h"
#include "data_gen/passkey_samples.h"
#include "io/options.h"
#include "tokenizer/tokenizer.h"

namespace duo::train {
namespace fs = std::filesystem;
namespace {

TrainSample to_tensors(const std::vector<int32_t>& ids, const std::vector<uint8_t>& mask, int64_t vocab,
                       const std::string& where) {
  DUO_CHECK(!ids.empty() && ids.size() == mask.size(),
            "{}: expected input ids and a label mask of one length > 0; got {} and {}", where, ids.size(), mask.size());
  bool any_label = false;
  for (size_t i = 0; i < ids.size(); ++i) {
    DUO_CHECK(ids[i] >= 0 && ids[i] < vocab, "{}: token {} has id {}; expected an id in [0, {}) (dataset made with "
              "another tokenizer?)", where, i, ids[i], vocab);
    any_label |= mask[i] != 0;
  }
  DUO_CHECK(any_label, "{}: no label tokens; expected at least one", where);
  TrainSample s;
  s.ids = at::tensor(std::vector<int64_t>(ids.begin(), ids.end()), at::kLong);
  s.label_mask = at::tensor(std::vector<uint8_t>(mask.begin(), mask.end()), at::kByte).to(at::kBool);
  return s;
}

class FileSamples : public SampleSource {
 public:
  FileSamples(const std::string& path, int64_t vocab)
      : path_(path), data_(data_gen::Dataset::open(path)), vocab_(vocab) {
    data_.check_token_ids(vocab);  // every sample now, not when it is drawn
  }
  int64_t size() const override { return data_.size(); }
  TrainSample get(int64_t i) const override {
    auto s = data_.sample(i);
    return to_tensors(s.input_ids, s.label_mask, vocab_, fmt::format("{}: sample {}", path_, i));
  }
  std::string describe() const override { return path_; }

 private:
  std::string path_;
  data_gen::Dataset data_;
  int64_t vocab_;
};

class GeneratedSamples : public SampleSource {
 public:
  GeneratedSamples(const std::string& config, const std::string& tokenizer, int64_t seed, int64_t vocab)
      : config_(config), tok_(tokenizer::Tokenizer::load(tokenizer)), vocab_(vocab) {
    data_gen::GenOptions g;
    io::load_yaml_options(g, config);
    g.seed = seed;
    gen_ = std::make_unique<data_gen::PasskeySampleGenerator>(tok_, g);
  }
  int64_t size() const override { return gen_->options().num_samples; }
  TrainSample get(int64_t i) const override {
    auto s = gen_->sample(i);
    return to_tensors(s.input_ids, s.label_mask, vocab_, fmt::format("{}: generated sample {}", config_, i));
  }
  std::string describe() const override { return "generated:" + config_; }

 private:
  std::string config_;
  tokenizer::Tokenizer tok_;
  std::unique_ptr<data_gen::PasskeySampleGenerator> gen_;
  int64_t vocab_;
};

}  // namespace

std::unique_ptr<SampleSource> open_samples(const TrainOptions& o, int64_t vocab_size) {
  DUO_CHECK(o.dataset.empty() != o.data_config.empty(),
            "train: set exactly one of 'dataset' (a file from duo gen-data) and 'data_config' (a data_gen YAML); got {}",
            o.dataset.empty() ? "neither" : "both");
  if (!o.dataset.empty()) return std::make_unique<FileSamples>(o.dataset, vocab_size);
  const std::string tok = o.tokenizer.empty() ? o.model : o.tokenizer;
  return std::make_unique<GeneratedSamples>(o.data_config, tok, o.seed, vocab_size);
}

}  // namespace duo::train
