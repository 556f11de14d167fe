// JSON files: parse errors name the file and the position; writes are indented and atomic.
#include <gtest/gtest.h>
#include <unistd.h>

#include "core/atomic_file.h"
#include "core/error.h"
#include "io/json.h"

namespace fs = std::filesystem;

TEST(Json, ReadWriteAndErrors) {
  fs::path d = fs::temp_directory_path() / ("duo_io_json_" + std::to_string(::getpid()));
  fs::remove_all(d);
  nlohmann::json j = {{"b", {1, 2}}, {"a", "x"}};
  duo::io::write_json(d / "sub" / "out.json", j);
  EXPECT_EQ(duo::core::read_file(d / "sub" / "out.json"), "{\n  \"a\": \"x\",\n  \"b\": [\n    1,\n    2\n  ]\n}\n");
  EXPECT_EQ(duo::io::read_json(d / "sub" / "out.json"), j);

  duo::core::write_file_atomic(d / "bad.json", "{\n  \"a\": 1,\n  \"b\": tru\n}\n");
  try {
    duo::io::read_json(d / "bad.json");
    FAIL() << "no error";
  } catch (const duo::Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find((d / "bad.json").string() + ": invalid JSON at line 3, column"), std::string::npos) << msg;
    EXPECT_EQ(msg.find("json.exception"), std::string::npos) << msg;
  }
  // A number too large for a double is nlohmann's out_of_range, not a parse_error: still one line.
  duo::core::write_file_atomic(d / "huge.json", "{\"a\": 1E4336}");
  try {
    duo::io::read_json(d / "huge.json");
    FAIL() << "no error";
  } catch (const duo::Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find((d / "huge.json").string() + ": invalid JSON: number overflow parsing '1E4336'"),
              std::string::npos) << msg;
  }
  try {
    duo::io::read_json(d / "absent.json");
    FAIL() << "no error";
  } catch (const duo::Error& e) {
    EXPECT_NE(std::string(e.what()).find("absent.json: cannot open"), std::string::npos) << e.what();
  }
  fs::remove_all(d);
}
