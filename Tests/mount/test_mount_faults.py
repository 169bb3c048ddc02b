"""Faults: the server dies in the middle of a read."""

from __future__ import annotations

import os
import signal
import subprocess
import time

from conftest import QFUSE_BIN, Api, MiB, ok, parse_totals, ref, unmount_with_server_gone, wait_until_moved

# A lost server must give an error, never a hung reader (design.md section 2). qfuse retries an
# idempotent request for up to 60 s (QumuloClientConfiguration.Retry.budget: "a lost server still
# gives an error within a minute") and `qfuse mount` has no option to shorten that or the
# connect/read timeouts, so the error may take a minute; 90 s is the bound.
EIO_BOUND_S = 90
# Past the bound, how long to keep waiting to tell a late error from a hang (for the report only).
HANG_S = 150
# Unmounting must not depend on the server.
UNMOUNT_BOUND_S = 10


def test_server_killed_mid_read_gives_an_io_error_and_unmounts(mounts, own_sandbox):
    sb = own_sandbox
    api = Api(sb, validate=False)
    api.login()
    # A sparse 4 GiB file: cheap to make, and far longer than what the mount reads ahead or caches.
    size = 4 << 30
    api.create('/', 'huge.bin')
    api.ok('PATCH', f'/v1/files/{ref("/huge.bin")}/info/attributes', {'size': str(size)})

    help_text = ok([QFUSE_BIN, 'mount', '--help']).out
    timeout_options = [w for w in help_text.split()
                       if w.startswith('--') and 'timeout' in w and w != '--attr-timeout']
    # --timeout bounds how long one request retries a lost server; a short one keeps the test short, and the
    # 90 s bound still holds with the default (30 s, plus the kernel asking once more).
    print(f'\n[mount] client timeout options of qfuse mount: {timeout_options or "none"}')
    short = ['--timeout', '10'] if '--timeout' in timeout_options else []
    m = mounts(sb, extra=['--read-ahead', '8M', '--cache-size', '64M'] + short)
    path = m.path('huge.bin')

    problems = []
    dd = subprocess.Popen(['dd', f'if={path}', 'of=/dev/null', 'bs=1M'], start_new_session=True,
                          stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        read_before = wait_until_moved(dd, 'rchar', 32 * MiB, 60)
        os.kill(sb.proc.pid, signal.SIGKILL)
        killed = time.monotonic()
        sb.stop()
        try:
            _, err = dd.communicate(timeout=EIO_BOUND_S)
        except subprocess.TimeoutExpired:
            try:
                _, err = dd.communicate(timeout=HANG_S - EIO_BOUND_S)
            except subprocess.TimeoutExpired:
                err = b''
        elapsed = time.monotonic() - killed
    finally:
        if dd.poll() is None:
            os.killpg(dd.pid, signal.SIGKILL)
            try:
                dd.wait(10)
            except subprocess.TimeoutExpired:
                m.abort_connection('dd did not die within 10 s of SIGKILL')
                dd.wait(10)
    err = err.decode('utf-8', 'replace').strip()
    first = err.splitlines()[0] if err else '(nothing)'
    print(f'[mount] dd ended {elapsed:.1f} s after the server was killed, having read '
          f'{read_before // MiB} MiB: exit {dd.returncode}, {first}')
    if elapsed > HANG_S:
        problems.append(f'dd still blocked {HANG_S} s after the server was killed (a hang); it had '
                        f'read {read_before} bytes')
    elif elapsed > EIO_BOUND_S:
        problems.append(f'dd failed only {elapsed:.0f} s after the server was killed (bound '
                        f'{EIO_BOUND_S} s): exit {dd.returncode}, {first}')
    elif dd.returncode == 0 or 'Input/output error' not in err:
        problems.append(f'dd after the server was killed: exit {dd.returncode}, want an '
                        f'"Input/output error"; stderr: {err}')

    # Unmounting needs no server: `qfuse unmount` returns promptly and the daemon exits.
    problems += unmount_with_server_gone(m, UNMOUNT_BOUND_S)
    totals = parse_totals(m.log())
    assert totals is not None and totals['client.errors'] > 0, totals
    assert not problems, '\n'.join(problems)
