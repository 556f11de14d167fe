// Haystack sources: builtin filler, text file, folder, JSON Lines plain and zstd (written here
// with libzstd, several frames), error messages; one-shot tokenization against a direct encode.
#include <gtest/gtest.h>
#include <zstd.h>

#include <filesystem>
#include <fstream>

#include "core/atomic_file.h"
#include "core/error.h"
#include "data_gen/haystack.h"
#include "data_gen/zstd_lines.h"
#include "test_util.h"
#include "common/error_of.h"

namespace fs = std::filesystem;
using namespace duo::data_gen;

namespace {

std::string zstd_frame(const std::string& s, int level = 3) {
  std::string out(ZSTD_compressBound(s.size()), '\0');
  size_t n = ZSTD_compress(out.data(), out.size(), s.data(), s.size(), level);
  EXPECT_FALSE(ZSTD_isError(n));
  out.resize(n);
  return out;
}

std::vector<std::string> all_docs(const std::string& spec, size_t limit = 1000) {
  auto src = open_haystack(spec);
  std::vector<std::string> docs;
  std::string d;
  while (docs.size() < limit && src->next(d)) docs.push_back(d);
  return docs;
}

using duo::testing::error_of;

}  // namespace

TEST(Haystack, BuiltinFillerRepeats) {
  auto docs = all_docs("builtin", 2);
  ASSERT_EQ(docs.size(), 2u);
  std::string f = kBuiltinFiller;
  EXPECT_EQ(f, "The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again.");
  EXPECT_EQ(docs[0].substr(0, f.size() + 1), f + " ");
  EXPECT_EQ(docs[1].substr(0, f.size() + 1), " " + f);  // copies stay space-separated across documents
  EXPECT_EQ(docs[0].size(), 64 * f.size() + 63);
}

TEST(Haystack, FileAndFolderInNameOrder) {
  auto dir = duo::testing::fresh_dir("folder");
  duo::core::write_file_atomic(dir / "b.txt", "second. ");
  duo::core::write_file_atomic(dir / "a.txt", "first. ");
  duo::core::write_file_atomic(dir / ".hidden", "never");
  auto docs = all_docs(dir.string());
  ASSERT_EQ(docs.size(), 2u);
  EXPECT_EQ(docs[0], "first. ");
  EXPECT_EQ(docs[1], "second. ");
  auto one = all_docs((dir / "b.txt").string());
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0], "second. ");
  fs::remove_all(dir);
}

TEST(Haystack, JsonLinesPlainAndZstd) {
  auto dir = duo::testing::fresh_dir("jsonl");
  std::string lines =
      "{\"text\": \"Once upon a time.\", \"id\": 1}\n"
      "\n"
      "{\"id\": 2, \"text\": \"caf\\u00e9 \\\"quoted\\\"\\nnext line\"}\r\n"
      "{\"text\": \"last, no newline\"}";
  duo::core::write_file_atomic(dir / "books.jsonl", lines);
  // Two zstd frames back to back, split in the middle of a line: the reader must join them.
  std::string z = zstd_frame(lines.substr(0, 20)) + zstd_frame(lines.substr(20), 19);
  duo::core::write_file_atomic(dir / "books.jsonl.zst", z);
  for (const char* name : {"books.jsonl", "books.jsonl.zst"}) {
    auto docs = all_docs((dir / name).string());
    ASSERT_EQ(docs.size(), 3u) << name;
    EXPECT_EQ(docs[0], "Once upon a time.");
    EXPECT_EQ(docs[1], "caf\xc3\xa9 \"quoted\"\nnext line");
    EXPECT_EQ(docs[2], "last, no newline");
  }
  fs::remove_all(dir);
}

TEST(Haystack, LongLinesAcrossReadChunks) {
  auto dir = duo::testing::fresh_dir("long");
  std::string big(700000, 'x');
  std::string content = "{\"text\": \"" + big + "\"}\n{\"text\": \"y\"}\n";
  duo::core::write_file_atomic(dir / "big.jsonl.zst", zstd_frame(content));
  auto docs = all_docs((dir / "big.jsonl.zst").string());
  ASSERT_EQ(docs.size(), 2u);
  EXPECT_EQ(docs[0], big);
  EXPECT_EQ(docs[1], "y");
  fs::remove_all(dir);
}

TEST(Haystack, ClearErrors) {
  auto dir = duo::testing::fresh_dir("errors");
  EXPECT_NE(error_of([&] { open_haystack((dir / "nope.txt").string()); }).find("does not exist"), std::string::npos);
  fs::create_directories(dir / "empty");
  EXPECT_NE(error_of([&] { open_haystack((dir / "empty").string()); }).find("holds no files"), std::string::npos);
  duo::core::write_file_atomic(dir / "bad.jsonl", "{\"text\": \"ok\"}\n{\"body\": \"no text\"}\n");
  std::string e = error_of([&] { all_docs((dir / "bad.jsonl").string()); });
  EXPECT_NE(e.find("bad.jsonl line 2: expected a string field 'text'"), std::string::npos) << e;
  duo::core::write_file_atomic(dir / "broken.jsonl", "{\"text\": \n");
  e = error_of([&] { all_docs((dir / "broken.jsonl").string()); });
  EXPECT_NE(e.find("broken.jsonl line 1: expected a JSON object"), std::string::npos) << e;
  std::string z = zstd_frame("{\"text\": \"abc\"}\n");
  duo::core::write_file_atomic(dir / "cut.jsonl.zst", z.substr(0, z.size() - 3));
  e = error_of([&] { all_docs((dir / "cut.jsonl.zst").string()); });
  EXPECT_NE(e.find("cut.jsonl.zst"), std::string::npos) << e;
  fs::remove_all(dir);
}

TEST(Haystack, TokenizedOnceAsAWhole) {
  DUO_NEED_LLAMA3();
  auto dir = duo::testing::fresh_dir("tokens");
  std::string text;
  for (int i = 0; i < 400; ++i) text += "Sentence number " + std::to_string(i) + " is here. ";
  duo::core::write_file_atomic(dir / "a.txt", text);
  auto direct = tok.encode(text, false);
  auto got = tokenize_haystack(tok, (dir / "a.txt").string(), 1000);
  ASSERT_EQ(got.size(), 1000u);
  EXPECT_TRUE(std::equal(got.begin(), got.end(), direct.begin()));
  // Shorter than wanted: the text is repeated.
  auto rep = tokenize_haystack(tok, (dir / "a.txt").string(), static_cast<int64_t>(direct.size()) * 3);
  EXPECT_EQ(rep.size(), direct.size() * 3);
  EXPECT_TRUE(std::equal(direct.begin(), direct.begin() + 100, rep.begin()));
  // Builtin: the filler's tokens.
  auto b = tokenize_haystack(tok, "builtin", 300);
  EXPECT_EQ(b.size(), 300u);
  EXPECT_EQ(tok.decode(std::vector<int32_t>(b.begin(), b.begin() + 8)).substr(0, 19), "The grass is green.");
  // Empty sources are errors.
  duo::core::write_file_atomic(dir / "empty.txt", "");
  EXPECT_NE(error_of([&] { tokenize_haystack(tok, (dir / "empty.txt").string(), 100); }).find("is empty"),
            std::string::npos);
  duo::core::write_file_atomic(dir / "empty.jsonl", "\n\n");
  EXPECT_NE(error_of([&] { tokenize_haystack(tok, (dir / "empty.jsonl").string(), 100); }).find("is empty"),
            std::string::npos);
  fs::remove_all(dir);
}
