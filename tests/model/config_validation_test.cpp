// config.json values outside their domain are refused at load, and num_hidden_layers is compared
// with the checkpoint's tensors before the model is built.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "common/error_of.h"
#include "common/tiny_checkpoint.h"
#include "io/json.h"
#include "model/model.h"
#include "model/model_config.h"

namespace dt = duo::testing;
using duo::model::ModelConfig;
using duo::testing::error_of;

TEST(ConfigValidation, OutOfDomainKeysRefused) {
  struct Case {
    const char* key;
    nlohmann::json value;
    const char* expect;
  };
  for (const Case& c : {Case{"max_position_embeddings", -1, "key 'max_position_embeddings' must be > 0; got -1"},
                        Case{"max_position_embeddings", 0, "key 'max_position_embeddings' must be > 0; got 0"},
                        Case{"hidden_size", int64_t{1} << 40, "parameters; expected fewer than"},
                        // Integers past int64: a float beyond 2^63 (converting it was undefined
                        // behaviour) and an unsigned integer above INT64_MAX (it wrapped negative).
                        Case{"vocab_size", 2.2e25, "key 'vocab_size' is 2.2e+25; expected an integer below 2^63"},
                        // heads x head_dim past int64 (UBSan found the product overflowing).
                        Case{"head_dim", int64_t{2222222222222222216}, "parameters; expected fewer than"},
                        Case{"vocab_size", uint64_t{18446744073709551615u},
                             "key 'vocab_size' is 18446744073709551615; expected an integer below 2^63"}}) {
    auto j = dt::tiny_config("llama");
    j[c.key] = c.value;
    const auto e = error_of([&] { ModelConfig::from_json(j, "config.json"); });
    EXPECT_NE(e.find(c.expect), std::string::npos) << c.key << ": " << e;
  }
}

TEST(ConfigValidation, LayerCountComparedWithCheckpointBeforeBuilding) {
  const auto dir = dt::temp_dir("cfg_val_layers");
  auto cfg = dt::tiny_config("llama");
  dt::write_tiny_checkpoint(dir, cfg, /*seed=*/1);
  cfg["num_hidden_layers"] = int64_t{1} << 40;  // would build 2^40 layer modules before comparing
  duo::io::write_json(dir / "config.json", cfg);
  const auto e = error_of([&] { duo::model::Model::load(dir); });
  EXPECT_NE(e.find("key 'num_hidden_layers' is 1099511627776 but the checkpoint's tensors hold only 2"), std::string::npos)
      << e;
}
