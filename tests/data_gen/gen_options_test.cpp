// gen-data options: the shipped configs load through the YAML loader and equal the built-in
// defaults (official and classic); unknown keys and bad values are rejected.
#include <gtest/gtest.h>

#include "core/error.h"
#include "data_gen/gen_options.h"
#include "io/options.h"

using duo::data_gen::GenOptions;

namespace {

std::string yaml_of(GenOptions o) { return duo::io::options_to_yaml(o); }

}  // namespace

TEST(GenOptions, ShippedConfigsMatchDefaults) {
  GenOptions passkey;
  duo::io::load_yaml_options(passkey, std::string(DUO_SOURCE_DIR) + "/configs/data/passkey.yaml");
  EXPECT_EQ(yaml_of(passkey), yaml_of(GenOptions{}));
  EXPECT_EQ(passkey.templates.needle, "Remeber this sequence of words, it's the {ordinal} passkey to the vault: ");
  EXPECT_EQ(passkey.templates.question,
            "Based on the content of the book, what is the {ordinal} passkey to the vault?\nPasskey: ");
  EXPECT_EQ(passkey.context_max, 32000);
  EXPECT_EQ(passkey.depth_intervals, 1000);

  GenOptions classic;
  duo::io::load_yaml_options(classic, std::string(DUO_SOURCE_DIR) + "/configs/data/classic.yaml");
  EXPECT_EQ(yaml_of(classic), yaml_of(GenOptions::classic()));
  EXPECT_EQ(classic.passkey_kind, "digits");
}

TEST(GenOptions, ResolvedYamlLoadsBack) {
  GenOptions o = GenOptions::classic();
  o.templates.separator = "\n\t\"x\"";
  GenOptions back;
  duo::io::load_yaml_options_string(back, yaml_of(o), "resolved.yaml");
  EXPECT_EQ(yaml_of(back), yaml_of(o));
  EXPECT_EQ(back.templates.separator, "\n\t\"x\"");
}

TEST(GenOptions, UnknownKeysAndBadValues) {
  GenOptions o;
  try {
    duo::io::load_yaml_options_string(o, "num_passkeys: 3\nnum_passkey: 4\n", "bad.yaml");
    FAIL() << "no error";
  } catch (const duo::Error& e) {
    EXPECT_NE(std::string(e.what()).find("bad.yaml: unknown key 'num_passkey'"), std::string::npos) << e.what();
  }
  EXPECT_EQ(o.num_passkeys, 10);  // all-or-nothing
  EXPECT_THROW(duo::io::load_yaml_options_string(o, "templates:\n  needel: x\n", "bad.yaml"), duo::Error);
  EXPECT_THROW(duo::io::apply_overrides(o, {"context_max=lots"}), duo::Error);
  duo::io::apply_overrides(o, {"num_passkeys=4", "templates.separator=x"});
  EXPECT_EQ(o.num_passkeys, 4);
  EXPECT_EQ(o.templates.separator, "x");
}
