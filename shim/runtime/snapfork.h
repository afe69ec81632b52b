/*
 * snapfork.h - fork-based snapshots (MUPPY_SNAPSHOT=fork): the thread that
 * holds the GIL forks; the child walks the copy-on-write heap, writes the
 * dump and _exit()s; the parent releases the GIL at once.
 *
 * It owns the fork, the child's process hygiene (signals, file
 * descriptors, how it leaves) and the reaping of our own children.  It
 * does not know how a snapshot is made or written: the child runs a
 * function handed in by shim.c (walk, META, output), so a forked dump goes
 * through exactly the code an inline dump does.  Facts and hazards:
 * docs/cpython.md, "Snapshots in a forked child";
 * why the choices below, in snapfork.c's DESIGN NOTES.
 */
#ifndef MUPPY_SHIM_SNAPFORK_H
#define MUPPY_SHIM_SNAPFORK_H

#include <stddef.h>      /* size_t */
#include <stdint.h>      /* uint64_t */
#include <sys/types.h>   /* pid_t */

/* Runs in the snapshot child, which has one thread: the caller of
 * snapfork_spawn, still "holding" the GIL.  Returns 0 when the dump was
 * written, non-zero otherwise (failures already reported). */
typedef int (*snapfork_child_fn)(void *ctx);

/*
 * Forks a snapshot child.  Precondition: the calling thread holds the GIL
 * (so pymalloc and the object graph are consistent in the copy) and the
 * interpreter is not finalizing.  In the child, child(ctx) runs and the
 * process leaves with _exit(); this function never returns there.  In the
 * parent it returns the child's pid, remembered for snapfork_poll/_wait_all,
 * and sets *pause_ns to the time spent here (the parent's GIL-held pause).
 * Returns -1 when fork() failed (ENOMEM, EAGAIN) or too many children are
 * pending: one `muppy:` line per cause has been written and the caller
 * takes the snapshot inline.
 */
pid_t snapfork_spawn(snapfork_child_fn child, void *ctx, uint64_t *pause_ns);

/* 1 in a snapshot child, 0 elsewhere.  Async-signal-safe: it is meant for
 * pthread_atfork child handlers, which must leave a snapshot child alone
 * (it is not a new profiled process: same pid in its dumps, no threads). */
int snapfork_in_child(void);

/* In a snapshot child: the parent's GIL-held pause in ns, as measured by
 * the parent (waits at most 1 s for it; 0 if it never came). */
uint64_t snapfork_parent_pause_ns(void);

/* The profiled process's parent pid: getppid(), except in a snapshot child
 * where it is the profiled process's own getppid() at fork time. */
pid_t snapfork_getppid(void);

/*
 * Reaps those of our snapshot children that have exited, without
 * blocking (waitpid on their own pids, never -1; a child already reaped by
 * the application, ECHILD, is dropped quietly).  Returns 0 when none is
 * pending, else how long (ns) the caller may sleep before polling again.
 */
uint64_t snapfork_poll(void);

/* Waits until every pending snapshot child of ours has exited and reaps
 * it.  Blocks: the caller must not hold the GIL. */
void snapfork_wait_all(void);

/* 1 once children kept crashing (snapfork.c design note 11): take no more
 * snapshots in this process (already said on stderr). */
int snapfork_gave_up(void);

/*
 * State that a snapshot child must be able to update for its parent (the
 * next sequence number, the causes already warned about): returns a
 * MAP_SHARED anonymous copy of init (len bytes), or NULL (then the caller
 * keeps its private copy; forked dumps then may repeat a warning or skip
 * a number).  The mapping is never freed: it lives as long as the
 * process.  Async-signal-safe (mmap and a byte copy), so a pthread_atfork
 * child handler may call it to give an application's fork child a table
 * of its own.
 */
void *snapfork_shared_new(const void *init, size_t len);

#endif /* MUPPY_SHIM_SNAPFORK_H */
