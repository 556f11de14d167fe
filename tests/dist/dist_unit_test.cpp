// The pieces of multi-process training, in one process: launcher environments (torchrun, Slurm,
// Open MPI) read into a DistEnv; the batch split and the fixed-order reduction against a plain
// sum; a process group of ranks on threads over loopback Gloo (allgather, broadcast, a failure on
// one rank reaching all); batch_size 2 against a step computed by hand; and ranks on threads
// training with run_training, equal bit for bit to one process.
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "common/free_port.h"
#include "core/error.h"
#include "core/threads.h"
#include "dist/env.h"
#include "dist/group.h"
#include "model/model.h"
#include "optim/adamw.h"
#include "optim/schedule.h"
#include "train/batch.h"
#include "train/trainer.h"
#include "train/two_way.h"

namespace fs = std::filesystem;
using namespace duo;

namespace {

dist::DistEnv env_of(const std::map<std::string, std::string>& vars, const std::string& addr = "", int port = 0) {
  return dist::detect_env(
      [&](const char* name) -> const char* {
        auto it = vars.find(name);
        return it == vars.end() ? nullptr : it->second.c_str();
      },
      addr, port);
}

std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

using duo::testing::free_port;

// Runs fn(rank, group) on `world` threads, each rank with its own Group over 127.0.0.1; returns
// each rank's error message ("" when it returned).
std::vector<std::string> on_ranks(int world, double timeout_s,
                                  const std::function<void(int, const dist::Group&)>& fn) {
  const int port = free_port();
  std::vector<std::string> errors(world);
  std::vector<std::thread> threads;
  for (int r = 0; r < world; ++r) {
    threads.emplace_back([&, r] {
      errors[r] = error_of([&] {
        core::set_threads(1);  // per thread (OpenMP): the same as the one-process reference
        dist::DistEnv e;
        e.rank = r;
        e.world_size = world;
        e.master_addr = "127.0.0.1";
        e.master_port = port;
        dist::DistOptions o;
        o.dist_timeout = timeout_s;
        dist::Group g(e, o);
        fn(r, g);
      });
    });
  }
  for (auto& t : threads) t.join();
  return errors;
}

}  // namespace

TEST(DistEnv, TorchrunSlurmOpenMpiAndNone) {
  auto e = env_of({});
  EXPECT_FALSE(e.distributed());
  EXPECT_EQ(e.source, "none");
  e = env_of({{"RANK", "3"}, {"WORLD_SIZE", "4"}, {"LOCAL_RANK", "1"}, {"LOCAL_WORLD_SIZE", "2"},
              {"MASTER_ADDR", "node0"}, {"MASTER_PORT", "1234"}});
  EXPECT_EQ(e.source, "torchrun");
  EXPECT_EQ(e.rank, 3);
  EXPECT_EQ(e.world_size, 4);
  EXPECT_EQ(e.local_rank, 1);
  EXPECT_EQ(e.local_world_size, 2);
  EXPECT_EQ(e.master_addr, "node0");
  EXPECT_EQ(e.master_port, 1234);
  // Slurm: the address from --master-addr, the port defaults to torchrun's; "2(x3)" counts read.
  e = env_of({{"SLURM_PROCID", "5"}, {"SLURM_NTASKS", "6"}, {"SLURM_LOCALID", "1"}, {"SLURM_NTASKS_PER_NODE", "2(x3)"}},
             "head", 0);
  EXPECT_EQ(e.source, "slurm");
  EXPECT_EQ(e.rank, 5);
  EXPECT_EQ(e.world_size, 6);
  EXPECT_EQ(e.local_world_size, 2);
  EXPECT_EQ(e.master_addr, "head");
  EXPECT_EQ(e.master_port, dist::kDefaultMasterPort);
  // Open MPI wins over Slurm (mpirun inside an allocation); MASTER_ADDR wins over the option.
  e = env_of({{"OMPI_COMM_WORLD_RANK", "1"}, {"OMPI_COMM_WORLD_SIZE", "2"}, {"OMPI_COMM_WORLD_LOCAL_RANK", "1"},
              {"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "1"}, {"MASTER_ADDR", "10.0.0.1"}},
             "ignored", 7000);
  EXPECT_EQ(e.source, "openmpi");
  EXPECT_EQ(e.rank, 1);
  EXPECT_EQ(e.master_addr, "10.0.0.1");
  EXPECT_EQ(e.master_port, 7000);
  // One task under Slurm is one process, no address needed.
  e = env_of({{"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "1"}});
  EXPECT_FALSE(e.distributed());
}

TEST(DistEnv, BadValuesNameTheVariable) {
  EXPECT_NE(error_of([] { env_of({{"RANK", "x"}, {"WORLD_SIZE", "2"}}); }).find("RANK='x'"), std::string::npos);
  EXPECT_NE(error_of([] { env_of({{"RANK", "2"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "h"}}); })
                .find("expected 0 <= rank < 2"),
            std::string::npos);
  EXPECT_NE(error_of([] { env_of({{"RANK", "0"}}); }).find("WORLD_SIZE must both be set"), std::string::npos);
  EXPECT_NE(error_of([] { env_of({{"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "2"}}); }).find("--master-addr"),
            std::string::npos);
  EXPECT_NE(error_of([] { env_of({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "h"}, {"MASTER_PORT", "70000"}}); })
                .find("expected 1..65535"),
            std::string::npos);
  EXPECT_NE(error_of([] { dist::check_backend("nccl"); }).find("no NCCL process group"), std::string::npos);
  EXPECT_NE(error_of([] { dist::check_backend("mpi"); }).find("expected 'gloo'"), std::string::npos);
  EXPECT_EQ(error_of([] { dist::check_backend("gloo"); }), "");
}

TEST(Batch, PositionsCoverTheBatchOnce) {
  for (int64_t b : {1, 2, 3, 4, 7}) {
    for (int w : {1, 2, 3, 4, 8}) {
      std::vector<int> seen(b, 0);
      for (int r = 0; r < w; ++r) {
        const auto ks = train::rank_positions(b, r, w);
        EXPECT_LE(static_cast<int64_t>(ks.size()), train::slots_per_rank(b, w));
        for (auto k : ks) seen[k] += 1;
      }
      for (int64_t k = 0; k < b; ++k) EXPECT_EQ(seen[k], 1) << "b " << b << " w " << w;
    }
  }
}

// The gathered rows of a batch as `world` ranks would send them (padding rows filled with junk
// that must be ignored).
at::Tensor gathered_rows(const std::vector<at::Tensor>& rows, int world) {
  const int64_t b = static_cast<int64_t>(rows.size()), slots = train::slots_per_rank(b, world);
  auto out = at::full({world * slots, rows[0].size(1)}, 1e30, at::kDouble);
  for (int r = 0; r < world; ++r) {
    const auto ks = train::rank_positions(b, r, world);
    for (size_t j = 0; j < ks.size(); ++j) out[r * slots + static_cast<int64_t>(j)].copy_(rows[ks[j]][0]);
  }
  return out;
}

TEST(Batch, CombineIsAPlainOrderedMeanForEveryWorldSize) {
  const int64_t L = 3, H = 2;
  for (int64_t b : {1, 2, 3, 5}) {
    std::vector<at::Tensor> rows;
    std::vector<train::StepResult> rs;
    for (int64_t k = 0; k < b; ++k) {
      train::StepResult r;
      r.grad = at::randn({L, H}, at::kFloat) * std::pow(10.0, static_cast<double>(k % 3) * 3);  // rounding matters
      r.distill = 0.1 * static_cast<double>(k + 1) / 3.0;
      r.reg = 0.75;
      r.seq_len = 10 + k;
      r.n_labels = 2;
      rs.push_back(r);
      rows.push_back(train::sample_row(r));
    }
    // Plain reference: left fold in batch order in float64, divided by b.
    std::vector<double> ref(L * H, 0.0);
    double distill = 0;
    for (int64_t k = 0; k < b; ++k) {
      auto g = rs[k].grad.to(at::kDouble).contiguous();
      for (int64_t i = 0; i < L * H; ++i) ref[i] = k == 0 ? g.data_ptr<double>()[i] : ref[i] + g.data_ptr<double>()[i];
      distill = k == 0 ? rs[k].distill : distill + rs[k].distill;
    }
    auto ref_t = at::tensor(ref, at::kDouble).div(static_cast<double>(b)).to(at::kFloat).reshape({L, H});
    for (int w : {1, 2, 3, 4}) {
      auto c = train::combine_rows(gathered_rows(rows, w), b, w, L, H, 0.5);
      EXPECT_TRUE(at::equal(c.grad, ref_t)) << "b " << b << " world " << w;
      EXPECT_EQ(c.distill, distill / static_cast<double>(b));
      EXPECT_EQ(c.reg, 0.75);
      EXPECT_EQ(c.loss, c.distill + 0.5 * 0.75);
      EXPECT_EQ(c.n_labels, 2 * b);
    }
    if (b == 1) {
      EXPECT_TRUE(at::equal(train::combine_rows(gathered_rows(rows, 1), 1, 1, L, H, 0.5).grad, rs[0].grad));
    }
  }
}

TEST(Group, AllgatherBroadcastAndOneFailureStopsAll) {
  const auto t0 = std::chrono::steady_clock::now();
  auto errors = on_ranks(3, 20.0, [](int r, const dist::Group& g) {
    EXPECT_EQ(g.rank(), r);
    EXPECT_EQ(g.size(), 3);
    auto rows = at::full({2, 3}, static_cast<double>(r), at::kDouble);
    rows[1][2] = 0.1 * r;
    auto all = g.allgather_rows(rows, "test");
    ASSERT_EQ(all.sizes(), (at::IntArrayRef{6, 3}));
    for (int q = 0; q < 3; ++q) {
      EXPECT_EQ(all[2 * q][0].item<double>(), q);
      EXPECT_EQ(all[2 * q + 1][2].item<double>(), 0.1 * q);
    }
    auto t = at::full({4}, static_cast<float>(r + 7), at::kFloat);
    g.broadcast(t, "test");
    EXPECT_TRUE(at::equal(t, at::full({4}, 7.0f, at::kFloat)));
    g.run_checked("all well", [] {});
    g.run_checked("step 9", [r] {
      if (r == 1) fail("sample 12: token 3 has id 999; expected an id in [0, 64)");
    });
  });
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(15));
  EXPECT_EQ(errors[1], "rank 1 of 3: sample 12: token 3 has id 999; expected an id in [0, 64)");
  for (int r : {0, 2})
    EXPECT_EQ(errors[r], "step 9: rank 1 of 3 failed: sample 12: token 3 has id 999; expected an id in [0, 64) (rank " +
                             std::to_string(r) + " stopped too)");
}

TEST(Group, RankThatStopsAnsweringTimesOut) {
  // Rank 1 hangs (sleeps) past dist_timeout before a collective: rank 0 gives up after about
  // dist_timeout, naming itself and the timeout, instead of waiting forever.
  std::vector<double> waited(2, 0.0);
  // (4 s, not less: rendezvous on a loaded 2-core machine can take a second or two.)
  auto errors = on_ranks(2, 4.0, [&](int r, const dist::Group& g) {
    g.allgather_rows(at::zeros({1, 1}, at::kDouble), "warm-up");
    if (r == 1) std::this_thread::sleep_for(std::chrono::seconds(9));
    const auto t0 = std::chrono::steady_clock::now();
    try {
      g.allgather_rows(at::zeros({1, 1}, at::kDouble), "step 7: gathering gradients");
    } catch (...) {
      waited[r] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      throw;
    }
  });
  EXPECT_NE(errors[0].find("step 7: gathering gradients: rank 0 of 2 lost contact with the other ranks"),
            std::string::npos) << errors[0];
  EXPECT_NE(errors[0].find("dist_timeout (4 s)"), std::string::npos) << errors[0];
  EXPECT_GT(waited[0], 3.0);
  EXPECT_LT(waited[0], 8.5);
  EXPECT_NE(errors[1], "");  // rank 1 comes back to a group that has given up
}

TEST(Group, RankThatNeverComesTimesOut) {
  // Rank 1 of 2 never starts: rank 0 gives up after dist_timeout with a message saying so.
  dist::DistEnv e;
  e.rank = 0;
  e.world_size = 2;
  e.master_addr = "127.0.0.1";
  e.master_port = free_port();
  dist::DistOptions o;
  o.dist_timeout = 1.0;
  const auto t0 = std::chrono::steady_clock::now();
  const std::string err = error_of([&] { dist::Group g(e, o); });
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(10));
  EXPECT_NE(err.find("rank 0 of 2: cannot join the process group of 2 processes"), std::string::npos) << err;
}

namespace {

model::Model tiny_model() {
  nlohmann::json j = {{"model_type", "llama"},        {"vocab_size", 64},          {"hidden_size", 32},
                      {"intermediate_size", 48},      {"num_hidden_layers", 2},    {"num_attention_heads", 4},
                      {"num_key_value_heads", 2},     {"rms_norm_eps", 1e-5},      {"rope_theta", 10000.0},
                      {"max_position_embeddings", 512}, {"tie_word_embeddings", false}};
  auto m = model::Model::random(model::ModelConfig::from_json(j, "tiny"), 1);
  at::NoGradGuard g;
  for (auto& [name, w] : m.named_weights())
    if (name.find("q_proj") != std::string::npos || name.find("k_proj") != std::string::npos) w.mul_(25.0);
  return m;
}

class MemorySamples : public train::SampleSource {
 public:
  explicit MemorySamples(int n) {
    for (int i = 0; i < n; ++i) {
      auto gen = at::make_generator<at::CPUGeneratorImpl>(100 + i);
      train::TrainSample s;
      const int64_t t = 40 + 4 * i;
      s.ids = at::randint(3, 64, {t}, gen, at::kLong);
      s.label_mask = at::zeros({t}, at::kBool);
      s.label_mask.narrow(0, t - 6, 6).fill_(true);
      s_.push_back(s);
    }
  }
  int64_t size() const override { return static_cast<int64_t>(s_.size()); }
  train::TrainSample get(int64_t i) const override { return s_[i]; }
  std::string describe() const override { return "memory"; }

 private:
  std::vector<train::TrainSample> s_;
};

train::TrainOptions small_options(const fs::path& out, int64_t batch) {
  train::TrainOptions o;
  o.model = "tiny";
  o.dataset = "memory";
  o.train_sink = 4;
  o.train_recent = 8;
  o.steps = 3;
  o.lr = 0.05;
  o.shuffle = false;
  o.batch_size = batch;
  o.checkpoint_every = 0;
  o.output_dir = out.string();
  return o;
}

fs::path fresh_dir(const std::string& name) {
  auto d = fs::temp_directory_path() / ("duo_dist_test_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(d);
  return d;
}

}  // namespace

// batch_size 2 on one process: each step is AdamW on the mean of its two samples' gradients,
// computed here by hand from two_way_step (2 steps: samples 0, 1 then 2, 3; shuffle off).
TEST(BatchTraining, TwoStepsOfTwoSamplesEqualTheMeanGradientSteps) {
  core::set_threads(1);
  auto m = tiny_model();
  MemorySamples data(4);
  auto dir = fresh_dir("by_hand");
  auto o = small_options(dir, 2);
  o.steps = 2;
  auto r = train::run_training(o, m, data, false, "", /*quiet=*/true);
  train::TwoWayConfig tw;
  tw.window = StreamWindow(4, 8);
  tw.reg_weight = o.reg_weight;
  tw.recompute = o.recompute;
  auto mean = at::full({2, 2}, 1.0f, at::kFloat), first = mean.clone();
  optim::AdamW adam_mean({{"gates", mean}}, optim::AdamWConfig{}), adam_first({{"gates", first}}, optim::AdamWConfig{});
  for (int64_t s = 0; s < 2; ++s) {
    auto grad = [&](const at::Tensor& gates, int64_t i) {
      auto x = data.get(i);
      return train::two_way_step(m, x.ids, x.label_mask, gates, tw).grad.to(at::kDouble);
    };
    mean.clamp_(0.0, 1.0);
    first.clamp_(0.0, 1.0);
    const double lr = optim::duo_attention_lr(s, 2, o.lr);
    adam_mean.step(lr, {((grad(mean, 2 * s) + grad(mean, 2 * s + 1)) / 2.0).to(at::kFloat)});
    adam_first.step(lr, {grad(first, 2 * s).to(at::kFloat)});
  }
  EXPECT_TRUE(at::equal(r.gates, mean)) << r.gates << mean;
  // And not what the first sample of each step alone gives (the comparison can fail).
  EXPECT_FALSE(at::equal(r.gates, first)) << first;
  fs::remove_all(dir);
}

// Ranks on threads (Gloo over loopback) running run_training: for batch 3 (uneven over 2 ranks)
// the gates of every rank equal one process's bit for bit; only rank 0 writes the run folder.
TEST(BatchTraining, RanksOnThreadsEqualOneProcess) {
  core::set_threads(1);
  auto m = tiny_model();
  MemorySamples data(5);
  auto dir1 = fresh_dir("one"), dir2 = fresh_dir("two");
  auto ref = train::run_training(small_options(dir1, 3), m, data, false, "", /*quiet=*/true);
  std::vector<at::Tensor> gates(2);
  auto errors = on_ranks(2, 60.0, [&](int r, const dist::Group& g) {
    gates[r] = train::run_training(small_options(dir2, 3), m, data, false, "", /*quiet=*/true, g).gates;
  });
  ASSERT_EQ(errors, (std::vector<std::string>{"", ""}));
  EXPECT_TRUE(at::equal(gates[0], ref.gates)) << gates[0] << ref.gates;
  EXPECT_TRUE(at::equal(gates[1], ref.gates));
  EXPECT_TRUE(fs::exists(dir2 / "full_attention_heads.tsv"));
  // Batch 3 differs from batch 1 (the comparison can fail).
  auto b1 = train::run_training(small_options(fresh_dir("b1"), 1), m, data, false, "", /*quiet=*/true);
  EXPECT_FALSE(at::equal(b1.gates, ref.gates));
  for (auto& d : {dir1, dir2, fresh_dir("b1")}) fs::remove_all(d);
}
