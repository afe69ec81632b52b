// shim_mem_test.cc - shim/walk/mem.c: the allocator a snapshot child uses
// instead of glibc's malloc, and the hazard it exists for.
#include <gtest/gtest.h>

#include <malloc.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <thread>

extern "C" {
#include "format/dump.h"
#include "shim/walk/mem.h"
}

namespace {

// Runs fn in a forked child (private mode is process-wide) and returns its
// exit status; fn returns 0 for success.
template <typename F>
int in_child(F fn) {
  pid_t pid = fork();
  if (pid == 0) {
    alarm(20);
    _exit(fn());
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

TEST(ShimMem, GlibcModeIsMalloc) {
  EXPECT_EQ(mem_is_private(), 0);
  char *p = static_cast<char *>(mem_alloc(10));
  ASSERT_NE(p, nullptr);
  memcpy(p, "0123456789", 10);
  p = static_cast<char *>(mem_realloc(p, 100000));
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(memcmp(p, "0123456789", 10), 0);
  mem_free(p);
  mem_free(nullptr);
  int *z = static_cast<int *>(mem_calloc(100, sizeof(int)));
  ASSERT_NE(z, nullptr);
  for (int i = 0; i < 100; i++) EXPECT_EQ(z[i], 0);
  mem_free(z);
  EXPECT_EQ(mem_calloc(SIZE_MAX / 2, 4), nullptr);
  EXPECT_EQ(mem_alloc(SIZE_MAX - 4), nullptr);
}

TEST(ShimMem, PrivateArenaContracts) {
  EXPECT_EQ(in_child([] {
    char *before = static_cast<char *>(mem_alloc(64));  // a glibc block
    memset(before, 'g', 64);
    mem_use_private();
    if (!mem_is_private()) return 1;
    // Growing the last block stays in place and keeps the bytes.
    char *a = static_cast<char *>(mem_alloc(100));
    if (!a) return 2;
    memset(a, 'a', 100);
    char *a2 = static_cast<char *>(mem_realloc(a, 5000));
    if (a2 != a) return 3;
    for (int i = 0; i < 100; i++)
      if (a2[i] != 'a') return 4;
    // A block that is not the last one moves, with its bytes.
    char *b = static_cast<char *>(mem_alloc(10));
    char *a3 = static_cast<char *>(mem_realloc(a2, 20000));
    if (!b || !a3 || a3 == a2) return 5;
    for (int i = 0; i < 100; i++)
      if (a3[i] != 'a') return 6;
    // Big blocks have mappings of their own and grow by mremap.
    char *big = static_cast<char *>(mem_alloc(1 << 20));
    if (!big) return 7;
    memset(big, 'x', 1 << 20);
    big = static_cast<char *>(mem_realloc(big, 8 << 20));
    if (!big || big[(1 << 20) - 1] != 'x') return 8;
    mem_free(big);
    // A glibc block from before: readable, grown by copying, and its
    // free is a no-op (never glibc's free in the child).
    char *g2 = static_cast<char *>(mem_realloc(before, 1000));
    if (!g2 || memcmp(g2, before, 64) != 0) return 9;
    mem_free(before);
    // Many small blocks across chunks, all distinct and writable.
    char *prev = nullptr;
    for (int i = 0; i < 20000; i++) {
      char *p = static_cast<char *>(mem_calloc(1, 200));
      if (!p || p[199] != 0 || p == prev) return 10;
      p[0] = 1;
      prev = p;
    }
    // Freeing the last block gives its space back.
    char *t1 = static_cast<char *>(mem_alloc(48));
    mem_free(t1);
    char *t2 = static_cast<char *>(mem_alloc(48));
    if (t2 != t1) return 11;
    if (mem_alloc(SIZE_MAX / 2 + 1) != nullptr) return 12;
    return 0;
  }), 0);
}

// A snapshot child's walk and its helper thread both allocate (mem.c note
// 3): two threads growing, shrinking and freeing blocks at once must each
// keep what they wrote.  Without the arena's lock they are handed the
// same bytes within a few thousand calls.
TEST(ShimMem, PrivateArenaIsSharedByTwoThreads) {
  EXPECT_EQ(in_child([] {
    mem_use_private();
    std::atomic<int> bad{0};
    auto work = [&bad](unsigned char tag) {
      unsigned char *blocks[64] = {};
      size_t len[64] = {};
      for (int i = 0; i < 60000 && !bad; i++) {
        int k = (i * 37) % 64;
        for (size_t j = 0; j < len[k]; j++)
          if (blocks[k][j] != (unsigned char)(tag + k)) bad = 1 + tag;
        if (i % 7 == 0) {
          mem_free(blocks[k]);
          blocks[k] = nullptr;
          len[k] = 0;
          continue;
        }
        size_t n = 1 + (size_t)(i * 7919) % (i % 50 ? 2000 : 300000);
        void *q = mem_realloc(blocks[k], n);
        if (!q) {
          bad = 100;
          return;
        }
        blocks[k] = static_cast<unsigned char *>(q);
        memset(blocks[k], tag + k, n);
        len[k] = n;
      }
      for (auto *b : blocks) mem_free(b);
    };
    std::thread other(work, 128);
    work(0);
    other.join();
    return bad.load();
  }), 0);
}

// The hazard (snapfork.c notes 1 and 10): a raw clone copies a malloc lock
// another thread holds at that instant, and nothing releases it in the
// child.  With one arena for every thread and a thread that allocates
// without pause, a clone child that allocates through glibc would hang;
// one that allocates through mem.h, and writes a whole dump with
// fmt_write_with over it, never does.
int sink_count(void *ctx, const void *, size_t len) {
  *static_cast<size_t *>(ctx) += len;
  return 0;
}

void *alloc_hook(void *, size_t n) { return mem_alloc(n); }
void free_hook(void *, void *p) { mem_free(p); }

int private_work() {
  mem_use_private();
  void *blocks[256] = {};
  for (int i = 0; i < 20000; i++) {
    int k = i % 256;
    blocks[k] = mem_realloc(blocks[k], 16 + (i * 7919) % 3000);
    if (!blocks[k]) return 1;
  }
  // A small valid dump, encoded with the allocator hooks.
  struct fmt_str strings[2] = {{"", 0}, {"x", 1}};
  struct fmt_dump d = {};
  d.nstrings = 2;
  d.strings = strings;
  struct fmt_alloc a = {alloc_hook, free_hook, nullptr};
  size_t n = 0;
  if (fmt_write_with(&d, 1, &a, sink_count, &n) != 0 || n == 0) return 2;
  return 0;
}

// Under ASan a clone copies the shadow memory's page tables too: ~50 ms a
// child, so 200 of them could outlast in_child's alarm on a loaded machine.
// The plain build keeps the full count.
#if defined(__SANITIZE_ADDRESS__)
constexpr int kClones = 50;
#else
constexpr int kClones = 200;
#endif

TEST(ShimMem, CloneChildNeverWaitsOnAHeldMallocLock) {
  int status = in_child([] {
    mallopt(M_ARENA_MAX, 1);  // every thread shares the main arena
    std::atomic<bool> stop{false};
    std::thread hog([&] {
      while (!stop) {
        void *p = malloc(64 + rand() % 4096);
        free(p);
      }
    });
    int hung = 0;
    for (int i = 0; i < kClones && !hung; i++) {
      pid_t pid = (pid_t)syscall(SYS_clone, 0ul, 0ul, 0ul, 0ul, 0ul);
      if (pid == 0) {
        alarm(5);
        _exit(private_work());
      }
      int st = 0;
      waitpid(pid, &st, __WCLONE);
      if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) hung = 1 + i;
    }
    stop = true;
    hog.join();
    return hung ? 1 : 0;
  });
  EXPECT_EQ(status, 0);
}

}  // namespace
