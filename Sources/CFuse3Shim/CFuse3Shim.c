#define _GNU_SOURCE // POSIX_SPAWN_SETSID

#ifndef FUSE_USE_VERSION
#define FUSE_USE_VERSION 312
#endif

#include "CFuse3Shim.h"

#include <errno.h>
#include <fuse_lowlevel.h>
#include <pthread.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <unistd.h>

void *qfuse_session_new(const char *options, const void *ops, size_t ops_size, void *userdata) {
    // fuse_session_new parses a copy of these; the strings only need to live for the call.
    char *argv[] = {"qfuse", "-o", (char *)options, NULL};
    struct fuse_args args = FUSE_ARGS_INIT(3, argv);
    struct fuse_session *session = fuse_session_new(&args, (const struct fuse_lowlevel_ops *)ops, ops_size, userdata);
    fuse_opt_free_args(&args);
    return session;
}

// Signal state is process-wide by nature, so it lives here, in the one place a handler can reach it safely.
// Written only by install/remove (before and after the loop), read by the handler.
static struct fuse_session *volatile exit_session;
static pthread_t loop_thread;
static volatile sig_atomic_t exit_signal;

static void on_exit_signal(int signo) {
    int saved_errno = errno;
    struct fuse_session *session = exit_session;
    if (session != NULL) {
        exit_signal = signo;
        // Only sets a flag in libfuse 3.14, as its own handler relies on.
        fuse_session_exit(session);
        // The loop thread sleeps in sem_wait, which only a signal handled on that thread interrupts;
        // pthread_kill is async-signal-safe.
        if (!pthread_equal(pthread_self(), loop_thread)) {
            pthread_kill(loop_thread, signo);
        }
    }
    errno = saved_errno;
}

static int set_handler(int signo, void (*handler)(int)) {
    struct sigaction action;
    memset(&action, 0, sizeof(action));
    action.sa_handler = handler;
    sigemptyset(&action.sa_mask);
    action.sa_flags = 0; // no SA_RESTART: the loop thread's sem_wait must fail with EINTR
    return sigaction(signo, &action, NULL);
}

int qfuse_exit_signals_install(void *session) {
    // Threads inherit the signal mask of the thread that created them, and Swift concurrency's worker threads
    // block most signals: unblock the exit signals here, or the handler could never run on the loop thread.
    sigset_t exit_signals;
    sigemptyset(&exit_signals);
    sigaddset(&exit_signals, SIGHUP);
    sigaddset(&exit_signals, SIGINT);
    sigaddset(&exit_signals, SIGTERM);
    pthread_sigmask(SIG_UNBLOCK, &exit_signals, NULL);

    loop_thread = pthread_self();
    exit_signal = 0;
    exit_session = session;
    if (set_handler(SIGHUP, on_exit_signal) == -1 || set_handler(SIGINT, on_exit_signal) == -1 ||
        set_handler(SIGTERM, on_exit_signal) == -1 || set_handler(SIGPIPE, SIG_IGN) == -1) {
        int saved_errno = errno;
        qfuse_exit_signals_remove();
        errno = saved_errno;
        return -1;
    }
    return 0;
}

void qfuse_exit_signals_remove(void) {
    exit_session = NULL;
    set_handler(SIGHUP, SIG_DFL);
    set_handler(SIGINT, SIG_DFL);
    set_handler(SIGTERM, SIG_DFL);
}

int qfuse_exit_signal_received(void) {
    return exit_signal;
}

int qfuse_spawn_detached(pid_t *pid, const char *path, char *const argv[], char *const envp[], int stdin_fd,
                         int stdout_fd, int stderr_fd) {
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attributes;
    int result = posix_spawn_file_actions_init(&actions);
    if (result != 0) return result;
    result = posix_spawnattr_init(&attributes);
    if (result != 0) {
        posix_spawn_file_actions_destroy(&actions);
        return result;
    }
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    if ((result = stdin_fd < 0 ? posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0)
                               : posix_spawn_file_actions_adddup2(&actions, stdin_fd, STDIN_FILENO)) == 0 &&
        (result = posix_spawn_file_actions_adddup2(&actions, stdout_fd, STDOUT_FILENO)) == 0 &&
        (result = posix_spawn_file_actions_adddup2(&actions, stderr_fd, STDERR_FILENO)) == 0 &&
        // A descriptor the starting process inherited (a pipe its own parent waits on for EOF) must not live on
        // in a process that runs for days.
        (result = posix_spawn_file_actions_addclosefrom_np(&actions, 3)) == 0 &&
        // The caller's thread may block signals (Swift's worker threads do); the child must not inherit that.
        (result = posix_spawnattr_setsigmask(&attributes, &none)) == 0 &&
        (result = posix_spawnattr_setsigdefault(&attributes, &all)) == 0 &&
        (result = posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK |
                                                        POSIX_SPAWN_SETSIGDEF)) == 0) {
        result = posix_spawn(pid, path, &actions, &attributes, argv, envp);
    }
    posix_spawnattr_destroy(&attributes);
    posix_spawn_file_actions_destroy(&actions);
    return result;
}
