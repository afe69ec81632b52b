// shim_config_test.cc - unit tests for shim/runtime/config.c: the MUPPY_*
// variables, their defaults, and the one warning per invalid value.
#include <gtest/gtest.h>

#include <csignal>
#include <map>
#include <string>
#include <vector>

extern "C" {
#include "shim/runtime/config.h"
}

namespace {

std::map<std::string, std::string> g_env;
std::vector<std::string> g_warnings;

const char *fake_getenv(const char *name) {
  auto it = g_env.find(name);
  return it == g_env.end() ? nullptr : it->second.c_str();
}

void record_warning(const char *line) { g_warnings.push_back(line); }

shim_config load(std::map<std::string, std::string> env,
                 const char *cwd = "/work") {
  g_env = std::move(env);
  g_warnings.clear();
  shim_config cfg;
  shim_config_load(&cfg, fake_getenv, cwd, record_warning);
  return cfg;
}

TEST(ShimConfig, DefaultsWithEmptyEnvironment) {
  shim_config cfg = load({});
  EXPECT_STREQ(cfg.dir, "/work");
  EXPECT_EQ(cfg.signo, SIGUSR1);
  EXPECT_EQ(cfg.interval_ns, 0u);
  EXPECT_EQ(cfg.at_exit, 1);
  EXPECT_EQ(cfg.graph, 1);
  EXPECT_EQ(cfg.strings, 0u);
  EXPECT_EQ(cfg.level, 1);
  EXPECT_EQ(cfg.snapshot, SHIM_SNAPSHOT_FORK);
  EXPECT_TRUE(g_warnings.empty());
}

TEST(ShimConfig, ValidValues) {
  shim_config cfg = load({{"MUPPY_DIR", "dumps/"},
                          {"MUPPY_SIGNAL", "SIGUSR2"},
                          {"MUPPY_INTERVAL", "0.25"},
                          {"MUPPY_AT_EXIT", "0"},
                          {"MUPPY_MODE", "summary"},
                          {"MUPPY_STRINGS", "40"},
                          {"MUPPY_LEVEL", "9"},
                          {"MUPPY_SNAPSHOT", "fork"}});
  EXPECT_STREQ(cfg.dir, "/work/dumps");
  EXPECT_EQ(cfg.signo, SIGUSR2);
  EXPECT_EQ(cfg.interval_ns, 250000000u);
  EXPECT_EQ(cfg.at_exit, 0);
  EXPECT_EQ(cfg.graph, 0);
  EXPECT_EQ(cfg.strings, 40u);
  EXPECT_EQ(cfg.level, 9);
  EXPECT_EQ(cfg.snapshot, SHIM_SNAPSHOT_FORK);
  EXPECT_TRUE(g_warnings.empty());
}

TEST(ShimConfig, AbsoluteDirKeptTrailingSlashesStripped) {
  EXPECT_STREQ(load({{"MUPPY_DIR", "/tmp/x///"}}).dir, "/tmp/x");
  EXPECT_STREQ(load({{"MUPPY_DIR", "/"}}).dir, "/");
  EXPECT_STREQ(load({{"MUPPY_DIR", ""}}).dir, "/work");
}

TEST(ShimConfig, TooLongDirWarnsAndUsesCwd) {
  shim_config cfg = load({{"MUPPY_DIR", "/" + std::string(5000, 'a')}});
  EXPECT_STREQ(cfg.dir, "/work");
  ASSERT_EQ(g_warnings.size(), 1u);
  EXPECT_NE(g_warnings[0].find("invalid MUPPY_DIR="), std::string::npos);
}

TEST(ShimConfig, EachInvalidValueWarnsOnceAndKeepsDefault) {
  shim_config cfg = load({{"MUPPY_SIGNAL", "SIGSEGV"},
                          {"MUPPY_INTERVAL", "-1"},
                          {"MUPPY_AT_EXIT", "yes"},
                          {"MUPPY_MODE", "GRAPH"},
                          {"MUPPY_STRINGS", "-3"},
                          {"MUPPY_LEVEL", "10"},
                          {"MUPPY_SNAPSHOT", "inline "}});
  EXPECT_EQ(cfg.signo, SIGUSR1);
  EXPECT_EQ(cfg.interval_ns, 0u);
  EXPECT_EQ(cfg.at_exit, 1);
  EXPECT_EQ(cfg.graph, 1);
  EXPECT_EQ(cfg.strings, 0u);
  EXPECT_EQ(cfg.level, 1);
  EXPECT_EQ(cfg.snapshot, SHIM_SNAPSHOT_FORK);
  ASSERT_EQ(g_warnings.size(), 7u);
  const char *vars[] = {"MUPPY_SIGNAL", "MUPPY_INTERVAL", "MUPPY_AT_EXIT",
                        "MUPPY_MODE", "MUPPY_STRINGS", "MUPPY_LEVEL",
                        "MUPPY_SNAPSHOT"};
  for (size_t i = 0; i < 7; i++) {
    EXPECT_EQ(g_warnings[i].rfind(std::string("invalid ") + vars[i] + "=", 0),
              0u)
        << g_warnings[i];
  }
}

}  // namespace
