// H5Writer on fault paths: it refuses to replace a FIFO (or any node that is not a regular file).
// A full disk while writing is tested end to end in tests/cli/fault_cli_test.cpp.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <iterator>
#include <string>

#include "common/error_of.h"
#include "common/temp_dir.h"
#include "io/hdf5.h"

namespace fs = std::filesystem;
using duo::io::H5Writer;
using duo::testing::error_of;

namespace {

fs::path fresh(const std::string& name) { return duo::testing::fresh_temp_dir("hdf5_fault", name); }

}  // namespace

TEST(Hdf5Fault, WriterRefusesFifo) {
  const auto dir = fresh("fifo");
  const auto fifo = dir / "data.h5";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const std::string msg = error_of([&] { H5Writer w(fifo); });
  EXPECT_NE(msg.find("expected a regular file or a new path, got a FIFO"), std::string::npos) << msg;
  EXPECT_TRUE(fs::is_fifo(fifo));
  EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator()), 1);  // no temporary file
  fs::remove_all(dir);
}
