"""Fixtures for the real-mount suite: the real `qfuse mount` binary over a qfuse-sandbox, driven with
ordinary tools (ls, cat, cp, diff, find, stat, sha256sum, dd, python) as subprocesses.

design.md section 6: a process that touches a stuck FUSE mount can hang in the kernel. So this process
never touches a mountpoint itself (no os.stat, os.listdir or os.path.exists on it): it reads the mount
table, and everything that reads the mount runs as a subprocess with a timeout. A subprocess that does
not finish is killed; if it cannot be killed (stuck in the kernel), the mount's FUSE connection is
aborted through fusectl, which fails the stuck request.

Every mount is unmounted in teardown however the test ended: `qfuse unmount`, then `fusermount3 -u`,
then `fusermount3 -uz`, then an abort through /sys/fs/fuse/connections/<minor>/abort; the daemon is
killed by its PID if it still runs. A failed test gets the daemon's log in its report. Mounts a crashed
earlier run of this suite left behind are cleaned up before the session starts.

Environment:
  QFUSE_BIN           the qfuse binary (default <repo>/.build/debug/qfuse)
  QFUSE_SANDBOX_BIN   the sandbox binary (default <repo>/.build/debug/qfuse-sandbox)
  QQ_BIN              the qq CLI (see Tests/conformance/harness.py)
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Optional, Sequence

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / 'conformance'))

import harness  # noqa: E402
from harness import QQ, Api, Sandbox, join, ref, rfc3339_ns  # noqa: E402,F401

REPO = HERE.parents[1]
QFUSE_BIN = Path(os.environ.get('QFUSE_BIN') or REPO / '.build' / 'debug' / 'qfuse')

# Every mountpoint of this suite has this marker and the pid of the pytest that made it in its path,
# so that a later session can tell a stale mount of a crashed run from a live one of a concurrent run.
MARKER = 'qfuse-mounttest'
MARKER_RE = re.compile(re.escape(MARKER) + r'-(\d+)-')

MOUNT_TIMEOUT_S = 150       # qfuse mount waits up to 120 s for its background process to report
UNMOUNT_TIMEOUT_S = 30
TOOL_TIMEOUT_S = 60         # default for a tool run on the mount
DAEMON_EXIT_TIMEOUT_S = 20  # after unmount, the daemon logs its totals and exits
KILL_WAIT_S = 10
FUSECTL = Path('/sys/fs/fuse/connections')


# ---------------------------------------------------------------------------------------------
# Subprocesses that can never hang the suite
# ---------------------------------------------------------------------------------------------

@dataclass
class Ran:
    argv: list[str]
    rc: int
    stdout: bytes
    stderr: str
    elapsed: float

    @property
    def out(self) -> str:
        return self.stdout.decode('utf-8', 'replace')

    def describe(self) -> str:
        out = self.out
        if len(out) > 2000:
            out = out[:1000] + f'\n... ({len(out)} characters) ...\n' + out[-1000:]
        return (f'$ {" ".join(self.argv)}\n-> exit {self.rc} after {self.elapsed:.2f}s\n'
                f'stdout: {out}\nstderr: {self.stderr[-3000:]}')


def _kill_group(proc: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
    """Signal the process group of a child started with start_new_session=True (its pgid is its pid)."""
    try:
        os.killpg(proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def run(argv: Sequence[Any], *, timeout: float = TOOL_TIMEOUT_S, cwd: Optional[Path | str] = None,
        input: Optional[bytes] = None, env: Optional[dict] = None) -> Ran:
    """Run a command in its own session with a hard timeout.

    On timeout the whole process group gets SIGKILL; if it still has not exited (a request stuck in
    the kernel), every FUSE connection of this session's mounts is aborted so that it can. Then the
    test fails with what the command printed so far."""
    argv = [str(a) for a in argv]
    t0 = time.monotonic()
    proc = subprocess.Popen(argv, cwd=cwd, env=env, start_new_session=True,
                            stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        out, err = proc.communicate(input, timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        try:
            out, err = proc.communicate(timeout=KILL_WAIT_S)
        except subprocess.TimeoutExpired:
            for m in list(Mount.live):
                m.abort_connection('a command on it did not die after SIGKILL')
            try:
                out, err = proc.communicate(timeout=KILL_WAIT_S)
            except subprocess.TimeoutExpired:
                out, err = b'', b'(could not be reaped)'
        pytest.fail(f'$ {" ".join(argv)}\ndid not finish within {timeout}s and was killed.\n'
                    f'stdout: {(out or b"")[-1500:]!r}\nstderr: {(err or b"")[-1500:]!r}',
                    pytrace=False)
    except BaseException:
        # Interrupted (the test's own time limit, Ctrl-C): the command must not outlive the test.
        reap(proc)
        raise
    return Ran(argv, proc.returncode, out, err.decode('utf-8', 'replace'), time.monotonic() - t0)


def reap(proc: subprocess.Popen) -> None:
    """Kill a child started with start_new_session=True and wait for it, boundedly: if SIGKILL does
    not end it (a request stuck in the kernel), abort the FUSE connections of this session's mounts."""
    if proc.poll() is not None:
        return
    _kill_group(proc)
    try:
        proc.wait(KILL_WAIT_S)
    except subprocess.TimeoutExpired:
        for m in list(Mount.live):
            m.abort_connection(f'pid {proc.pid} did not die after SIGKILL')
        try:
            proc.wait(KILL_WAIT_S)
        except subprocess.TimeoutExpired:
            pass


def ok(argv: Sequence[Any], **kw) -> Ran:
    """run(), asserting exit status 0."""
    r = run(argv, **kw)
    assert r.rc == 0, r.describe()
    return r


def attempt(argv: Sequence[Any], timeout: float, notes: list[str]) -> Optional[int]:
    """For clean-up: run a command, note its outcome, and never wait unboundedly (unlike
    subprocess.run, which waits for a killed child without a limit). Returns its exit status, or
    None if it timed out."""
    argv = [str(a) for a in argv]
    proc = subprocess.Popen(argv, start_new_session=True, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        try:
            proc.communicate(timeout=KILL_WAIT_S)
        except subprocess.TimeoutExpired:
            pass
        notes.append(f'{" ".join(argv)}: timed out after {timeout} s')
        return None
    notes.append(f'{" ".join(argv)}: exit {proc.returncode} {err.decode(errors="replace").strip()}')
    return proc.returncode


# ---------------------------------------------------------------------------------------------
# The mount table and processes, read without touching any mount
# ---------------------------------------------------------------------------------------------

@dataclass
class MountEntry:
    mountpoint: str
    fstype: str
    source: str
    minor: int


def _unescape(s: str) -> str:
    return re.sub(r'\\([0-7]{3})', lambda m: chr(int(m.group(1), 8)), s)


def mount_table() -> list[MountEntry]:
    entries = []
    with open('/proc/self/mountinfo') as f:
        for line in f:
            left, _, right = line.partition(' - ')
            fields = left.split()
            rest = right.split()
            if len(fields) < 5 or len(rest) < 2:
                continue
            minor = int(fields[2].split(':')[1])
            entries.append(MountEntry(_unescape(fields[4]), rest[0], _unescape(rest[1]), minor))
    return entries


def mounted_at(path: Path | str) -> Optional[MountEntry]:
    found = [e for e in mount_table() if e.mountpoint == str(path)]
    return found[-1] if found else None


def pid_alive(pid: int) -> bool:
    try:
        with open(f'/proc/{pid}/stat') as f:
            # A zombie is dead for our purposes.
            return f.read().rsplit(')', 1)[1].split()[0] != 'Z'
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False


def cmdline(pid: int) -> list[str]:
    try:
        with open(f'/proc/{pid}/cmdline', 'rb') as f:
            return [a.decode('utf-8', 'replace') for a in f.read().split(b'\0') if a]
    except OSError:
        return []


def daemon_pids(mountpoint: str) -> list[int]:
    """The background `qfuse mount --daemon` processes serving exactly this mountpoint."""
    pids = []
    for d in os.listdir('/proc'):
        if d.isdigit():
            args = cmdline(int(d))
            if args and '--daemon' in args and 'mount' in args and mountpoint in args:
                pids.append(int(d))
    return pids


def kill_pid(pid: int, what: str, notes: list[str]) -> None:
    """SIGTERM, then SIGKILL, one process by its id."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        if not pid_alive(pid):
            return
        notes.append(f'sent {sig.name} to {what} (pid {pid})')
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + KILL_WAIT_S
        while pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)


_fusectl_mounted_by_us = False


def abort_fuse_connection(minor: int, notes: list[str]) -> None:
    """Fail every request pending on FUSE connection `minor` (design.md section 6)."""
    global _fusectl_mounted_by_us
    conn = FUSECTL / str(minor)
    if not conn.exists() and not any(e.fstype == 'fusectl' for e in mount_table()):
        _fusectl_mounted_by_us = attempt(['mount', '-t', 'fusectl', 'none', FUSECTL], 10, notes) == 0
    if conn.exists():
        try:
            (conn / 'abort').write_text('1')
            notes.append(f'aborted FUSE connection {minor}')
        except OSError as e:
            notes.append(f'could not abort FUSE connection {minor}: {e}')


def force_unmount(mountpoint: str, minor: Optional[int], notes: list[str]) -> None:
    """Escalate until nothing is mounted at `mountpoint`: fusermount3 -u, then -uz, then an abort of
    the connection (and -uz again). The caller aborts too if the daemon then does not exit: a lazy
    unmount leaves the connection up while a request is stuck."""
    for argv in (['fusermount3', '-u', mountpoint], ['fusermount3', '-uz', mountpoint]):
        if mounted_at(mountpoint) is None:
            return
        attempt(argv, UNMOUNT_TIMEOUT_S, notes)
    entry = mounted_at(mountpoint)
    if entry is not None:
        abort_fuse_connection(minor if minor is not None else entry.minor, notes)
        attempt(['fusermount3', '-uz', mountpoint], UNMOUNT_TIMEOUT_S, notes)


# ---------------------------------------------------------------------------------------------
# A qfuse mount
# ---------------------------------------------------------------------------------------------

TOTALS_RE = re.compile(r'\[qfuse\] totals\s*$')


def parse_totals(log: str) -> Optional[dict[str, int]]:
    """The `key=value ... [qfuse] totals` line the daemon logs once at unmount."""
    lines = [ln for ln in log.splitlines() if TOTALS_RE.search(ln)]
    if not lines:
        return None
    return {k: int(v) for k, v in re.findall(r'(\S+)=(\d+)\b', lines[-1])}


class Mount:
    """One `qfuse mount` of a sandbox, run exactly as a user would (background daemon, log file)."""

    live: list['Mount'] = []

    def __init__(self, sandbox: Sandbox, workdir: Path, *, name: str = 'mnt',
                 attr_timeout: Optional[float] = None, read_only: bool = False,
                 extra: Sequence[str] = ()):
        self.sandbox = sandbox
        self.workdir = Path(workdir)
        assert MARKER_RE.search(str(self.workdir)), f'mount directory {workdir} lacks the marker'
        self.mountpoint = self.workdir / name
        self.log_file = self.workdir / f'{name}.log'
        self.attr_timeout = attr_timeout
        self.read_only = read_only
        self.extra = list(extra)
        self.minor: Optional[int] = None
        self.pid: Optional[int] = None
        self.totals: Optional[dict[str, int]] = None
        self.notes: list[str] = []

    def __str__(self) -> str:
        return str(self.mountpoint)

    def path(self, *parts: str) -> str:
        return os.path.join(str(self.mountpoint), *parts)

    @property
    def url(self) -> str:
        return f'https://{self.sandbox.host}:{self.sandbox.port}'

    def argv(self) -> list[str]:
        a = [str(QFUSE_BIN), 'mount', self.url, str(self.mountpoint), '--user', harness.USER,
             '--ca-cert', str(self.sandbox.root / 'tls' / 'cert.pem'), '--log-file', str(self.log_file)]
        if self.attr_timeout is not None:
            a += ['--attr-timeout', str(self.attr_timeout)]
        if self.read_only:
            a.append('--read-only')
        return a + self.extra

    def env(self) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith('QUMULO_')}
        env['QUMULO_PASSWORD'] = self.sandbox.password
        return env

    def start(self) -> 'Mount':
        if not QFUSE_BIN.exists():
            pytest.fail(f'qfuse binary not found at {QFUSE_BIN}; build it (swift build --product qfuse) '
                        f'or set QFUSE_BIN', pytrace=False)
        self.mountpoint.mkdir(parents=True, exist_ok=True)
        Mount.live.append(self)
        r = run(self.argv(), timeout=MOUNT_TIMEOUT_S, env=self.env())
        entry = mounted_at(self.mountpoint)
        if entry is not None:
            self.minor = entry.minor
        pids = daemon_pids(str(self.mountpoint))
        self.pid = pids[0] if pids else None
        assert r.rc == 0, f'qfuse mount failed\n{r.describe()}\nlog:\n{self.log_tail()}'
        assert entry is not None and entry.fstype.startswith('fuse'), \
            f'qfuse mount returned 0 but {self.mountpoint} is not in the mount table\n{self.log_tail()}'
        assert self.pid is not None, f'no background qfuse process serves {self.mountpoint}'
        return self

    def log(self) -> str:
        try:
            return self.log_file.read_text(errors='replace')
        except FileNotFoundError:
            return ''

    def log_tail(self, n: int = 6000) -> str:
        text = self.log()
        return text if len(text) <= n else '...\n' + text[-n:]

    @property
    def mounted(self) -> bool:
        return mounted_at(self.mountpoint) is not None

    def wait_daemon_exit(self, timeout: float = DAEMON_EXIT_TIMEOUT_S) -> bool:
        deadline = time.monotonic() + timeout
        while self.pid is not None and pid_alive(self.pid):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True

    def unmount(self) -> dict[str, int]:
        """The clean way: `qfuse unmount`, then the daemon exits after logging its totals."""
        r = run([QFUSE_BIN, 'unmount', self.mountpoint], timeout=UNMOUNT_TIMEOUT_S)
        assert r.rc == 0, f'qfuse unmount failed\n{r.describe()}\nlog:\n{self.log_tail()}'
        assert not self.mounted, f'{self.mountpoint} still mounted after qfuse unmount'
        assert self.wait_daemon_exit(), (f'the daemon (pid {self.pid}) still runs '
                                         f'{DAEMON_EXIT_TIMEOUT_S}s after unmount\n{self.log_tail()}')
        if self in Mount.live:
            Mount.live.remove(self)
        self.totals = parse_totals(self.log())
        assert self.totals is not None, f'no totals line in the daemon log\n{self.log_tail()}'
        return self.totals

    def abort_connection(self, why: str) -> None:
        self.notes.append(f'aborting: {why}')
        minor = self.minor
        if minor is None:
            entry = mounted_at(self.mountpoint)
            minor = entry.minor if entry else None
        if minor is not None:
            abort_fuse_connection(minor, self.notes)

    def cleanup(self, try_qfuse_unmount: bool = True) -> list[str]:
        """Unmount and stop the daemon whatever state they are in; returns what it had to do."""
        if self in Mount.live:
            Mount.live.remove(self)
        if self.mounted:
            if try_qfuse_unmount:
                attempt([QFUSE_BIN, 'unmount', self.mountpoint], UNMOUNT_TIMEOUT_S, self.notes)
            if self.mounted:
                force_unmount(str(self.mountpoint), self.minor, self.notes)
        if self.pid is not None and not self.wait_daemon_exit(10):
            # Unmounted (perhaps lazily) but still serving: a request is stuck. Fail it.
            if self.minor is not None:
                abort_fuse_connection(self.minor, self.notes)
            if not self.wait_daemon_exit(5):
                kill_pid(self.pid, 'the qfuse daemon', self.notes)
        for pid in daemon_pids(str(self.mountpoint)):
            kill_pid(pid, 'a qfuse daemon', self.notes)
        if self.totals is None:
            self.totals = parse_totals(self.log())
        return self.notes


def io_counter(pid: int, name: str) -> int:
    """A counter of /proc/PID/io (`rchar`, `wchar`: bytes read or written so far), without touching the
    mount; 0 once the process is gone."""
    try:
        with open(f'/proc/{pid}/io') as f:
            for line in f:
                if line.startswith(name + ':'):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def wait_until_moved(proc: subprocess.Popen, counter: str, threshold: int, seconds: float) -> int:
    """Waits until `proc` has moved `threshold` bytes by its /proc/PID/io `counter` (a reader or writer
    well under way before a fault is injected); fails the test if it exits first or `seconds` pass.
    Returns the count reached."""
    deadline = time.monotonic() + seconds
    while (moved := io_counter(proc.pid, counter)) < threshold:
        if proc.poll() is not None:
            pytest.fail(f'{proc.args[0]} ended (exit {proc.returncode}) before the server was killed, having '
                        f'moved {moved} bytes: {proc.stderr.read()!r}', pytrace=False)
        assert time.monotonic() < deadline, f'{proc.args[0]} moved less than {threshold} bytes in {seconds} s'
        time.sleep(0.01)
    return moved


def unmount_with_server_gone(m: 'Mount', bound_s: float) -> list[str]:
    """`qfuse unmount` of a mount whose server is gone: it must return within `bound_s` and the daemon
    exit. Returns the problems seen; the mount is gone afterwards whatever happened."""
    problems: list[str] = []
    notes: list[str] = []
    t0 = time.monotonic()
    rc = attempt([QFUSE_BIN, 'unmount', m.mountpoint], 2 * bound_s, notes)
    took = time.monotonic() - t0
    if rc != 0 or took > bound_s:
        problems.append(f'qfuse unmount with the server gone took {took:.1f} s (bound {bound_s} s): {notes[-1]}')
    if mounted_at(m.mountpoint) is not None:
        force_unmount(str(m.mountpoint), m.minor, notes)
    assert mounted_at(m.mountpoint) is None, notes
    assert m.wait_daemon_exit(), f'the daemon still runs after unmount\n{m.log_tail()}'
    return problems


def cleanup_stale_mounts() -> list[str]:
    """Unmount what a crashed earlier run of this suite left: mounts whose marker names a pid that is
    no longer a running pytest. Mounts of other users and of concurrent runs are left alone."""
    notes: list[str] = []
    for entry in mount_table():
        m = MARKER_RE.search(entry.mountpoint)
        if not entry.fstype.startswith('fuse') or not m:
            continue
        owner = int(m.group(1))
        if pid_alive(owner) and any('pytest' in a for a in cmdline(owner)):
            continue
        notes.append(f'stale mount {entry.mountpoint} of pid {owner}')
        force_unmount(entry.mountpoint, entry.minor, notes)
        for pid in daemon_pids(entry.mountpoint):
            kill_pid(pid, 'a stale qfuse daemon', notes)
    return notes


# ---------------------------------------------------------------------------------------------
# Seeding data through the API
# ---------------------------------------------------------------------------------------------

def rfc3339(ns: int) -> str:
    s, frac = divmod(ns, 1_000_000_000)
    return time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(s)) + f'.{frac:09d}Z'


class Uploader:
    """Writes to the sandbox over keep-alive HTTPS connections: large files streamed from disk, and
    many small requests from a few threads (harness.Api opens a connection, with a TLS handshake, per
    request). Creating 10,000 files still takes about 20 s on two cores: the sandbox's own cost."""

    def __init__(self, api: Api):
        self.api = api
        assert api.token, 'log the Api in first'

    def _headers(self, content_type: str = 'application/json') -> dict:
        return {'Authorization': f'Bearer {self.api.token}', 'Content-Type': content_type,
                'Accept-Encoding': 'identity'}

    def upload_file(self, remote: str, local: Path, chunk: int = 1 << 20) -> dict:
        """PUT the contents of `local` to the existing file `remote`, streamed in chunks."""
        def body() -> Iterable[bytes]:
            with open(local, 'rb') as f:
                while True:
                    b = f.read(chunk)
                    if not b:
                        return
                    yield b
        conn = self.api.connection(timeout=300)
        try:
            conn.request('PUT', f'/v1/files/{ref(remote)}/data', body=body(),
                         headers=self._headers('application/octet-stream'), encode_chunked=True)
            r = conn.getresponse()
            data = r.read()
        finally:
            conn.close()
        assert r.status == 200, f'PUT {remote}: {r.status} {data[:300]!r}'
        return json.loads(data)

    def create_many(self, parent: str, names: Sequence[str], threads: int = 4) -> None:
        """Create empty files `names` in `parent`, a few requests in flight."""
        errors: list[str] = []
        path = f'/v1/files/{ref(parent)}/entries/'

        def work(k: int) -> None:
            conn = self.api.connection(timeout=60)
            try:
                for name in names[k::threads]:
                    conn.request('POST', path, json.dumps({'name': name, 'action': 'CREATE_FILE'}),
                                 self._headers())
                    r = conn.getresponse()
                    data = r.read()
                    if r.status != 200:
                        errors.append(f'{name}: {r.status} {data[:200]!r}')
                        return
            except Exception as e:  # reported below, in the test's thread
                errors.append(f'{type(e).__name__}: {e}')
            finally:
                conn.close()

        workers = [threading.Thread(target=work, args=(k,), daemon=True) for k in range(threads)]
        for w in workers:
            w.start()
        for w in workers:
            w.join(300)
        assert not any(w.is_alive() for w in workers), 'creating files did not finish in 300 s'
        assert not errors, errors[:5]

    def upload_tree(self, local: Path, remote_parent: str, name: str) -> str:
        """Recreate the local tree `local` as `remote_parent/name`: directories, files with their
        contents, symlinks; then modes and modification times (directories last, deepest first,
        since creating children changes a directory's mtime). Returns the remote path."""
        api = self.api
        root = join(remote_parent, name)
        api.mkdir(remote_parent, name)
        dirs: list[tuple[Path, str]] = [(local, root)]
        objects: list[tuple[Path, str]] = []
        for dirpath, dirnames, filenames in os.walk(local):
            dirnames.sort()
            here = Path(dirpath)
            remote_here = root + ('/' + str(here.relative_to(local)) if here != local else '')
            for d in dirnames:
                p = here / d
                if p.is_symlink():
                    api.create(remote_here, d, 'CREATE_SYMLINK', old_path=os.readlink(p))
                    objects.append((p, join(remote_here, d)))
                else:
                    api.mkdir(remote_here, d)
                    dirs.append((p, join(remote_here, d)))
            for f in sorted(filenames):
                p = here / f
                rp = join(remote_here, f)
                if p.is_symlink():
                    api.create(remote_here, f, 'CREATE_SYMLINK', old_path=os.readlink(p))
                else:
                    api.create(remote_here, f)
                    if p.stat().st_size:
                        self.upload_file(rp, p)
                objects.append((p, rp))
        for p, rp in objects + sorted(dirs, key=lambda d: -len(d[0].parts)):
            st = p.lstat()
            patch = {'modification_time': rfc3339(st.st_mtime_ns)}
            if not p.is_symlink():
                patch['mode'] = f'{st.st_mode & 0o7777:04o}'
            api.ok('PATCH', f'/v1/files/{ref(rp)}/info/attributes', patch)
        return root


# The seed tree: nested directories, files of every interesting size (empty, around a page, around
# max_read (1 MiB) and the core's 4 MiB block, several blocks), names with spaces and non-ASCII,
# symlinks to a file, upwards and to a directory, an empty directory, and modes other than the defaults.
MiB = 1 << 20
TREE_FILES: dict[str, int | bytes] = {
    'empty.txt': 0,
    'small.txt': b'hello, qfuse\n',
    'one byte': 1,
    'page-1.bin': 4095,
    'page.bin': 4096,
    'page+1.bin': 4097,
    'max_read+1.bin': MiB + 1,
    'block.bin': 4 * MiB,
    'block+1.bin': 4 * MiB + 1,
    'a file with spaces.txt': b'spaces in the name\n',
    '\u00fcn\u00efc\u00f6d\u00e9 \u2013 \u540d\u524d.txt': b'unicode name\n',
    'emoji \U0001f389.bin': 777,
    'sub/inner.txt': b'inner\n',
    'sub/nested/deeper/leaf.txt': b'leaf\n',
    'sub/nested/multi.bin': 9 * MiB + 123,
    'dir with space/inner file.txt': b'inner file\n',
    '\u00df-dir/x': 3,
}
TREE_DIRS = ['emptydir']
TREE_LINKS = {'link': 'small.txt', 'sub/uplink': '../small.txt', 'dirlink': 'sub'}
TREE_MODES = {'small.txt': 0o600, 'page.bin': 0o755, 'one byte': 0o444, 'sub/nested': 0o700,
              'dir with space': 0o750, 'emptydir': 0o711}


def make_tree(root: Path, seed: int = 5) -> Path:
    """Build the seed tree at `root` with reproducible contents, modes and modification times (old
    ones, with nanoseconds, distinct per object)."""
    rng = random.Random(seed)
    root.mkdir(parents=True)
    for rel, spec in TREE_FILES.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(spec if isinstance(spec, bytes) else rng.randbytes(spec))
    for rel in TREE_DIRS:
        (root / rel).mkdir(parents=True, exist_ok=True)
    for rel, target in TREE_LINKS.items():
        os.symlink(target, root / rel)
    for rel, mode in TREE_MODES.items():
        os.chmod(root / rel, mode)
    # Times last, children before their directories.
    everything = sorted(root.rglob('*'), key=lambda p: (-len(p.parts), str(p))) + [root]
    for i, p in enumerate(everything):
        ns = (1_600_000_000 + 86_400 * i) * 1_000_000_000 + 123_456_789 * (i % 8)
        os.utime(p, ns=(ns, ns), follow_symlinks=False)
    return root


# Type, mode, size, mtime in seconds and in full (nanoseconds); symlinks are not followed.
STAT_FORMAT = '%F|%a|%s|%Y|%y'


def relative_paths(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob('*'))


def stat_lines(cwd: str | Path, paths: list[str]) -> dict[str, str]:
    """`stat -c STAT_FORMAT` of `.` and each path, run in `cwd`."""
    r = ok(['stat', '-c', STAT_FORMAT, '--', '.', *paths], cwd=cwd)
    lines = r.out.splitlines()
    assert len(lines) == len(paths) + 1, r.describe()
    return dict(zip(['.', *paths], lines))


def comparable(line: str) -> str:
    """What must match between the original and the mount: type, mode (not of symlinks, always 777
    on Linux), size (not of directories, which have none on the server), and mtime."""
    kind, mode, size, _, full = line.split('|')
    if kind == 'symbolic link':
        mode = '-'
    if kind == 'directory':
        size = '-'
    return '|'.join((kind, mode, size, full))


def change_attempts(directory: str, file: str, empty_dir: str) -> dict[str, list[str]]:
    """Commands that each try one kind of change in `directory`, which holds the file `file` and the
    empty directory `empty_dir`: every operation a read-only file system must refuse."""
    f, d = os.path.join(directory, file), os.path.join(directory, empty_dir)
    attempts = {
        'create': ['touch', os.path.join(directory, 'created')],
        'open for writing': ['touch', f],
        'utimes': ['touch', '-c', '-m', '-d', '@0', f],
        'truncate on open': ['sh', '-c', 'echo x > "$0"', f],
        'append': ['sh', '-c', 'echo x >> "$0"', f],
        'truncate': ['truncate', '-s', '0', f],
        'chmod': ['chmod', '600', f],
        'mkdir': ['mkdir', os.path.join(directory, 'made')],
        'unlink': ['rm', '-f', f],
        'rmdir': ['rmdir', d],
        'rename': ['mv', f, os.path.join(directory, 'moved')],
        'symlink': ['ln', '-s', file, os.path.join(directory, 'made-link')],
        'hard link': ['ln', f, os.path.join(directory, 'made-hardlink')],
        'setxattr': ['setfattr', '-n', 'user.k', '-v', 'v', f],
        'removexattr': ['setfattr', '-x', 'user.k', f],
    }
    if shutil.which('setfattr') is None:
        del attempts['setxattr'], attempts['removexattr']
    return attempts


def not_read_only(attempts: dict[str, list[str]], mount: 'Mount') -> list[str]:
    """Runs each attempt; returns those that did not fail with "Read-only file system" (EROFS)."""
    wrong = []
    for what, argv in attempts.items():
        r = run(argv)
        if r.rc == 0 or 'Read-only file system' not in r.stderr:
            shown = f'$ {" ".join(argv)} -> exit {r.rc}: {r.stderr.strip()}'
            wrong.append(f'{what}: ' + shown.replace(str(mount.mountpoint), 'MNT'))
    return wrong


# ---------------------------------------------------------------------------------------------
# Fixtures
# ---------------------------------------------------------------------------------------------

class TestTimeLimit(Exception):
    """Raised into a test that ran past its @pytest.mark.timeout."""


def pytest_configure(config):
    config.addinivalue_line('markers', 'slow: takes minutes (deselect with -m "not slow")')
    config.addinivalue_line('markers', 'long: runs only when QFUSE_LONG=1 is set (minutes to hours)')
    if not config.pluginmanager.hasplugin('timeout'):
        config.addinivalue_line('markers', 'timeout(seconds): fail the test if its body runs longer')


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    """@pytest.mark.timeout(S) without the pytest-timeout plugin: SIGALRM interrupts the test body
    after S seconds. run() kills the command in flight (the test process itself never blocks on a
    mount), and the fixtures' teardown unmounts as after any failure."""
    marker = item.get_closest_marker('timeout')
    if marker is None or item.config.pluginmanager.hasplugin('timeout') \
            or threading.current_thread() is not threading.main_thread():
        yield
        return
    seconds = float(marker.args[0] if marker.args else marker.kwargs['seconds'])

    def expired(signum, frame):
        raise TestTimeLimit(f'{item.nodeid} ran past its time limit of {seconds:.0f} s')

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def pytest_sessionstart(session):
    notes = cleanup_stale_mounts()
    if notes:
        sys.stderr.write('\n[mount] cleaned up after an earlier run:\n  ' + '\n  '.join(notes) + '\n')


@pytest.fixture(scope='session')
def session_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp(f'{MARKER}-{os.getpid()}-', numbered=True)


_counter = itertools.count(1)


@pytest.fixture
def workdir(request, session_dir) -> Path:
    """This test's own directory (mountpoints, daemon logs, local copies)."""
    name = re.sub(r'[^A-Za-z0-9_.-]+', '_', request.node.name)[:60]
    d = session_dir / f't{next(_counter):02d}_{name}'
    d.mkdir()
    return d


@pytest.fixture(scope='session')
def sandbox(session_dir) -> Iterable[Sandbox]:
    with Sandbox(session_dir / 'sandbox-root', session_dir / 'sandbox-logs') as sb:
        yield sb


@pytest.fixture(scope='session')
def api(sandbox) -> Api:
    a = Api(sandbox, validate=False)
    a.login()
    return a


@pytest.fixture(scope='session')
def qq(sandbox, session_dir) -> QQ:
    q = QQ(sandbox, session_dir / 'qq', validate=False)
    q.login()
    return q


@pytest.fixture(scope='session')
def uploader(api) -> Uploader:
    return Uploader(api)


_MOUNTS_BY_TEST: dict[str, list[Mount]] = {}


@pytest.fixture
def mounts(request, workdir) -> Iterable:
    """A factory: mounts(sandbox, **options) mounts and returns a Mount; all are unmounted at the end.

    Teardown unmounts each mount still up cleanly when it can and then checks the kernel's lookup
    accounting (nodes.unbalanced_forgets=0); when it cannot, it escalates (see Mount.cleanup) and the
    teardown fails with what it had to do and the daemon's log."""
    made: list[Mount] = []
    _MOUNTS_BY_TEST[request.node.nodeid] = made
    counter = itertools.count(1)

    def make(sb: Sandbox, *, name: Optional[str] = None, **options) -> Mount:
        m = Mount(sb, workdir, name=name or f'mnt{next(counter)}', **options)
        made.append(m)
        return m.start()

    yield make

    problems = []
    for m in made:
        tried = m in Mount.live and m.mounted
        if tried:
            try:
                m.unmount()
            except (AssertionError, pytest.fail.Exception) as e:
                problems.append(f'{m}: clean unmount failed: {e}')
        notes = m.cleanup(try_qfuse_unmount=not tried)
        if notes:
            problems.append(f'{m}: ' + '; '.join(notes))
        if m.totals is not None and m.totals.get('nodes.unbalanced_forgets', 0) != 0:
            problems.append(f'{m}: nodes.unbalanced_forgets={m.totals["nodes.unbalanced_forgets"]} '
                            f'(the kernel forgot more lookups than the daemon counted)')
    _MOUNTS_BY_TEST.pop(request.node.nodeid, None)
    if problems:
        logs = '\n'.join(f'--- {m.log_file}\n{m.log_tail()}' for m in made)
        pytest.fail('mount teardown:\n' + '\n'.join(problems) + '\n' + logs, pytrace=False)


@pytest.fixture
def mount(mounts, sandbox) -> Mount:
    """The session sandbox mounted with default options."""
    return mounts(sandbox)


@pytest.fixture
def own_sandbox(workdir) -> Iterable[Sandbox]:
    """A sandbox of this test's own, for tests that stop it."""
    with Sandbox(workdir / 'sandbox-root', workdir / 'sandbox-logs') as sb:
        yield sb


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.failed:
        for m in _MOUNTS_BY_TEST.get(item.nodeid, []):
            rep.sections.append((f'qfuse daemon log {m.log_file.name} ({rep.when})', m.log_tail()))
            if m.notes:
                rep.sections.append((f'qfuse mount cleanup {m.log_file.name}', '\n'.join(m.notes)))
        if 'sandbox' in item.fixturenames or 'own_sandbox' in item.fixturenames:
            for sb in harness.all_sandboxes():
                tail = sb.stderr_tail(3000)
                if tail:
                    rep.sections.append((f'sandbox stderr {sb.root.parent.name}', tail))


def pytest_sessionfinish(session, exitstatus):
    # Belt and braces: nothing of ours stays mounted or running.
    for m in list(Mount.live):
        notes = m.cleanup()
        sys.stderr.write(f'\n[mount] {m} was still mounted at the end: {"; ".join(notes)}\n')
    for sb in harness.all_sandboxes():
        try:
            sb.stop()
        except Exception:
            pass
    global _fusectl_mounted_by_us
    if _fusectl_mounted_by_us:
        attempt(['umount', FUSECTL], 10, [])
        _fusectl_mounted_by_us = False
