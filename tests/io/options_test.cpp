// Task options: defaults < YAML < --set, unknown keys and wrong types rejected with messages that
// name the source and the key, --help lines, and the resolved YAML loading back identically.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <fstream>

#include "core/error.h"
#include "io/options.h"
#include "common/error_of.h"

namespace fs = std::filesystem;

namespace {

struct DataOptions {
  int64_t num_passkeys = 10;
  std::string haystack = "builtin";
  template <class V>
  void visit(V& v) {
    v("num_passkeys", num_passkeys, "needles per sample");
    v("haystack", haystack, "builtin | file | dir | .jsonl[.zst]");
  }
  bool operator==(const DataOptions& o) const { return num_passkeys == o.num_passkeys && haystack == o.haystack; }
};

struct EmptyOptions {
  template <class V>
  void visit(V&) {}
};

struct TrainOptions {
  std::string model;
  double lr = 0.02;
  bool resume = false;
  int steps = 2000;
  std::vector<int64_t> contexts{1000, 32000};
  std::vector<double> depths{0.05, 0.95};
  std::vector<std::string> tags{"a b", "c:d"};
  DataOptions data;
  EmptyOptions empty;
  template <class V>
  void visit(V& v) {
    v("model", model, "model directory");
    v("lr", lr, "peak learning rate");
    v("resume", resume, "continue from the last checkpoint");
    v("steps", steps, "optimizer steps");
    v("contexts", contexts, "context lengths (tokens)");
    v("depths", depths, "needle depths");
    v("tags", tags, "");
    v.section("data", data, "data generation");
    v.section("empty", empty, "");
  }
  bool operator==(const TrainOptions& o) const {
    return model == o.model && lr == o.lr && resume == o.resume && steps == o.steps && contexts == o.contexts &&
           depths == o.depths && tags == o.tags && data == o.data;
  }
};

using duo::testing::error_of;

#define EXPECT_HAS(msg, fragment) EXPECT_NE((msg).find(fragment), std::string::npos) << (msg)

}  // namespace

TEST(Options, YamlThenOverrides) {
  TrainOptions o;
  duo::io::load_yaml_options_string(o,
                                    "model: models/tiny\n"
                                    "lr: 1e-3   # comment\n"
                                    "resume: yes\n"
                                    "contexts: [1000, 2000, 4000]\n"
                                    "data:\n"
                                    "  num_passkeys: 5\n",
                                    "train.yaml");
  EXPECT_EQ(o.model, "models/tiny");
  EXPECT_DOUBLE_EQ(o.lr, 1e-3);
  EXPECT_TRUE(o.resume);
  EXPECT_EQ(o.contexts, (std::vector<int64_t>{1000, 2000, 4000}));
  EXPECT_EQ(o.data.num_passkeys, 5);
  EXPECT_EQ(o.data.haystack, "builtin");  // untouched default
  EXPECT_EQ(o.steps, 2000);

  duo::io::apply_overrides(o, {"lr=0.01", "data.num_passkeys=7", "contexts=[10,20]", "depths=0.1, 0.5,0.9",
                               "data.haystack=essays/", "tags=", "steps=+3", "resume=false"});
  EXPECT_DOUBLE_EQ(o.lr, 0.01);
  EXPECT_EQ(o.data.num_passkeys, 7);
  EXPECT_EQ(o.contexts, (std::vector<int64_t>{10, 20}));
  EXPECT_EQ(o.depths, (std::vector<double>{0.1, 0.5, 0.9}));
  EXPECT_EQ(o.data.haystack, "essays/");
  EXPECT_TRUE(o.tags.empty());
  EXPECT_EQ(o.steps, 3);
  EXPECT_FALSE(o.resume);
  duo::io::apply_overrides(o, {"contexts=1000,2000", "model=a=b"});
  EXPECT_EQ(o.contexts, (std::vector<int64_t>{1000, 2000}));
  EXPECT_EQ(o.model, "a=b");  // split at the first '='

  // Empty YAML and null sections change nothing.
  TrainOptions before = o;
  duo::io::load_yaml_options_string(o, "", "empty.yaml");
  duo::io::load_yaml_options_string(o, "# only a comment\n", "c.yaml");
  duo::io::load_yaml_options_string(o, "data:\n", "n.yaml");
  EXPECT_TRUE(o == before);
}

TEST(Options, FromFileAndResolve) {
  fs::path d = fs::temp_directory_path() / ("duo_io_opt_" + std::to_string(::getpid()));
  fs::create_directories(d);
  { std::ofstream(d / "run.yaml") << "lr: 0.5\ndata: {haystack: file}\n"; }
  TrainOptions o;
  duo::io::resolve_options(o, d / "run.yaml", {"lr=0.25"});
  EXPECT_DOUBLE_EQ(o.lr, 0.25);  // flags win over YAML
  EXPECT_EQ(o.data.haystack, "file");
  TrainOptions p;
  duo::io::resolve_options(p, "", {});
  EXPECT_TRUE(p == TrainOptions());
  std::string msg = error_of([&] { duo::io::load_yaml_options(p, d / "missing.yaml"); });
  EXPECT_HAS(msg, "missing.yaml: cannot open");
  duo::io::write_options_yaml(d / "out" / "config.yaml", o);
  TrainOptions q;
  duo::io::load_yaml_options(q, d / "out" / "config.yaml");
  EXPECT_TRUE(q == o);
  fs::remove_all(d);
}

TEST(Options, UnknownKeysAndWrongTypes) {
  TrainOptions o;
  const TrainOptions defaults;
  std::string msg = error_of([&] { duo::io::load_yaml_options_string(o, "data:\n  foo: 1\n", "t.yaml"); });
  EXPECT_EQ(msg, "t.yaml: unknown key 'data.foo'; expected one of: num_passkeys, haystack");
  msg = error_of([&] { duo::io::load_yaml_options_string(o, "lrr: 1\n", "t.yaml"); });
  EXPECT_EQ(msg, "t.yaml: unknown key 'lrr'; expected one of: model, lr, resume, steps, contexts, depths, tags, data, "
                 "empty");
  msg = error_of([&] { duo::io::load_yaml_options_string(o, "lr: abc\n", "t.yaml"); });
  EXPECT_EQ(msg, "t.yaml: key 'lr' expects a number; got 'abc'");
  msg = error_of([&] { duo::io::load_yaml_options_string(o, "lr: .nan\n", "t.yaml"); });
  EXPECT_HAS(msg, "key 'lr' expects a number; got '.nan'");
  msg = error_of([&] { duo::io::load_yaml_options_string(o, "lr: nan\n", "t.yaml"); });
  EXPECT_HAS(msg, "key 'lr' expects a finite number; got 'nan'");
  msg = error_of([&] { duo::io::load_yaml_options_string(o, "lr: inf\n", "t.yaml"); });
  EXPECT_HAS(msg, "expects a finite number");
  msg = error_of([&] { duo::io::load_yaml_options_string(o, "lr: 1e999\n", "t.yaml"); });
  EXPECT_HAS(msg, "key 'lr' expects a number; got '1e999'");
  msg = error_of([&] { duo::io::load_yaml_options_string(o, "steps: 2.5\n", "t.yaml"); });
  EXPECT_EQ(msg, "t.yaml: key 'steps' expects an integer; got '2.5'");
  msg = error_of([&] { duo::io::load_yaml_options_string(o, "steps: 99999999999\n", "t.yaml"); });
  EXPECT_HAS(msg, "key 'steps' expects an integer in [");
  msg = error_of([&] { duo::io::load_yaml_options_string(o, "resume: maybe\n", "t.yaml"); });
  EXPECT_EQ(msg, "t.yaml: key 'resume' expects true or false; got 'maybe'");
  msg = error_of([&] { duo::io::load_yaml_options_string(o, "contexts: [1, x]\n", "t.yaml"); });
  EXPECT_EQ(msg, "t.yaml: key 'contexts[1]' expects an integer; got 'x'");
  msg = error_of([&] { duo::io::load_yaml_options_string(o, "contexts: {a: 1}\n", "t.yaml"); });
  EXPECT_EQ(msg, "t.yaml: key 'contexts' expects a list of integers; got a mapping");
  msg = error_of([&] { duo::io::load_yaml_options_string(o, "data: 5\n", "t.yaml"); });
  EXPECT_EQ(msg, "t.yaml: key 'data' expects a mapping; got '5'");
  msg = error_of([&] { duo::io::load_yaml_options_string(o, "lr: [1]\n", "t.yaml"); });
  EXPECT_EQ(msg, "t.yaml: key 'lr' expects a number; got a list");
  msg = error_of([&] { duo::io::load_yaml_options_string(o, "- 1\n- 2\n", "t.yaml"); });
  EXPECT_HAS(msg, "t.yaml: expected a mapping of options");
  msg = error_of([&] { duo::io::load_yaml_options_string(o, "lr: 1\nlr: 2\n", "t.yaml"); });
  EXPECT_HAS(msg, "t.yaml: key 'lr' appears twice");
  msg = error_of([&] { duo::io::load_yaml_options_string(o, "lr: [1, 2\n", "t.yaml"); });
  EXPECT_HAS(msg, "t.yaml: invalid YAML at line");
  // Nothing was applied by a failing load, even the valid keys before the bad one.
  msg = error_of([&] { duo::io::load_yaml_options_string(o, "model: m\nlr: abc\n", "t.yaml"); });
  EXPECT_TRUE(o == defaults);

  msg = error_of([&] { duo::io::apply_overrides(o, {"data.foo=1"}); });
  EXPECT_EQ(msg, "--set: unknown key 'data.foo'; expected one of: num_passkeys, haystack");
  msg = error_of([&] { duo::io::apply_overrides(o, {"lr=abc"}); });
  EXPECT_EQ(msg, "--set: key 'lr' expects a number; got 'abc'");
  msg = error_of([&] { duo::io::apply_overrides(o, {"lr"}); });
  EXPECT_EQ(msg, "--set: expected key=value; got 'lr'");
  msg = error_of([&] { duo::io::apply_overrides(o, {"data..x=1"}); });
  EXPECT_HAS(msg, "--set: malformed key 'data..x'");
  msg = error_of([&] { duo::io::apply_overrides(o, {"contexts=[1,2"}); });
  EXPECT_HAS(msg, "invalid YAML");
  msg = error_of([&] { duo::io::apply_overrides(o, {"lr=0.5", "steps=x"}); });
  EXPECT_TRUE(o == defaults);  // all or nothing
}

TEST(Options, Help) {
  TrainOptions o;
  const std::string help = duo::io::options_help(o);
  EXPECT_HAS(help, "  data.num_passkeys = 10");
  EXPECT_HAS(help, "  lr = 0.02 ");
  EXPECT_HAS(help, "  contexts = [1000, 32000]");
  EXPECT_HAS(help, "  [data]");
  // Help texts line up in one column.
  const size_t a = help.find("needles per sample");
  const size_t b = help.find("peak learning rate");
  ASSERT_NE(a, std::string::npos);
  ASSERT_NE(b, std::string::npos);
  EXPECT_EQ(a - help.rfind('\n', a), b - help.rfind('\n', b));
  // Values shown are the current ones.
  duo::io::apply_overrides(o, {"data.num_passkeys=3"});
  EXPECT_HAS(duo::io::options_help(o), "data.num_passkeys = 3 ");
}

TEST(Options, Json) {
  TrainOptions o;
  nlohmann::json j = duo::io::options_to_json(o);
  EXPECT_EQ(j["lr"], 0.02);
  EXPECT_EQ(j["steps"], 2000);
  EXPECT_EQ(j["resume"], false);
  EXPECT_EQ(j["contexts"], nlohmann::json({1000, 32000}));
  EXPECT_EQ(j["data"]["num_passkeys"], 10);
  EXPECT_EQ(j["data"]["haystack"], "builtin");
  EXPECT_TRUE(j["empty"].is_object());
}

TEST(Options, YamlRoundTrip) {
  TrainOptions o;
  const std::string yaml = duo::io::options_to_yaml(o);
  EXPECT_HAS(yaml, "lr: 0.02  # peak learning rate\n");
  EXPECT_HAS(yaml, "data:  # data generation\n  num_passkeys: 10  # needles per sample\n");
  EXPECT_HAS(yaml, "empty: {}\n");
  TrainOptions back;
  back.lr = 99;
  back.data.num_passkeys = 1;
  duo::io::load_yaml_options_string(back, yaml, "resolved.yaml");
  EXPECT_TRUE(back == o) << yaml;

  // Awkward values survive too.
  TrainOptions odd;
  odd.model = "yes";  // would read as a bool if unquoted
  odd.data.haystack = "a: b # not a comment\n\t\"quoted\" ü \\";
  odd.lr = 0.1 + 0.2;
  odd.depths = {1e-300, -2.5, 3.0, 1.0 / 3.0};
  odd.contexts = {};
  odd.tags = {"", "x, y", "null", "~", "[1]"};
  odd.steps = -7;
  odd.resume = true;
  const std::string odd_yaml = duo::io::options_to_yaml(odd);
  TrainOptions odd_back;
  duo::io::load_yaml_options_string(odd_back, odd_yaml, "odd.yaml");
  EXPECT_TRUE(odd_back == odd) << odd_yaml;
  EXPECT_EQ(odd_back.lr, 0.1 + 0.2);
  EXPECT_EQ(duo::io::options_to_yaml(odd_back), odd_yaml);
}
