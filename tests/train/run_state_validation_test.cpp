// load_run_state refuses a damaged checkpoint (NaN/Inf gates or moments, negative counters) at
// load, before a resumed run could blame the data for a non-finite loss.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <cmath>
#include <filesystem>
#include <limits>
#include <string>

#include "common/error_of.h"
#include "train/run_state.h"

namespace fs = std::filesystem;
using duo::testing::error_of;
using duo::train::GateRunState;

namespace {

GateRunState good_state() {
  GateRunState s;
  s.gates = at::full({2, 2}, 0.5, at::kFloat);
  s.adam.m[duo::train::kGatesName] = at::zeros({2, 2}, at::kFloat);
  s.adam.v[duo::train::kGatesName] = at::zeros({2, 2}, at::kFloat);
  s.history.n_layers = 2;
  s.history.n_kv_heads = 2;
  s.fingerprint = "test";
  return s;
}

fs::path state_path(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("duo_rsval_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  return dir / (name + ".h5");
}

}  // namespace

TEST(RunStateValidation, GoodStateLoads) {
  const auto p = state_path("good");
  duo::train::save_run_state(p, good_state());
  EXPECT_NO_THROW(duo::train::load_run_state(p));
}

TEST(RunStateValidation, NanGateRefusedAtLoad) {
  auto s = good_state();
  s.gates[1][0] = std::numeric_limits<float>::quiet_NaN();
  const auto p = state_path("nan_gate");
  duo::train::save_run_state(p, s);
  const auto e = error_of([&] { duo::train::load_run_state(p); });
  EXPECT_NE(e.find("dataset 'gates' holds 1 non-finite values (first at [1, 0])"), std::string::npos) << e;
  EXPECT_NE(e.find("damaged"), std::string::npos) << e;
}

TEST(RunStateValidation, InfMomentRefusedAtLoad) {
  auto s = good_state();
  s.adam.v[duo::train::kGatesName][0][1] = std::numeric_limits<float>::infinity();
  const auto p = state_path("inf_v");
  duo::train::save_run_state(p, s);
  const auto e = error_of([&] { duo::train::load_run_state(p); });
  EXPECT_NE(e.find("dataset 'adam_v' holds 1 non-finite values"), std::string::npos) << e;
  s = good_state();
  s.adam.v[duo::train::kGatesName][0][0] = -1.0f;
  duo::train::save_run_state(p, s);
  EXPECT_NE(error_of([&] { duo::train::load_run_state(p); }).find("negative"), std::string::npos);
}

// The history's gates are [steps, layers, kv_heads] of the state's gates: a history of another
// shape would write a history.h5 that disagrees with the run.
TEST(RunStateValidation, HistoryOfAnotherShapeRefusedAtLoad) {
  auto s = good_state();
  s.step = 1;
  s.history.n_layers = 1;
  s.history.n_kv_heads = 3;
  s.history.distill_loss = {0.5};
  s.history.reg_loss = {0.1};
  s.history.lr = {0.01};
  s.history.seq_len = {128};
  s.history.gates = {0.5f, 0.5f, 0.5f};
  const auto p = state_path("history_shape");
  duo::train::save_run_state(p, s);
  const auto e = error_of([&] { duo::train::load_run_state(p); });
  EXPECT_NE(e.find("the history's gates are [1, 1, 3] (3 values); expected [1, 2, 2]"), std::string::npos) << e;
  s.history.n_layers = 2;
  s.history.n_kv_heads = 2;
  s.history.gates = {0.5f, 0.5f, 0.5f, 0.5f};
  duo::train::save_run_state(p, s);
  EXPECT_NO_THROW(duo::train::load_run_state(p));
}
