// The run commands' option surface (cli/run_options.h): defaults < --config YAML < --set < the
// flags given, the common and deploy-window keys flattened into a command's keys, flag aliases,
// the --help footer, and the helpers beside it.
#include <gtest/gtest.h>

#include <CLI/CLI.hpp>

#include <fstream>
#include <string>
#include <vector>

#include "cli/run_options.h"
#include "common/error_of.h"
#include "common/tiny_checkpoint.h"
#include "core/error.h"

namespace duo::cli {
namespace {

struct ToyOptions {
  std::string name = "a";
  int64_t steps = 10;
  std::vector<int64_t> sizes = {1, 2};
  bool fast = false;
  DeployWindowOptions window;
  CommonOptions common;

  template <class V>
  void visit(V& v) {
    v("name", name, "a name");
    v("steps", steps, "a count");
    v("sizes", sizes, "a list");
    v("fast", fast, "a switch");
    window.visit(v);
    common.visit(v);
  }
};

// Parses `toy <args>` and resolves; also returns the --help footer.
ToyOptions parse(const std::string& args, std::string* footer = nullptr) {
  CLI::App app{"test"};
  auto* cmd = app.add_subcommand("toy");
  OptionSurface<ToyOptions> s(cmd, "YAML options");
  s.option("--name", "name", &ToyOptions::name);
  s.option("--steps", "steps", &ToyOptions::steps);
  s.option("--sizes", "sizes", &ToyOptions::sizes)->delimiter(',');
  s.flag("--fast", "fast", &ToyOptions::fast);
  s.option("--deploy-sink,--sink", "sink", &ToyOptions::window, &DeployWindowOptions::deploy_sink);
  s.common_flags(&ToyOptions::common);
  app.parse("toy " + args, /*program_name_included=*/false);
  if (footer) *footer = cmd->get_footer();
  return s.resolve();
}

TEST(OptionSurface, DefaultsWhenNothingIsGiven) {
  std::string footer;
  auto o = parse("", &footer);
  EXPECT_EQ(o.name, "a");
  EXPECT_EQ(o.steps, 10);
  EXPECT_EQ(o.sizes, (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(o.window.window(), kDeployWindow);
  EXPECT_EQ(o.common.threads, 0);
  EXPECT_FALSE(o.common.quiet);
  // The footer lists every key, the flattened ones at the top level.
  for (const std::string& key : {std::string("name = \"a\""), std::string("steps = 10"),
                                 "deploy_sink = " + std::to_string(kDeployWindow.sink),
                                 "deploy_recent = " + std::to_string(kDeployWindow.recent), std::string("threads = 0"),
                                 std::string("quiet = false")})
    EXPECT_NE(footer.find(key), std::string::npos) << key << "\n" << footer;
}

TEST(OptionSurface, YamlThenSetThenGivenFlags) {
  const auto dir = testing::temp_dir("cli_run_options");
  std::ofstream(dir / "toy.yaml") << "name: y\nsteps: 20\nthreads: 3\nquiet: true\ndeploy_sink: 8\n";
  const std::string config = "--config " + (dir / "toy.yaml").string();
  auto o = parse(config);
  EXPECT_EQ(o.name, "y");
  EXPECT_EQ(o.steps, 20);
  EXPECT_EQ(o.common.threads, 3);
  EXPECT_TRUE(o.common.quiet);  // a flag not given leaves the YAML's value
  EXPECT_EQ(o.window.deploy_sink, 8);
  o = parse(config + " --set steps=30 --set sizes=[5,6] --set threads=4");
  EXPECT_EQ(o.steps, 30);
  EXPECT_EQ(o.sizes, (std::vector<int64_t>{5, 6}));
  EXPECT_EQ(o.common.threads, 4);
  o = parse(config + " --set steps=30 --steps 40 --threads 0 --sink 16 --sizes 7,8 --fast");
  EXPECT_EQ(o.steps, 40);  // a flag given wins, even when it names the default
  EXPECT_EQ(o.common.threads, 0);
  EXPECT_EQ(o.window.deploy_sink, 16);
  EXPECT_EQ(o.sizes, (std::vector<int64_t>{7, 8}));
  EXPECT_TRUE(o.fast);
  EXPECT_EQ(o.name, "y");
  EXPECT_EQ(parse("--deploy-sink 5").window.deploy_sink, 5);
}

TEST(OptionSurface, UnknownKeysAreErrors) {
  EXPECT_NE(testing::error_of([] { parse("--set sink=1"); }).find("unknown key 'sink'"), std::string::npos);
  EXPECT_NE(testing::error_of([] { parse("--set common.threads=1"); }).find("unknown key 'common'"), std::string::npos);
}

TEST(RunOptions, DeployWindowIsValidatedWithItsKeys) {
  DeployWindowOptions w;
  w.deploy_recent = 0;
  const auto msg = testing::error_of([&] { w.window(); });
  EXPECT_NE(msg.find("deploy_sink/deploy_recent"), std::string::npos) << msg;
  w.deploy_recent = 3;
  EXPECT_EQ(w.window(), (StreamWindow{kDeployWindow.sink, 3}));
}

TEST(RunOptions, ConfigBesideTheOutputAndRequiredKeys) {
  EXPECT_EQ(config_path_beside("out/run.json"), std::filesystem::path("out/run.config.yaml"));
  EXPECT_EQ(config_path_beside("run"), std::filesystem::path("run.config.yaml"));
  EXPECT_EQ(config_path_beside("run.config.yaml"), std::filesystem::path("run.config.config.yaml"));
  const auto msg = testing::error_of([] { require_key("", "decode", "model", "--model", "a model folder"); });
  EXPECT_NE(msg.find("decode: key 'model' is empty; expected a model folder (--model"), std::string::npos) << msg;
  EXPECT_NO_THROW(require_key("x", "decode", "model", "--model", "a model folder"));
}

}  // namespace
}  // namespace duo::cli
