// settings_test.cc - common/settings.c: the MUPPY_* value parsers that the
// shim (MUPPY_* at start-up) and the tool (`muppy run` options, `muppy
// snap`) share.  Bad input is tested as carefully as good: every refused
// value must leave the output untouched.
#include <gtest/gtest.h>

#include <signal.h>

#include <string>

extern "C" {
#include "common/settings.h"
}

namespace {

TEST(Settings, SignalNames) {
  int s = -1;
  EXPECT_EQ(settings_parse_signal("USR1", &s), 0);
  EXPECT_EQ(s, SIGUSR1);
  EXPECT_EQ(settings_parse_signal("sigusr2", &s), 0);
  EXPECT_EQ(s, SIGUSR2);
  EXPECT_EQ(settings_parse_signal("SIGHUP", &s), 0);
  EXPECT_EQ(s, SIGHUP);
  EXPECT_EQ(settings_parse_signal("12", &s), 0);
  EXPECT_EQ(s, 12);
  EXPECT_EQ(settings_parse_signal("none", &s), 0);
  EXPECT_EQ(s, 0);
  EXPECT_EQ(settings_parse_signal("0", &s), 0);
  EXPECT_EQ(s, 0);
}

TEST(Settings, RealTimeSignals) {
  int s = -1;
  EXPECT_EQ(settings_parse_signal("RTMIN", &s), 0);
  EXPECT_EQ(s, SIGRTMIN);
  EXPECT_EQ(settings_parse_signal("SIGRTMIN+3", &s), 0);
  EXPECT_EQ(s, SIGRTMIN + 3);
  EXPECT_EQ(settings_parse_signal("rtmax-1", &s), 0);
  EXPECT_EQ(s, SIGRTMAX - 1);
  EXPECT_EQ(settings_parse_signal(std::to_string(SIGRTMAX).c_str(), &s), 0);
  EXPECT_EQ(s, SIGRTMAX);
  s = 99;
  // glibc's own real-time signals (32, 33) sit below SIGRTMIN.
  for (int n = 32; n < SIGRTMIN; n++)
    EXPECT_EQ(settings_parse_signal(std::to_string(n).c_str(), &s), -1) << n;
  for (const char *bad : {"RTMIN-1", "RTMAX+1", "RTMIN+", "RTMIN+x",
                          "RTMIN+99", "RTMAX-99", "RT", "RTMINX"}) {
    EXPECT_EQ(settings_parse_signal(bad, &s), -1) << bad;
  }
  EXPECT_EQ(s, 99);
}

// The signals a dump must never take over (issue 10: `muppy run --signal
// SEGV` used to be accepted by the tool and silently dropped by the shim).
TEST(Settings, RefusedSignals) {
  int s = 99;
  for (const char *bad :
       {"SEGV", "11", "KILL", "9", "STOP", "19", "ABRT", "6", "BUS", "7",
        "FPE", "ILL", "TRAP", "SYS", "CHLD", "17", "CONT", "PIPE", "TSTP",
        "STKFLT", "65", "1001", "", "USR", "USR1x", "-10", " 10", "+10",
        "99999999999", "SIG", "SIGSIGUSR1", "USR1 "}) {
    EXPECT_EQ(settings_parse_signal(bad, &s), -1) << bad;
    EXPECT_EQ(s, 99) << bad;
  }
  EXPECT_EQ(settings_parse_signal(nullptr, &s), -1);
}

TEST(Settings, SignalNameRoundTrips) {
  char buf[32];
  for (int n = 1; n <= SIGRTMAX; n++) {
    const char *name = settings_signal_name(n, buf, sizeof buf);
    int back = -1;
    int ok = settings_parse_signal(std::to_string(n).c_str(), &back) == 0;
    EXPECT_EQ(name != nullptr, ok) << n;
    if (name) {
      std::string copy(name);
      EXPECT_EQ(settings_parse_signal(copy.c_str(), &back), 0) << copy;
      EXPECT_EQ(back, n) << copy;
    }
  }
  EXPECT_STREQ(settings_signal_name(0, buf, sizeof buf), "none");
  EXPECT_STREQ(settings_signal_name(SIGUSR1, buf, sizeof buf), "USR1");
  EXPECT_EQ(settings_signal_name(SIGSEGV, buf, sizeof buf), nullptr);
}

TEST(Settings, Intervals) {
  uint64_t ns = 7;
  EXPECT_EQ(settings_parse_interval("0", &ns), 0);
  EXPECT_EQ(ns, 0u);
  EXPECT_EQ(settings_parse_interval("0.001", &ns), 0);
  EXPECT_EQ(ns, 1000000u);
  EXPECT_EQ(settings_parse_interval("2", &ns), 0);
  EXPECT_EQ(ns, 2000000000u);
  EXPECT_EQ(settings_parse_interval("1.5", &ns), 0);
  EXPECT_EQ(ns, 1500000000u);
  EXPECT_EQ(settings_parse_interval("31536000", &ns), 0);
  ns = 7;
  for (const char *bad : {"", "abc", "1s", "-1", "+1", " 1", "1 ", "nan",
                          "inf", "0.0001", "1e12", "0x10", "31536001"}) {
    EXPECT_EQ(settings_parse_interval(bad, &ns), -1) << bad;
    EXPECT_EQ(ns, 7u) << bad;
  }
}

TEST(Settings, UnsignedBounds) {
  uint32_t v = 5;
  EXPECT_EQ(settings_parse_uint("9", 9, &v), 0);
  EXPECT_EQ(v, 9u);
  EXPECT_EQ(settings_parse_uint("4294967295", UINT32_MAX, &v), 0);
  EXPECT_EQ(v, UINT32_MAX);
  v = 5;
  for (const char *bad : {"10", "", "1 ", " 1", "-1", "+1", "0x1",
                          "4294967296", "00000000001"}) {
    EXPECT_EQ(settings_parse_uint(bad, bad[0] == '4' ? UINT32_MAX : 9, &v),
              -1)
        << bad;
    EXPECT_EQ(v, 5u) << bad;
  }
}

TEST(Settings, Words) {
  int v = 5;
  EXPECT_EQ(settings_parse_bool("1", &v), 0);
  EXPECT_EQ(v, 1);
  EXPECT_EQ(settings_parse_bool("0", &v), 0);
  EXPECT_EQ(v, 0);
  EXPECT_EQ(settings_parse_mode("graph", &v), 0);
  EXPECT_EQ(v, 1);
  EXPECT_EQ(settings_parse_mode("summary", &v), 0);
  EXPECT_EQ(v, 0);
  EXPECT_EQ(settings_parse_snapshot("fork", &v), 0);
  EXPECT_EQ(v, 1);
  EXPECT_EQ(settings_parse_snapshot("inline", &v), 0);
  EXPECT_EQ(v, 0);
  v = 5;
  for (const char *bad : {"", "yes", "true", "01", "2", " 1"})
    EXPECT_EQ(settings_parse_bool(bad, &v), -1) << bad;
  for (const char *bad : {"", "Graph", "graph ", "full"})
    EXPECT_EQ(settings_parse_mode(bad, &v), -1) << bad;
  for (const char *bad : {"", "Fork", "forked", "thread"})
    EXPECT_EQ(settings_parse_snapshot(bad, &v), -1) << bad;
  EXPECT_EQ(v, 5);
}

}  // namespace
