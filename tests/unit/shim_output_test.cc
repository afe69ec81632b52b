// shim_output_test.cc - unit tests for shim/runtime/output.c: atomic dump files,
// sequence numbers, never following or replacing names, and every failure
// path reached through the system-call table (shim_sys) and
// shim_sys_inject, with nothing left behind.
#include <gtest/gtest.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

extern "C" {
#include "format/dump.h"
#include "shim/runtime/output.h"
}

namespace {

// A small valid dump whose META "seq" follows the number asked for.
struct Fixture {
  char seq_text[16] = "0";
  struct fmt_str strings[4];
  fmt_meta meta[1];
  fmt_type types[1];
  fmt_summary_row rows[1];
  fmt_dump d;

  Fixture() {
    memset(&d, 0, sizeof d);
    strings[0] = {"", 0};
    strings[1] = {"seq", 3};
    strings[2] = {seq_text, 1};
    strings[3] = {"dict", 4};
    meta[0] = {1, 2};
    types[0] = {0x1000, 3};
    rows[0] = {3, 2, 464};
    d.nstrings = 4;
    d.strings = strings;
    d.nmeta = 1;
    d.meta = meta;
    d.ntypes = 1;
    d.types = types;
    d.nsummary = 1;
    d.summary = rows;
  }
};

const fmt_dump *dump_for(void *ctx, uint32_t seq) {
  Fixture *f = static_cast<Fixture *>(ctx);
  snprintf(f->seq_text, sizeof f->seq_text, "%u", seq);
  f->strings[2].len = (uint32_t)strlen(f->seq_text);
  return &f->d;
}

std::vector<std::string> list_dir(const std::string &dir) {
  std::vector<std::string> out;
  DIR *d = opendir(dir.c_str());
  if (!d) return out;
  while (dirent *e = readdir(d))
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
      out.push_back(e->d_name);
  closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

std::string read_seq(const std::string &path) {
  fmt_dump d;
  char err[256];
  if (fmt_read_file(path.c_str(), FMT_READ_ALL, &d, err, sizeof err) != 0)
    return std::string("invalid: ") + err;
  const char *v = fmt_meta_get(&d, "seq");
  std::string s = v ? v : "(none)";
  fmt_dump_free(&d);
  return s;
}

class ShimOutput : public ::testing::Test {
 protected:
  std::string dir;
  struct shim_sys saved;
  Fixture fx;

  void SetUp() override {
    char tmpl[] = "/tmp/shim_output_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir = tmpl;
    saved = shim_sys;
    shim_sys_inject("");
  }
  void TearDown() override {
    shim_sys = saved;
    shim_sys_inject("");
    for (auto &n : list_dir(dir)) unlink((dir + "/" + n).c_str());
    rmdir(dir.c_str());
  }
  int write_dump(uint32_t *seq, shim_out_err *err, long pid = 42) {
    return shim_output_write(dir.c_str(), pid, seq, 1, dump_for, &fx, err);
  }
};

TEST_F(ShimOutput, WritesValidFileMode0600WithSeqInName) {
  uint32_t seq = 1;
  shim_out_err err;
  ASSERT_EQ(write_dump(&seq, &err), 0);
  EXPECT_EQ(seq, 1u);
  EXPECT_EQ(err.op, nullptr);
  EXPECT_EQ(list_dir(dir), std::vector<std::string>{"muppy.42.1.dump"});
  struct stat st;
  ASSERT_EQ(stat((dir + "/muppy.42.1.dump").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(read_seq(dir + "/muppy.42.1.dump"), "1");
}

TEST_F(ShimOutput, ExistingNamesAreSkippedNotReplaced) {
  std::string taken = dir + "/muppy.42.1.dump";
  int fd = open(taken.c_str(), O_CREAT | O_WRONLY, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(write(fd, "mine", 4), 4);
  close(fd);
  uint32_t seq = 1;
  shim_out_err err;
  ASSERT_EQ(write_dump(&seq, &err), 0);
  EXPECT_EQ(seq, 2u);
  EXPECT_EQ(read_seq(dir + "/muppy.42.2.dump"), "2");
  struct stat st;
  ASSERT_EQ(stat(taken.c_str(), &st), 0);
  EXPECT_EQ(st.st_size, 4);
}

TEST_F(ShimOutput, SymlinksAtFinalAndTmpNamesAreNotFollowed) {
  std::string target = dir + "/target";
  ASSERT_EQ(symlink(target.c_str(), (dir + "/muppy.42.1.dump").c_str()), 0);
  ASSERT_EQ(symlink(target.c_str(),
                    (dir + "/muppy.42.2.dump.tmp.42").c_str()), 0);
  // Named tmp files (no O_TMPFILE): seq 2's tmp name is a symlink too.
  ASSERT_EQ(shim_sys_inject("tmpfile:EOPNOTSUPP"), 0);
  uint32_t seq = 1;
  shim_out_err err;
  ASSERT_EQ(write_dump(&seq, &err), 0);
  EXPECT_EQ(seq, 3u);
  struct stat st;
  EXPECT_NE(lstat(target.c_str(), &st), 0);  // never created through a link
  EXPECT_EQ(read_seq(dir + "/muppy.42.3.dump"), "3");
  EXPECT_EQ(list_dir(dir),
            (std::vector<std::string>{"muppy.42.1.dump", "muppy.42.2.dump.tmp.42",
                                      "muppy.42.3.dump"}));
}

TEST_F(ShimOutput, InjectedFailuresLeaveNothingBehind) {
  struct Case {
    const char *spec, *op;
    int err;
  } cases[] = {
      {"write:ENOSPC", "write", ENOSPC},
      {"fsync:EIO", "fsync", EIO},
      {"link:EDQUOT", "link", EDQUOT},
      {"open:EACCES", "dir", EACCES},
      {"tmpfile:EOPNOTSUPP,write:ENOSPC", "write", ENOSPC},
      {"tmpfile:EOPNOTSUPP,fsync:EIO", "fsync", EIO},
      {"tmpfile:EOPNOTSUPP,close:EIO", "close", EIO},
      {"tmpfile:EOPNOTSUPP,link:EIO", "link", EIO},
  };
  for (const Case &c : cases) {
    ASSERT_EQ(shim_sys_inject(c.spec), 0) << c.spec;
    uint32_t seq = 1;
    shim_out_err err;
    EXPECT_EQ(write_dump(&seq, &err), -1) << c.spec;
    EXPECT_STREQ(err.op, c.op) << c.spec;
    EXPECT_EQ(err.errnum, c.err) << c.spec;
    EXPECT_EQ(err.in_place, 0) << c.spec;
    EXPECT_EQ(list_dir(dir), std::vector<std::string>{}) << c.spec;
  }
}

TEST_F(ShimOutput, LateDirectoryFsyncFailureKeepsCompleteDump) {
  // fsync fails only for the directory (the second fsync call).
  static int calls;
  calls = 0;
  shim_sys.fsync = [](int fd) -> int {
    if (++calls == 2) {
      errno = EIO;
      return -1;
    }
    return fsync(fd);
  };
  uint32_t seq = 1;
  shim_out_err err;
  EXPECT_EQ(write_dump(&seq, &err), -1);
  EXPECT_STREQ(err.op, "fsync dir");
  EXPECT_EQ(err.in_place, 1);
  EXPECT_EQ(read_seq(dir + "/muppy.42.1.dump"), "1");
}

TEST_F(ShimOutput, ShortWritesAndEintrStillGiveACompleteFile) {
  static int n;
  n = 0;
  shim_sys.write = [](int fd, const void *buf, size_t len) -> ssize_t {
    if (++n % 3 == 0) {
      errno = EINTR;
      return -1;
    }
    return write(fd, buf, len > 7 ? 7 : len);
  };
  uint32_t seq = 1;
  shim_out_err err;
  ASSERT_EQ(write_dump(&seq, &err), 0);
  EXPECT_EQ(read_seq(dir + "/muppy.42.1.dump"), "1");
}

TEST_F(ShimOutput, DiskFullMidFileRemovesTmp) {
  static size_t written;
  written = 0;
  shim_sys.write = [](int fd, const void *buf, size_t len) -> ssize_t {
    if (written >= 30) {
      errno = ENOSPC;
      return -1;
    }
    size_t k = std::min(len, (size_t)30 - written);
    written += k;
    return write(fd, buf, k);
  };
  for (const char *spec : {"", "tmpfile:EOPNOTSUPP"}) {
    written = 0;
    ASSERT_EQ(shim_sys_inject(spec), 0);
    uint32_t seq = 1;
    shim_out_err err;
    EXPECT_EQ(write_dump(&seq, &err), -1);
    EXPECT_STREQ(err.op, "write");
    EXPECT_EQ(err.errnum, ENOSPC);
    EXPECT_EQ(list_dir(dir), std::vector<std::string>{}) << spec;
  }
}

TEST_F(ShimOutput, MissingDirectoryIsReported) {
  uint32_t seq = 1;
  shim_out_err err;
  EXPECT_EQ(shim_output_write((dir + "/nope").c_str(), 42, &seq, 1, dump_for,
                              &fx, &err),
            -1);
  EXPECT_STREQ(err.op, "dir");
  EXPECT_EQ(err.errnum, ENOENT);
}

TEST_F(ShimOutput, ExplicitPathNeverReplaces) {
  std::string path = dir + "/mine.dump";
  shim_out_err err;
  ASSERT_EQ(shim_output_write_path(path.c_str(), 42, 7, 1, dump_for, &fx,
                                   &err),
            0);
  EXPECT_EQ(read_seq(path), "7");
  EXPECT_EQ(shim_output_write_path(path.c_str(), 42, 8, 1, dump_for, &fx,
                                   &err),
            -1);
  EXPECT_STREQ(err.op, "path");
  EXPECT_EQ(err.errnum, EEXIST);
  EXPECT_EQ(read_seq(path), "7");
  EXPECT_EQ(shim_output_write_path((dir + "/").c_str(), 42, 8, 1, dump_for,
                                   &fx, &err),
            -1);
  EXPECT_EQ(list_dir(dir), std::vector<std::string>{"mine.dump"});
}

TEST_F(ShimOutput, InjectSpecParsing) {
  EXPECT_EQ(shim_sys_inject("write:ENOSPC,fsync:5"), 0);
  EXPECT_EQ(shim_sys_injected(SHIM_FAIL_WRITE), ENOSPC);
  EXPECT_EQ(shim_sys_injected(SHIM_FAIL_FSYNC), 5);
  // A bad spec changes nothing.
  for (const char *bad : {"write", "write:", "bogus:EIO", "write:ENOPE",
                          "write:0", "write:EIO,", ":EIO"}) {
    EXPECT_EQ(shim_sys_inject(bad), -1) << bad;
    EXPECT_EQ(shim_sys_injected(SHIM_FAIL_WRITE), ENOSPC) << bad;
  }
  EXPECT_EQ(shim_sys_inject(nullptr), 0);
  EXPECT_EQ(shim_sys_injected(SHIM_FAIL_WRITE), 0);
}

}  // namespace
