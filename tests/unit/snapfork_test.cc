// snapfork_test.cc - unit tests of shim/runtime/snapfork.c without an interpreter:
// the child runs the function handed in and leaves with its status, knows
// it is a snapshot child, gets the parent's pause, sees only stderr among
// the inherited descriptors, updates shared state for its parent; the
// parent reaps only its own pids, never blocks in snapfork_poll, and drops
// a child somebody else reaped (ECHILD) quietly.
// Real interpreters are exercised by tests/integration/test_fork_snapshot.py.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstring>

extern "C" {
#include "shim/runtime/snapfork.h"
}

namespace {

// What a child reports back to the test through a MAP_SHARED page.
struct Report {
	std::atomic<int> ran;
	std::atomic<int> in_child;
	std::atomic<unsigned long long> pause;
	std::atomic<int> open_fds;       // descriptors >= 3 still open
	std::atomic<int> stdin_is_null;
	std::atomic<long> ppid;
};

Report *new_report() {
	Report init{};
	return static_cast<Report *>(snapfork_shared_new(&init, sizeof init));
}

int count_open_fds_from_3() {
	int n = 0;
	for (int fd = 3; fd < 1024; fd++)
		if (fcntl(fd, F_GETFD) != -1)
			n++;
	return n;
}

int child_reports(void *ctx) {
	Report *r = static_cast<Report *>(ctx);
	struct stat st, null_st;

	r->in_child = snapfork_in_child();
	r->pause = snapfork_parent_pause_ns();
	r->open_fds = count_open_fds_from_3();
	r->stdin_is_null = fstat(0, &st) == 0 && stat("/dev/null", &null_st) == 0 &&
			   st.st_rdev == null_st.st_rdev;
	r->ppid = snapfork_getppid();
	r->ran = 1;
	return 0;
}

int child_fails(void *) { return 1; }

int child_crashes(void *) {
	raise(SIGSEGV);
	return 0;
}

int child_sleeps(void *) {
	struct timespec ts = {0, 300 * 1000000L};
	nanosleep(&ts, nullptr);
	return 0;
}

// Polls until nothing is pending (bounded); returns the polls made.
int poll_until_reaped() {
	for (int i = 0; i < 2000; i++) {
		if (snapfork_poll() == 0)
			return i;
		struct timespec ts = {0, 5 * 1000000L};
		nanosleep(&ts, nullptr);
	}
	return -1;
}

bool is_zombie_or_alive(pid_t pid) {
	// kill(pid, 0) succeeds for a live process and for an unreaped zombie.
	return kill(pid, 0) == 0;
}

TEST(SnapforkTest, ChildRunsWithHygieneAndParentReaps) {
	Report *r = new_report();
	ASSERT_NE(r, nullptr);
	int extra = open("/dev/null", O_RDONLY);   // inherited without CLOEXEC
	ASSERT_GE(extra, 3);
	uint64_t pause = 0;

	EXPECT_EQ(snapfork_in_child(), 0);
	EXPECT_EQ(snapfork_getppid(), getppid());
	pid_t pid = snapfork_spawn(child_reports, r, &pause);
	ASSERT_GT(pid, 0);
	EXPECT_GT(pause, 0u);
	EXPECT_GE(poll_until_reaped(), 0) << "child never reaped";
	EXPECT_FALSE(is_zombie_or_alive(pid)) << "zombie left";
	EXPECT_EQ(r->ran.load(), 1);
	EXPECT_EQ(r->in_child.load(), 1);
	EXPECT_EQ(r->pause.load(), pause) << "the child got another pause";
	EXPECT_EQ(r->open_fds.load(), 0) << "inherited descriptors left open";
	EXPECT_EQ(r->stdin_is_null.load(), 1);
	EXPECT_EQ(r->ppid.load(), (long)getppid()) << "ppid of the profiled process";
	close(extra);
}

TEST(SnapforkTest, PollNeverBlocksAndWaitAllDoes) {
	pid_t pid = snapfork_spawn(child_sleeps, nullptr, nullptr);
	ASSERT_GT(pid, 0);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	EXPECT_GT(snapfork_poll(), 0u) << "a running child is pending";
	clock_gettime(CLOCK_MONOTONIC, &t1);
	EXPECT_LT(t1.tv_sec - t0.tv_sec, 1);   // WNOHANG: no 300 ms wait
	snapfork_wait_all();
	EXPECT_EQ(snapfork_poll(), 0u);
	EXPECT_FALSE(is_zombie_or_alive(pid));
}

TEST(SnapforkTest, FailingAndCrashingChildrenAreReaped) {
	pid_t a = snapfork_spawn(child_fails, nullptr, nullptr);
	pid_t b = snapfork_spawn(child_crashes, nullptr, nullptr);
	ASSERT_GT(a, 0);
	ASSERT_GT(b, 0);
	snapfork_wait_all();   // prints one line for the signal, on stderr
	EXPECT_EQ(snapfork_poll(), 0u);
	EXPECT_FALSE(is_zombie_or_alive(a));
	EXPECT_FALSE(is_zombie_or_alive(b));
}

TEST(SnapforkTest, ChildIsInvisibleToTheApplicationsWaits) {
	// snapfork.c note 10: a clone child with no exit signal.
	pid_t pid = snapfork_spawn(child_fails, nullptr, nullptr);
	ASSERT_GT(pid, 0);
	int status;
	usleep(100000);   // it has exited by now
	errno = 0;
	EXPECT_EQ(waitpid(-1, &status, WNOHANG), -1);
	EXPECT_EQ(errno, ECHILD);
	siginfo_t si;
	EXPECT_EQ(waitid(P_ALL, 0, &si, WEXITED | WNOHANG), -1);
	EXPECT_EQ(wait(&status), -1);
	snapfork_wait_all();   // ours reaps it
	EXPECT_EQ(waitpid(pid, &status, WNOHANG | __WALL), -1) << "reaped";
}

TEST(SnapforkTest, ChildReapedByTheApplicationIsDroppedQuietly) {
	pid_t pid = snapfork_spawn(child_fails, nullptr, nullptr);
	ASSERT_GT(pid, 0);
	int status;
	// Only an application waiting with __WALL can take our child first.
	ASSERT_EQ(waitpid(-1, &status, __WALL), pid);
	EXPECT_EQ(snapfork_poll(), 0u) << "ECHILD must free the slot";
	snapfork_wait_all();   // nothing left: returns at once
}

TEST(SnapforkTest, OnlyOurOwnChildrenAreReaped) {
	pid_t mine = fork();   // the application's own child
	ASSERT_GE(mine, 0);
	if (mine == 0)
		_exit(7);
	pid_t ours = snapfork_spawn(child_fails, nullptr, nullptr);
	ASSERT_GT(ours, 0);
	snapfork_wait_all();
	EXPECT_EQ(snapfork_poll(), 0u);
	int status = 0;
	ASSERT_EQ(waitpid(mine, &status, 0), mine) << "the application's child was taken";
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(WEXITSTATUS(status), 7);
}

TEST(SnapforkTest, SharedStateIsSeenByTheParent) {
	struct { unsigned seq; } init = {41};
	auto *sh = static_cast<decltype(init) *>(snapfork_shared_new(&init, sizeof init));
	ASSERT_NE(sh, nullptr);
	EXPECT_EQ(sh->seq, 41u);
	pid_t pid = snapfork_spawn([](void *p) -> int {
		static_cast<decltype(init) *>(p)->seq = 42;
		return 0;
	}, sh, nullptr);
	ASSERT_GT(pid, 0);
	snapfork_wait_all();
	EXPECT_EQ(sh->seq, 42u);
}

TEST(SnapforkTest, AnApplicationForkChildIsNotASnapshotChild) {
	pid_t pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0)
		_exit(snapfork_in_child() == 0 && snapfork_poll() == 0 ? 0 : 1);
	int status = 0;
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(WEXITSTATUS(status), 0);
}

}  // namespace
