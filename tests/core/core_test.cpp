// Core: DUO_CHECK messages, atomic writes (nothing left behind on failure), thread setup.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <strings.h>

#include "core/atomic_file.h"
#include "core/blas_info.h"
#include "core/error.h"
#include "core/progress.h"
#include "core/threads.h"

namespace fs = std::filesystem;

TEST(Core, CheckThrowsFormattedError) {
  try {
    DUO_CHECK(1 + 1 == 3, "tensor '{}' has wrong shape; expected [{}], got [{}]", "w", 4, 5);
    FAIL() << "DUO_CHECK did not throw";
  } catch (const duo::Error& e) {
    EXPECT_STREQ(e.what(), "tensor 'w' has wrong shape; expected [4], got [5]");
  }
  EXPECT_NO_THROW(DUO_CHECK(true, "never"));
}

TEST(Core, AtomicFileCommitsAndCleansUp) {
  fs::path dir = fs::temp_directory_path() / "duo_core_test";
  fs::remove_all(dir);
  fs::path target = dir / "sub" / "out.txt";
  duo::core::write_file_atomic(target, "hello");
  EXPECT_EQ(duo::core::read_file(target), "hello");
  {
    duo::core::AtomicFile f(target);
    f.stream() << "half-written";
    // destroyed without commit: the old content stays, the temp file is removed
  }
  EXPECT_EQ(duo::core::read_file(target), "hello");
  int n = 0;
  for (auto& e : fs::directory_iterator(dir / "sub")) { (void)e; ++n; }
  EXPECT_EQ(n, 1);
  EXPECT_THROW(duo::core::read_file(dir / "missing"), duo::Error);
  fs::remove_all(dir);
}

TEST(Core, ThreadsDefaultToAllCores) {
  EXPECT_EQ(duo::core::set_threads(0), duo::core::available_cores());
  EXPECT_EQ(duo::core::set_threads(1), 1);
}

// --threads also sizes OpenBLAS's own pool (skipped where the BLAS is not OpenBLAS).
TEST(Core, SetThreadsAlsoSizesOpenBlas) {
  if (duo::core::blas_threads() == 0) GTEST_SKIP() << "BLAS is not OpenBLAS";
  duo::core::set_threads(1);
  EXPECT_EQ(duo::core::blas_threads(), 1);
  duo::core::set_threads(2);
  EXPECT_EQ(duo::core::blas_threads(), 2);
}

// OpenBLAS reports the kernel set it runs, which is the one OPENBLAS_CORETYPE names when set
// (this project's machines set it: docs/method.md, "Matrix products").
TEST(Core, OpenBlasReportsItsKernelSet) {
  const std::string core = duo::core::openblas_core();
  if (core.empty()) GTEST_SKIP() << "BLAS is not OpenBLAS";
  EXPECT_NE(duo::core::blas_summary().find(", kernels " + core + " (OPENBLAS_CORETYPE="), std::string::npos)
      << duo::core::blas_summary();
  const char* env = std::getenv("OPENBLAS_CORETYPE");
  if (env != nullptr) {
    EXPECT_EQ(strcasecmp(core.c_str(), env), 0) << core << " vs OPENBLAS_CORETYPE=" << env;
  }
}

TEST(Core, FormatDuration) {
  EXPECT_EQ(duo::core::format_duration(45.21), "45.2s");
  EXPECT_EQ(duo::core::format_duration(192), "3m12s");
  EXPECT_EQ(duo::core::format_duration(3720), "1h02m");
}
