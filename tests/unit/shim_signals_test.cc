// shim_signals_test.cc - shim/runtime/signals.c against the kernel itself.
//
// The contract (signals.c's head): for any sequence of signal-setting calls
// and deliveries, the application observes exactly what it would without
// the shim, and the shim gets a dump request for each delivery that is not
// ignored.  So each scenario runs twice, in two forked children: once
// plain (the reference: libc and the kernel alone) and once after
// sig_take_over(SIGUSR1).  Both write a trace of everything an application
// can observe (old actions as sigaction reports them, bit for bit; which
// handler ran, nested how deep, with which signals blocked; errno across
// the handler; pending signals; what a fork, a vfork and an exec'd child
// see), and the traces must be equal.  Named scenarios cover the cases of
// issue 10 (faulthandler's chain, a vfork child resetting the handler,
// SA_RESETHAND, SIG_IGN across exec); random sequences cover the rest.
#include <gtest/gtest.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

// The deprecated System V calls are exactly what is under test here.
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

#include <functional>
#include <random>
#include <string>
#include <vector>

extern "C" {
#include "shim/runtime/signals.h"
}

extern char **environ;

namespace {

// ---- what a child records ----------------------------------------------

// Each line goes at once to the parent through a pipe (write(2), safe in a
// handler), so a child that dies still leaves its trace up to that point.
int g_fd = -1;
int g_depth;
// Whether the scenario has set an action yet: before that, SIG_DFL is the
// disposition the process started with, where the shim dumps and the
// reference dies (signals.c note 4, the one allowed difference).
bool g_set;
volatile sig_atomic_t g_requests;

void emit(const char *s) {
  char line[512];
  int n = snprintf(line, sizeof line, "%s\n", s);
  (void)!write(g_fd, line, n < (int)sizeof line ? n : sizeof line - 1);
}

void emitf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void emitf(const char *fmt, ...) {
  char buf[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  emit(buf);
}

void on_request() { g_requests = g_requests + 1; }

std::string blocked_now() {
  sigset_t cur;
  pthread_sigmask(SIG_BLOCK, nullptr, &cur);
  std::string s;
  for (int sig : {SIGUSR1, SIGUSR2, SIGHUP})
    s += sigismember(&cur, sig) ? '1' : '0';
  return s;
}

void h_plain(int sig);
void h_reinstall(int sig);
void h_chain(int sig);
void h_nest(int sig);
void h_switch(int sig);
void h_info(int sig, siginfo_t *info, void *uctx);

using Handler = void (*)(int);
const Handler kHandlers[] = {h_plain, h_reinstall, h_chain, h_nest,
                             h_switch};
const int kNumHandlers = 5;

// A name for a handler value as sigaction reports it.
std::string handler_name(const struct sigaction &a) {
  if (a.sa_handler == SIG_DFL) return "DFL";
  if (a.sa_handler == SIG_IGN) return "IGN";
  if (a.sa_sigaction == h_info) return "Hinfo";
  for (int i = 0; i < kNumHandlers; i++)
    if (a.sa_handler == kHandlers[i]) return "H" + std::to_string(i);
  return "unknown";
}

// Every bit libc reports, the kernel's 64 signals of the mask, and the
// restorer as equal or not to the reference's (it is a libc address: the
// same in both children, forked from one parent).
std::string describe(const struct sigaction &a) {
  char buf[160];
  unsigned long long mask = 0;
  for (int s = 1; s <= 64; s++)
    if (sigismember(&a.sa_mask, s) == 1) mask |= 1ull << (s - 1);
  snprintf(buf, sizeof buf, "%s flags=%#x mask=%#llx restorer=%p",
           handler_name(a).c_str(), (unsigned)a.sa_flags, mask,
           (void *)a.sa_restorer);
  return buf;
}

void handler_entry(const char *name, int sig) {
  g_depth++;
  emitf("%s sig=%d depth=%d blocked=%s errno=%d", name, sig, g_depth,
        blocked_now().c_str(), errno);
  errno = 1000 + g_depth;  // what the interrupted code must see after
}

void h_plain(int sig) {
  handler_entry("H0", sig);
  g_depth--;
}

// The System V idiom: a one-shot handler that reinstalls itself first.
void h_reinstall(int sig) {
  handler_entry("H1", sig);
  struct sigaction a = {};
  a.sa_handler = h_reinstall;
  a.sa_flags = SA_RESETHAND;
  sigaction(SIGUSR1, &a, nullptr);
  g_depth--;
}

// faulthandler's chain: put the previous handler back, raise the signal
// for it, then install ourselves again (CPython's faulthandler_user).
void h_chain(int sig) {
  handler_entry("H2", sig);
  struct sigaction prev = {}, self = {};
  prev.sa_handler = h_plain;
  prev.sa_flags = SA_RESTART;
  sigaction(SIGUSR1, &prev, nullptr);
  raise(SIGUSR1);
  self.sa_handler = h_chain;
  self.sa_flags = SA_NODEFER | SA_ONSTACK;
  sigaction(SIGUSR1, &self, nullptr);
  emit("H2 back");
  g_depth--;
}

// Raises its own signal once more from inside (nested if NODEFER, after
// it returns if not), at most twice per delivery so it cannot loop.
int g_nest_budget;

void h_nest(int sig) {
  handler_entry("H3", sig);
  if (g_depth < 2 && g_nest_budget-- > 0) raise(SIGUSR1);
  emit("H3 out");
  g_depth--;
}

// Switches the disposition to H0 with signal() from inside.
void h_switch(int sig) {
  handler_entry("H4", sig);
  signal(SIGUSR1, h_plain);
  g_depth--;
}

void h_info(int sig, siginfo_t *info, void *uctx) {
  handler_entry("Hinfo", sig);
  emitf("Hinfo si_signo=%d code_is_tkill=%d uctx=%d", info->si_signo,
        info->si_code == SI_TKILL, uctx != nullptr);
  g_depth--;
}

// ---- the operations -------------------------------------------------------

void query(const char *what) {
  struct sigaction a;
  memset(&a, 0x5a, sizeof a);  // glibc writes only the kernel's part
  int rc = sigaction(SIGUSR1, nullptr, &a);
  emitf("%s rc=%d %s tail=%02x", what, rc, describe(a).c_str(),
        ((unsigned char *)&a.sa_mask)[sizeof a.sa_mask - 1]);
}

int current_is_dfl() {
  struct sigaction a;
  sigaction(SIGUSR1, nullptr, &a);
  return a.sa_handler == SIG_DFL;
}

// A delivery, unless the action is the SIG_DFL the process started with
// (the one difference the contract allows, tested alone).  At a SIG_DFL
// the program set, both children must die the same way.
void deliver() {
  sigset_t pend;
  if (current_is_dfl() && !g_set) {
    emit("raise skipped (DFL)");
    return;
  }
  errno = 7;
  g_nest_budget = 2;
  raise(SIGUSR1);
  emitf("raised errno=%d", errno);
  sigpending(&pend);
  emitf("pending=%d", sigismember(&pend, SIGUSR1));
}

void install(int handler, int flags, int mask_bits, bool info) {
  struct sigaction a, old;
  g_set = true;
  memset(&a, 0, sizeof a);
  if (info)
    a.sa_sigaction = h_info;
  else
    a.sa_handler = kHandlers[handler];
  a.sa_flags = flags | (info ? SA_SIGINFO : 0);
  sigemptyset(&a.sa_mask);
  if (mask_bits & 1) sigaddset(&a.sa_mask, SIGUSR2);
  if (mask_bits & 2) sigaddset(&a.sa_mask, SIGHUP);
  if (mask_bits & 4) sigaddset(&a.sa_mask, SIGKILL);  // the kernel drops it
  memset(&old, 0x33, sizeof old);
  int rc = sigaction(SIGUSR1, &a, &old);
  emitf("install rc=%d old=%s", rc, describe(old).c_str());
}

void set_disposition(Handler h, int via) {
  struct sigaction a = {}, old;
  g_set = true;
  a.sa_handler = h;
  switch (via) {
    case 0: {
      int rc = sigaction(SIGUSR1, &a, &old);
      emitf("sigaction(%s) rc=%d old=%s", h == SIG_IGN ? "IGN" : "DFL", rc,
            describe(old).c_str());
      break;
    }
    case 1: {
      Handler prev = signal(SIGUSR1, h);
      a.sa_handler = prev;
      emitf("signal() old=%s", handler_name(a).c_str());
      break;
    }
    default: {
      int rc = h == SIG_IGN ? sigignore(SIGUSR1) : -2;
      if (rc == -2) {
        Handler prev = sigset(SIGUSR1, h);
        a.sa_handler = prev;
        emitf("sigset() old=%s", prev == SIG_HOLD ? "HOLD"
                                                  : handler_name(a).c_str());
      } else {
        emitf("sigignore rc=%d", rc);
      }
    }
  }
}

void block(bool on) {
  sigset_t s, pend;
  sigpending(&pend);
  if (!on && !g_set && current_is_dfl() && sigismember(&pend, SIGUSR1)) {
    emit("unblock skipped (DFL, pending)");  // the reference would die
    return;
  }
  g_nest_budget = 2;
  sigemptyset(&s);
  sigaddset(&s, SIGUSR1);
  sigprocmask(on ? SIG_BLOCK : SIG_UNBLOCK, &s, nullptr);
  emitf("%s", on ? "blocked" : "unblocked");
}

// A fork child reports its action and takes one delivery.
void forked() {
  int fds[2];
  if (pipe(fds) != 0) return;
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    g_fd = fds[1];
    query("fork child");
    deliver();
    _exit(0);
  }
  close(fds[1]);
  char buf[4096];
  ssize_t n;
  std::string got;
  while ((n = read(fds[0], buf, sizeof buf)) > 0) got.append(buf, n);
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  for (char &c : got)
    if (c == '\n') c = ';';
  emitf("fork child said {%s} status=%d", got.c_str(), status);
}

// What _posixsubprocess (3.10+) and posix_spawn do: a vfork child that
// resets the handler to SIG_DFL in memory it shares with us.
void vforked() {
  pid_t pid = vfork();
  if (pid == 0) {
    struct sigaction dfl = {}, old;
    dfl.sa_handler = SIG_DFL;
    sigaction(SIGUSR1, nullptr, &old);
    if (old.sa_handler != SIG_DFL && old.sa_handler != SIG_IGN)
      sigaction(SIGUSR1, &dfl, nullptr);
    _exit(old.sa_handler == SIG_IGN ? 3 : 4);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  emitf("vfork child status=%d", WEXITSTATUS(status));
}

// An exec'd child (posix_spawn: glibc's own vfork, no call of ours):
// whether it ignores SIGUSR1, read from its SigIgn.
void execed() {
  int fds[2];
  if (pipe(fds) != 0) return;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
  posix_spawn_file_actions_addclose(&fa, fds[0]);
  const char *argv[] = {"/bin/grep", "SigIgn", "/proc/self/status", nullptr};
  pid_t pid;
  int rc = posix_spawn(&pid, "/bin/grep", &fa, nullptr,
                       const_cast<char **>(argv), environ);
  posix_spawn_file_actions_destroy(&fa);
  close(fds[1]);
  char buf[256] = {};
  ssize_t n = rc == 0 ? read(fds[0], buf, sizeof buf - 1) : 0;
  close(fds[0]);
  if (rc == 0) waitpid(pid, nullptr, 0);
  unsigned long long mask = 0;
  sscanf(buf, "SigIgn: %llx", &mask);
  emitf("exec child rc=%d n>0=%d ignores USR1=%d", rc, n > 0,
        (int)((mask >> (SIGUSR1 - 1)) & 1));
}

void interrupt(int flag) {
  g_set = true;
  int rc = siginterrupt(SIGUSR1, flag);
  emitf("siginterrupt(%d) rc=%d", flag, rc);
}

// ---- running a scenario twice ------------------------------------------------

using Scenario = std::function<void()>;

struct Outcome {
  std::string trace;
  int requests = -1;
  int status = -1;
};

Outcome run_child(const Scenario &sc, bool shim) {
  int fds[2];
  EXPECT_EQ(pipe(fds), 0);
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    g_fd = fds[1];
    g_depth = 0;
    g_requests = 0;
    g_set = false;
    alarm(10);  // a loop (the faulthandler bug) fails, never hangs
    if (shim && sig_take_over(SIGUSR1, on_request) != 0) _exit(99);
    query("start");
    sc();
    query("end");
    char tail[64];
    int n = snprintf(tail, sizeof tail, "\x01%d", (int)g_requests);
    (void)!write(fds[1], tail, n);
    _exit(0);
  }
  close(fds[1]);
  std::string got;
  char buf[4096];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof buf)) > 0) got.append(buf, n);
  close(fds[0]);
  Outcome o;
  waitpid(pid, &o.status, 0);
  size_t cut = got.rfind('\x01');
  if (cut != std::string::npos) {
    o.requests = atoi(got.c_str() + cut + 1);
    got.resize(cut);
  }
  o.trace = got;
  return o;
}

// The shim child's trace is the reference's (plus requests).
Outcome expect_same(const Scenario &sc, const std::string &name) {
  Outcome ref = run_child(sc, false), ours = run_child(sc, true);
  EXPECT_EQ(ref.status, 0) << name << ": reference child died\n" << ref.trace;
  EXPECT_EQ(ours.status, 0) << name << ": shim child died\n" << ours.trace;
  EXPECT_EQ(ref.trace, ours.trace) << name;
  return ours;
}

// ---- named scenarios (issue 10) ---------------------------------------------

TEST(ShimSignals, HandlerRunsAndRequestsADump) {
  Outcome o = expect_same([] {
    install(0, SA_RESTART, 0, false);
    deliver();
  }, "plain");
  EXPECT_EQ(o.requests, 1);
  EXPECT_NE(o.trace.find("H0 sig=10 depth=1 blocked=100 errno=7"),
            std::string::npos)
      << o.trace;
  EXPECT_NE(o.trace.find("raised errno=1001"), std::string::npos) << o.trace;
}

TEST(ShimSignals, FaulthandlerChainReturns) {
  // Used to loop for ever: the re-raised signal came back to our handler.
  Outcome o = expect_same([] {
    install(2, SA_NODEFER | SA_ONSTACK, 0, false);
    deliver();
    deliver();
  }, "faulthandler chain");
  EXPECT_EQ(o.requests, 4);  // two deliveries, each raised once more
  EXPECT_NE(o.trace.find("H0 sig=10 depth=2"), std::string::npos) << o.trace;
}

TEST(ShimSignals, VforkChildDoesNotResetTheParent) {
  // CPython's _posixsubprocess (3.10+) vfork child resets handlers to
  // SIG_DFL; through the shim that used to overwrite the parent's record.
  Outcome o = expect_same([] {
    install(0, 0, 0, false);
    vforked();
    query("after vfork");
    deliver();
  }, "vfork");
  EXPECT_NE(o.trace.find("after vfork rc=0 H0"), std::string::npos) << o.trace;
  EXPECT_NE(o.trace.find("vfork child status=4"), std::string::npos);
  EXPECT_EQ(o.requests, 1);
}

TEST(ShimSignals, ResetHandIsBeforeTheHandler) {
  Outcome o = expect_same([] {
    install(1, SA_RESETHAND, 0, false);  // reinstalls itself
    deliver();
    deliver();
    install(0, SA_RESETHAND | SA_NODEFER, 3, false);
    deliver();
    query("after one shot");
  }, "resethand");
  EXPECT_NE(o.trace.find("after one shot rc=0 DFL"), std::string::npos)
      << o.trace;
}

TEST(ShimSignals, IgnoredStaysIgnoredAcrossExec) {
  Outcome o = expect_same([] {
    install(0, 0, 0, false);
    execed();
    set_disposition(SIG_IGN, 0);
    block(true);
    raise(SIGUSR1);
    deliver();  // ignored: discarded, not pending
    block(false);
    execed();
    set_disposition(SIG_IGN, 2);  // sigignore
  }, "ignored");
  EXPECT_NE(o.trace.find("exec child rc=0 n>0=1 ignores USR1=1"),
            std::string::npos)
      << o.trace;
  EXPECT_EQ(o.requests, 0);
}

TEST(ShimSignals, InheritedIgnoreIsKept) {
  // A process started with SIGUSR1 ignored (a parent's SIG_IGN survives
  // exec): after the take-over the kernel still ignores it, sigaction
  // reports SIG_IGN, and a handler set later is ours again.
  pid_t pid = fork();
  if (pid == 0) {
    struct sigaction ign = {}, k, rep, h = {};
    ign.sa_handler = SIG_IGN;
    sig_sys_sigaction(SIGUSR1, &ign, nullptr);
    if (sig_take_over(SIGUSR1, on_request) != 0) _exit(1);
    sig_sys_sigaction(SIGUSR1, nullptr, &k);
    sigaction(SIGUSR1, nullptr, &rep);
    if (k.sa_handler != SIG_IGN || rep.sa_handler != SIG_IGN) _exit(2);
    raise(SIGUSR1);
    if (g_requests != 0) _exit(3);
    h.sa_handler = h_plain;
    sigaction(SIGUSR1, &h, nullptr);
    sig_sys_sigaction(SIGUSR1, nullptr, &k);
    if (k.sa_handler == SIG_IGN || k.sa_handler == h_plain) _exit(4);
    raise(SIGUSR1);
    _exit(g_requests == 1 ? 0 : 5);
  }
  int status;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST(ShimSignals, BlockedSignalWaitsForUnblock) {
  Outcome o = expect_same([] {
    install(3, SA_NODEFER, 1, false);
    block(true);
    raise(SIGUSR1);
    deliver();
    block(false);
    install(3, 0, 2, false);
    deliver();
  }, "blocked");
  EXPECT_GE(o.requests, 3);
}

TEST(ShimSignals, SiginfoHandler) {
  expect_same([] {
    install(0, 0, 0, true);
    deliver();
  }, "siginfo");
}

TEST(ShimSignals, SignalFamilyAndSiginterrupt) {
  expect_same([] {
    g_set = true;
    signal(SIGUSR1, h_plain);
    query("after signal");
    interrupt(1);
    query("after siginterrupt(1)");
    signal(SIGUSR1, h_switch);
    query("signal after siginterrupt");
    deliver();
    interrupt(0);
    sysv_signal(SIGUSR1, h_plain);
    query("after sysv_signal");
    deliver();
    query("after sysv one shot");
    sigset(SIGUSR1, h_plain);
    query("after sigset");
    emitf("sigset hold=%d", sigset(SIGUSR1, SIG_HOLD) == h_plain);
    emitf("sigset hold again=%d", sigset(SIGUSR1, SIG_HOLD) == SIG_HOLD);
    emitf("sigset back=%d", sigset(SIGUSR1, h_nest) == SIG_HOLD);
    deliver();
    emitf("signal(SIG_ERR)=%d errno=%d", signal(SIGUSR1, SIG_ERR) == SIG_ERR,
          errno);
  }, "signal family");
}

TEST(ShimSignals, ForkChildKeepsItsOwnHandler) {
  Outcome o = expect_same([] {
    install(0, SA_RESTART, 0, false);
    forked();
    deliver();
    install(4, 0, 0, false);
    forked();
    deliver();
  }, "fork");
  EXPECT_NE(o.trace.find("fork child said {fork child rc=0 H0"),
            std::string::npos)
      << o.trace;
}

TEST(ShimSignals, SameStructForActAndOld) {
  expect_same([] {
    // Through a pointer the compiler cannot see is the same (restrict).
    struct sigaction a = {};
    struct sigaction *volatile same = &a;
    g_set = true;
    a.sa_handler = h_plain;
    sigaction(SIGUSR1, &a, same);
    emitf("old in place=%s", describe(a).c_str());
    query("installed");
  }, "act == old");
}

TEST(ShimSignals, OtherSignalsAreUntouched) {
  // Only the dump signal is virtual: SIGUSR2 goes straight to libc.
  pid_t pid = fork();
  if (pid == 0) {
    if (sig_take_over(SIGUSR1, on_request) != 0) _exit(1);
    struct sigaction a = {}, k;
    a.sa_handler = h_plain;
    sigaction(SIGUSR2, &a, nullptr);
    sig_sys_sigaction(SIGUSR2, nullptr, &k);
    _exit(k.sa_handler == h_plain ? 0 : 2);
  }
  int status;
  waitpid(pid, &status, 0);
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST(ShimSignals, DefaultActionOnlyDumps) {
  // The one allowed difference (signals.c note 4): with SIG_DFL the
  // reference dies of SIGUSR1, the shim child takes a dump request.
  auto sc = [] {
    errno = 7;
    raise(SIGUSR1);
    emitf("survived errno=%d", errno);
  };
  Outcome ref = run_child(sc, false), ours = run_child(sc, true);
  EXPECT_TRUE(WIFSIGNALED(ref.status) && WTERMSIG(ref.status) == SIGUSR1);
  EXPECT_EQ(ours.status, 0);
  EXPECT_EQ(ours.requests, 1);
  EXPECT_NE(ours.trace.find("survived errno=7"), std::string::npos);
}

TEST(ShimSignals, DefaultSetByTheProgramKills) {
  // faulthandler.unregister and CPython's test_unregister: the program puts
  // SIG_DFL back itself, and the signal kills it, as without the shim.
  auto sc = [] {
    install(0, 0, 0, false);
    set_disposition(SIG_DFL, 1);
    raise(SIGUSR1);
    emit("survived");
  };
  Outcome ref = run_child(sc, false), ours = run_child(sc, true);
  EXPECT_TRUE(WIFSIGNALED(ref.status) && WTERMSIG(ref.status) == SIGUSR1);
  EXPECT_EQ(ours.status, ref.status);
  EXPECT_EQ(ours.trace, ref.trace);
  EXPECT_EQ(ours.trace.find("survived"), std::string::npos);
}

TEST(ShimSignals, TakeOverTwiceIsRefused) {
  pid_t pid = fork();
  if (pid == 0) {
    int a = sig_take_over(SIGUSR1, on_request);
    int b = sig_take_over(SIGUSR2, on_request);
    _exit(a == 0 && b == -1 && errno == EBUSY ? 0 : 1);
  }
  int status;
  waitpid(pid, &status, 0);
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

// ---- random sequences ---------------------------------------------------------

std::string op_name(int op, int a, int b, int c) {
  return std::to_string(op) + ":" + std::to_string(a) + "," +
         std::to_string(b) + "," + std::to_string(c);
}

TEST(ShimSignals, RandomSequencesMatchTheKernel) {
  static const int kFlags[] = {SA_RESTART, SA_NODEFER, (int)SA_RESETHAND,
                               SA_ONSTACK};
  std::mt19937 rng(20261203);
  const int kRounds = 1000;
  int mismatches = 0, dfl_deaths = 0;
  for (int round = 0; round < kRounds && mismatches < 3; round++) {
    std::vector<std::vector<int>> ops;
    int n = 4 + rng() % 12;
    for (int i = 0; i < n; i++)
      ops.push_back({(int)(rng() % 11), (int)(rng() % 64), (int)(rng() % 8),
                     (int)(rng() % 5)});
    std::string name = "round " + std::to_string(round) + ":";
    for (auto &o : ops) name += " " + op_name(o[0], o[1], o[2], o[3]);
    auto sc = [&ops] {
      for (auto &o : ops) {
        int flags = 0;
        for (int b = 0; b < 4; b++)
          if (o[1] & (1 << b)) flags |= kFlags[b];
        switch (o[0]) {
          case 0: case 1: case 2:
            install(o[3], flags, o[2], (o[1] & 16) != 0);
            break;
          case 3: deliver(); break;
          case 4: deliver(); deliver(); break;
          case 5: set_disposition(SIG_IGN, o[3] % 3); break;
          case 6: set_disposition(SIG_DFL, o[3] % 2); break;
          case 7: query("query"); break;
          case 8: block(o[2] & 1); if (!(o[2] & 1)) deliver(); break;
          case 9: if (o[3] == 0) forked(); else if (o[3] == 1) vforked();
                  else if (o[3] == 2) execed(); else interrupt(o[2] & 1);
                  break;
          case 10: g_set = true; signal(SIGUSR1, kHandlers[o[3]]);
                   deliver(); break;
        }
      }
    };
    Outcome ref = run_child(sc, false), ours = run_child(sc, true);
    if (WIFSIGNALED(ref.status)) dfl_deaths++;
    if (ref.trace != ours.trace || ref.status != ours.status) {
      mismatches++;
      ADD_FAILURE() << name << "\n--- reference (status " << ref.status
                    << ")\n" << ref.trace << "--- with the shim (status "
                    << ours.status << ")\n" << ours.trace;
    }
  }
  // Some sequences must end at a SIG_DFL the program set (both children
  // killed alike), most must run to their end.
  EXPECT_GT(dfl_deaths, 0);
  EXPECT_LT(dfl_deaths, kRounds / 3);
}

}  // namespace
