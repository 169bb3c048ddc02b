"""Stopping a mount whatever the server and the daemon are doing, and what the daemon keeps of the password.

`qfuse unmount` must return within a second with the server dead, with the daemon stopped (SIGSTOP), and with
requests pending on a stopped server (it then detaches lazily); a daemon whose mount is gone exits within its
drain timeout even when requests are still unanswered."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from conftest import QFUSE_BIN, Api, MiB, abort_fuse_connection, attempt, mounted_at, pid_alive

UNMOUNT_BOUND_S = 1.0
# FUSEConfiguration.drainTimeout (10 s) plus the time to log and exit.
DRAIN_BOUND_S = 13


def timed_unmount(m) -> tuple[float, list[str]]:
    notes: list[str] = []
    t0 = time.monotonic()
    rc = attempt([QFUSE_BIN, 'unmount', m.mountpoint], 30, notes)
    took = time.monotonic() - t0
    print(f'[mount] qfuse unmount took {took * 1000:.0f} ms (exit {rc})')
    assert rc == 0, notes
    return took, notes


def wait_exit(pid: int, seconds: float) -> float | None:
    t0 = time.monotonic()
    while pid_alive(pid):
        if time.monotonic() - t0 > seconds:
            return None
        time.sleep(0.05)
    return time.monotonic() - t0


def test_unmount_with_the_server_dead_is_prompt(mounts, own_sandbox):
    sb = own_sandbox
    m = mounts(sb)
    os.listdir(m.mountpoint)
    os.kill(sb.proc.pid, signal.SIGKILL)
    sb.stop()
    # The attribute timeout passes: a stat of the mountpoint would now have to ask the dead server.
    time.sleep(1.5)
    took, _ = timed_unmount(m)
    assert mounted_at(m.mountpoint) is None
    assert took < UNMOUNT_BOUND_S, f'qfuse unmount took {took:.1f} s with the server dead'
    assert m.wait_daemon_exit(), m.log_tail()


def test_unmount_with_the_daemon_stopped_is_prompt(mounts, own_sandbox):
    m = mounts(own_sandbox)
    os.listdir(m.mountpoint)
    time.sleep(1.5)
    os.kill(m.pid, signal.SIGSTOP)
    try:
        took, _ = timed_unmount(m)
        assert mounted_at(m.mountpoint) is None
    finally:
        os.kill(m.pid, signal.SIGCONT)
    assert took < UNMOUNT_BOUND_S, f'qfuse unmount took {took:.1f} s with the daemon stopped'
    assert m.wait_daemon_exit(), m.log_tail()


def test_detached_mount_with_requests_pending_lets_the_daemon_exit(mounts, own_sandbox):
    sb = own_sandbox
    api = Api(sb, validate=False)
    api.login()
    api.make_file('/', 'w.bin', b'')
    # A long retry budget: the upload stays pending on the stopped server for the whole test.
    m = mounts(sb, extra=['--timeout', '120'])
    writer = subprocess.Popen(
        [sys.executable, '-c', 'import sys; f = open(sys.argv[1], "r+b"); sys.stdin.readline(); '
         'f.write(bytes(4 << 20)); f.close()', m.path('w.bin')],
        start_new_session=True, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    notes: list[str] = []
    try:
        time.sleep(1.5)
        os.kill(sb.proc.pid, signal.SIGSTOP)
        # The close uploads to the stopped server: its FLUSH stays unanswered, and the open file keeps the
        # mount busy.
        writer.stdin.write(b'go\n')
        writer.stdin.flush()
        time.sleep(1)
        assert writer.poll() is None, 'the writer finished although the server is stopped'
        took, _ = timed_unmount(m)
        assert mounted_at(m.mountpoint) is None, 'still in the mount table after qfuse unmount'
        assert took < UNMOUNT_BOUND_S, f'qfuse unmount took {took:.1f} s with requests pending'
        # The detached mount's connection ends with the upload still unanswered: the daemon drains for its
        # timeout and exits, whatever the stopped server does.
        abort_fuse_connection(m.minor, notes)
        exited = wait_exit(m.pid, DRAIN_BOUND_S + 20)
        print(f'[mount] the daemon exited {exited} s after its mount was gone')
        assert exited is not None and exited < DRAIN_BOUND_S, \
            f'the daemon still ran {DRAIN_BOUND_S} s after its mount was gone\n{m.log_tail()}'
    finally:
        if writer.poll() is None:
            os.killpg(writer.pid, signal.SIGKILL)
        writer.wait(30)
        os.kill(sb.proc.pid, signal.SIGCONT)


def test_the_daemon_environment_holds_no_password(mounts, own_sandbox):
    sb = own_sandbox
    m = mounts(sb)
    with open(f'/proc/{m.pid}/environ', 'rb') as f:
        environ = f.read().split(b'\0')
    assert not [v for v in environ if v.startswith(b'QUMULO_PASSWORD=')], 'QUMULO_PASSWORD in the daemon'
    assert not [v for v in environ if sb.password.encode() in v], 'the password in the daemon environment'
    with open(f'/proc/{m.pid}/cmdline', 'rb') as f:
        assert sb.password.encode() not in f.read(), 'the password in the daemon command line'
    # It still works: the session it holds serves the mount.
    api = Api(sb, validate=False)
    api.login()
    api.make_file('/', 'seen.txt', b'hello')
    with open(m.path('seen.txt'), 'rb') as f:
        assert f.read() == b'hello'
