// What Swift cannot do with libfuse by itself: build `struct fuse_args` (FUSE_ARGS_INIT is a macro), call
// `fuse_session_new` through a real symbol (libfuse 3.17 turns it into a header wrapper), handle the exit
// signals in async-signal-safe C, and start the background mount process in a session of its own
// (POSIX_SPAWN_SETSID is a GNU extension Swift's Glibc module does not show).
//
// The declarations use no libfuse types, so Swift sees each libfuse type exactly once, from CFuse3.
#ifndef QFUSE_CFUSE3SHIM_H
#define QFUSE_CFUSE3SHIM_H

#include <stddef.h>
#include <sys/types.h>

/// Creates a low-level session for the mount options `options` (the text after `-o`), or returns NULL after
/// libfuse printed why (an unknown option, no memory).
///
/// `ops` points to a `struct fuse_lowlevel_ops` of `ops_size` bytes; libfuse copies it. `userdata` is what
/// `fuse_req_userdata` returns for every request of the session.
void *qfuse_session_new(const char *options, const void *ops, size_t ops_size, void *userdata);

/// Makes SIGHUP, SIGINT and SIGTERM end `session`'s loop, and ignores SIGPIPE.
///
/// Call it on the thread that then runs `fuse_session_loop_mt`: that thread waits in `sem_wait`, and only a
/// signal handled on that very thread interrupts the wait. It unblocks the three signals on that thread; a
/// signal that lands on any other thread (the Swift runtime's, NIO's) is forwarded to it. Returns 0, or -1 with
/// errno set.
int qfuse_exit_signals_install(void *session);

/// Detaches the handlers from the session (a late signal then does nothing) and restores the default actions.
void qfuse_exit_signals_remove(void);

/// The exit signal received since the handlers were installed, or 0.
int qfuse_exit_signal_received(void);

/// Starts `path` as a process of its own session (no controlling terminal), with no signal blocked and every
/// signal at its default action, stdin on `stdin_fd` (/dev/null when negative), stdout and stderr on the given
/// descriptors and no other descriptor open: how `qfuse mount` starts its background process without fork.
/// Returns 0 and the pid, or an errno.
int qfuse_spawn_detached(pid_t *pid, const char *path, char *const argv[], char *const envp[], int stdin_fd,
                         int stdout_fd, int stderr_fd);

#endif
