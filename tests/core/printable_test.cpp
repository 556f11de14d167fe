// core/printable: untrusted bytes escaped in messages, valid UTF-8 kept.
#include <gtest/gtest.h>

#include <string>

#include "core/printable.h"

using duo::core::first_invalid_utf8;
using duo::core::printable;

TEST(Printable, KeepsAsciiAndValidUtf8) {
  EXPECT_EQ(printable("model.layers.0.weight"), "model.layers.0.weight");
  EXPECT_EQ(printable("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"), "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
  EXPECT_EQ(printable("a\\xffb"), "a\\xffb");  // backslashes stay: escaping is idempotent
}

TEST(Printable, EscapesControlAndInvalidBytes) {
  EXPECT_EQ(printable("ab\xff"), "ab\\xff");
  EXPECT_EQ(printable("\x1b[2J"), "\\x1b[2J");
  EXPECT_EQ(printable(std::string("a\0b", 3)), "a\\x00b");
  EXPECT_EQ(printable("x\ny\tz\x7f"), "x\\x0ay\\x09z\\x7f");
  EXPECT_EQ(printable("x\ny", /*keep_newlines=*/true), "x\ny");
  EXPECT_EQ(printable("\xc3"), "\\xc3");                  // truncated sequence
  EXPECT_EQ(printable("\xc0\xaf"), "\\xc0\\xaf");         // overlong '/'
  EXPECT_EQ(printable("\xed\xa0\x80"), "\\xed\\xa0\\x80");  // surrogate
  EXPECT_EQ(printable("\xc2\x9b"), "\\xc2\\x9b");         // C1 control (CSI)
  const std::string once = printable("\xff\x01");
  EXPECT_EQ(printable(once), once);
}

TEST(Printable, FirstInvalidUtf8) {
  EXPECT_EQ(first_invalid_utf8("abc"), 3u);
  EXPECT_EQ(first_invalid_utf8("ab\xc3\xa9"), 4u);
  EXPECT_EQ(first_invalid_utf8("ab\xff" "cd"), 2u);
  EXPECT_EQ(first_invalid_utf8("\xe2\x82"), 0u);
}
