"""Writing through the mount (issue 6): a random sequence of changes applied to the mount and to a
local directory and compared after every step; real tools (tar, git, an editor's save, concurrent
appenders, cp); ENOSPC; a server killed mid-copy; a restore from `.snapshot` that moves no file
data through qfuse; EROFS inside snapshots; owners as the server records them.

As everywhere in this suite, this process never touches a mount: every file operation on it runs in
a subprocess with a timeout (a long-lived worker for the reference model), and every test has a time
limit (@pytest.mark.timeout, see conftest.py). The 20,000-file untar is marked slow (about 7 minutes
against the debug sandbox): deselect it with -m "not slow".

Environment:
  QFUSE_MODEL_SEED    seed of the reference-model test (default: random, printed on failure)
  QFUSE_MODEL_STEPS   its number of steps (default 300)
  QFUSE_MODEL_SHRINK  if set, a failure of it is shrunk and printed in the form FROZEN takes
  QFUSE_UNTAR_DIRS, QFUSE_UNTAR_FILES   shape of the untarred tree (default 200 x 100)
"""

from __future__ import annotations

import hashlib
import io
import itertools
import json
import os
import pwd
import random
import re
import select
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path
from typing import Any, Iterable

import pytest

from conftest import (
    Api, MiB, Sandbox, change_attempts, harness, not_read_only, ok, parse_totals, reap, ref,
    run, unmount_with_server_gone, wait_until_moved,
)


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        while True:
            b = f.read(4 * MiB)
            if not b:
                return h.hexdigest()
            h.update(b)


def random_file(path: Path, size: int, seed: int) -> Path:
    """`size` seeded random bytes at `path` (local disk)."""
    rng = random.Random(seed)
    with open(path, 'wb') as f:
        left = size
        while left:
            n = min(left, 4 * MiB)
            f.write(rng.randbytes(n))
            left -= n
    return path


def qq_read(qq, path: str, into: Path) -> bytes:
    """The server's copy of `path`, read with qq."""
    into.unlink(missing_ok=True)
    qq.ok('fs_read', '--path', path, '--file', str(into), '--force', timeout=300)
    return into.read_bytes()


def qq_attrs(qq, path: str) -> dict:
    return qq.ok('fs_file_get_attr', '--path', path).json


def python(workdir: Path, name: str, script: str, *args: Any, **kw):
    """Run a Python script as a subprocess (it may touch the mount; this process may not), from a
    file in the test's directory so that a failure shows its name rather than its text."""
    path = workdir / f'{name}.py'
    path.write_text(script)
    return run([sys.executable, path, *[str(a) for a in args]], **kw)


# ---------------------------------------------------------------------------------------------
# The reference model: one worker process per tree, executing the same operations
# ---------------------------------------------------------------------------------------------

# Reads one JSON operation per line from stdin, applies it under ROOT, answers one JSON line:
# {"ok": true, "value": ...} or {"ok": false, "errno": "ENOENT", "message": ...}. The same code runs
# against the mount and against a local directory, so the two sides differ only by file system.
WORKER = r'''
import ctypes, errno, hashlib, json, os, random, stat, sys

root = sys.argv[1]
libc = ctypes.CDLL(None, use_errno=True)
libc.fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int64, ctypes.c_int64]
PUNCH = 0x01 | 0x02  # FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE
handles = {}

def P(rel):
    return os.path.join(root, rel)

def data(seed, n):
    return random.Random(seed).randbytes(n)

def digest(b):
    return hashlib.sha256(b).hexdigest()[:20]

def pwrite_all(fd, b, off):
    while b:
        n = os.pwrite(fd, b, off)
        b, off = b[n:], off + n

def pread_all(fd, n, off):
    out = b""
    while len(out) < n:
        b = os.pread(fd, n - len(out), off + len(out))
        if not b:
            break
        out += b
    return out

def tree():
    """Every object below root: type, permissions, size, link count and a digest of the contents
    (files), the target (symlinks). Directories' sizes and link counts differ between file systems."""
    entries = {}
    for top, dirs, files in os.walk(root):
        dirs.sort()
        for name in dirs + files:
            p = os.path.join(top, name)
            rel = os.path.relpath(p, root)
            if name.startswith(".qfuse_hidden_"):
                # Removed at its last release, which the kernel sends after close returns: it may be gone by now.
                entries[rel] = ["hidden"]
                continue
            st = os.lstat(p)
            if stat.S_ISDIR(st.st_mode):
                entries[rel] = ["dir", oct(st.st_mode & 0o7777)]
            elif stat.S_ISLNK(st.st_mode):
                entries[rel] = ["symlink", os.readlink(p)]
            elif stat.S_ISREG(st.st_mode):
                with open(p, "rb") as f:
                    b = f.read()
                entries[rel] = ["file", oct(st.st_mode & 0o7777), st.st_size, st.st_nlink, len(b), digest(b)]
            else:
                entries[rel] = ["other", oct(st.st_mode)]
    return entries

def punch(fd, off, n):
    if libc.fallocate(fd, PUNCH, off, n) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))

def with_fd(path, flags, fn):
    fd = os.open(P(path), flags)
    try:
        return fn(fd)
    finally:
        os.close(fd)  # an error here (a failed flush) is the operation's error

def apply(a):
    op = a["op"]
    if op == "create":
        os.close(os.open(P(a["path"]), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
    elif op == "write":
        with_fd(a["path"], os.O_WRONLY, lambda fd: pwrite_all(fd, data(a["seed"], a["len"]), a["off"]))
    elif op == "append":
        with_fd(a["path"], os.O_WRONLY | os.O_APPEND, lambda fd: os.write(fd, data(a["seed"], a["len"])))
    elif op == "truncate":
        os.truncate(P(a["path"]), a["size"])
    elif op == "rename":
        os.rename(P(a["src"]), P(a["dst"]))
    elif op == "link":
        os.link(P(a["src"]), P(a["dst"]))
    elif op == "symlink":
        os.symlink(a["target"], P(a["path"]))
    elif op == "unlink":
        os.unlink(P(a["path"]))
    elif op == "mkdir":
        os.mkdir(P(a["path"]), 0o755)
    elif op == "rmdir":
        os.rmdir(P(a["path"]))
    elif op == "chmod":
        os.chmod(P(a["path"]), a["mode"])
    elif op == "punch":
        with_fd(a["path"], os.O_WRONLY, lambda fd: punch(fd, a["off"], a["len"]))
    elif op == "read":
        b = with_fd(a["path"], os.O_RDONLY, lambda fd: pread_all(fd, a["len"], a["off"]))
        return [len(b), digest(b)]
    elif op == "open":
        handles[a["h"]] = os.open(P(a["path"]), os.O_RDWR)
    elif op == "pwrite":
        pwrite_all(handles[a["h"]], data(a["seed"], a["len"]), a["off"])
    elif op == "pread":
        b = pread_all(handles[a["h"]], a["len"], a["off"])
        return [len(b), digest(b)]
    elif op == "fpunch":
        punch(handles[a["h"]], a["off"], a["len"])
    elif op == "ftruncate":
        os.ftruncate(handles[a["h"]], a["size"])
    elif op == "fstat":
        # Not st_nlink: an unlinked open file has 0 here and 1 on the mount (moved aside, as over NFS).
        return os.fstat(handles[a["h"]]).st_size
    elif op == "fsync":
        os.fsync(handles[a["h"]])
    elif op == "close":
        os.close(handles.pop(a["h"]))
    elif op == "tree":
        return tree()
    else:
        raise ValueError(op)

for line in sys.stdin:
    a = json.loads(line)
    try:
        answer = {"ok": True, "value": apply(a)}
    except OSError as e:
        answer = {"ok": False, "errno": errno.errorcode.get(e.errno, str(e.errno)), "message": str(e)}
    except KeyError:
        # A handle this sequence never opened (a shrunk sequence dropped its "open").
        answer = {"ok": False, "errno": "EBADF", "message": "no such handle"}
    sys.stdout.write(json.dumps(answer) + "\n")
    sys.stdout.flush()
'''


class Worker:
    """A WORKER process serving one root, answering each operation within a time limit."""

    def __init__(self, root: str, script: Path, stderr: Path, name: str):
        self.name = name
        self.stderr_path = stderr
        self._stderr = open(stderr, 'wb')
        self.proc = subprocess.Popen([sys.executable, str(script), root], start_new_session=True,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self._stderr)
        self._buf = b''

    def call(self, op: dict, timeout: float = 60) -> dict:
        assert self.proc.poll() is None, \
            f'the {self.name} worker died (exit {self.proc.returncode}): {self.stderr()}'
        self.proc.stdin.write((json.dumps(op) + '\n').encode())
        self.proc.stdin.flush()
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + timeout
        while b'\n' not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                reap(self.proc)
                pytest.fail(f'the {self.name} worker did not answer {op} within {timeout} s '
                            f'(killed)', pytrace=False)
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                self.proc.wait(5)
                pytest.fail(f'the {self.name} worker exited ({self.proc.returncode}) on {op}: '
                            f'{self.stderr()}', pytrace=False)
            self._buf += chunk
        line, self._buf = self._buf.split(b'\n', 1)
        return json.loads(line)

    def stderr(self) -> str:
        try:
            return self.stderr_path.read_text(errors='replace')[-2000:]
        except OSError:
            return ''

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
                self.proc.wait(30)
            except (OSError, subprocess.TimeoutExpired):
                pass
        reap(self.proc)
        self._stderr.close()


class Generator:
    """Chooses the next operation from the local (reference) tree as it is now."""

    WEIGHTS = {
        'create': 10, 'write': 18, 'append': 4, 'truncate': 8, 'rename': 8, 'link': 5, 'unlink': 6,
        'mkdir': 5, 'rmdir': 5, 'symlink': 2, 'chmod': 2, 'punch': 6, 'read': 8, 'open': 4,
        'pwrite': 8, 'pread': 3, 'fpunch': 2, 'ftruncate': 2, 'fstat': 3, 'fsync': 2, 'close': 4,
    }
    NAMES = ['f', 'g', 'data.bin', 'a b', 'caf\u00e9', '\u540d', 'x.tmp', 'long-' + 'n' * 40]

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.counter = 0
        self.handles: list[int] = []
        self.next_handle = 1

    def new_name(self) -> str:
        self.counter += 1
        return f'{self.rng.choice(self.NAMES)}{self.counter}'

    def offset(self, size: int) -> int:
        r = self.rng.random()
        if r < 0.15:
            return size                                   # at the end (growing)
        if r < 0.25:
            return 0
        if r < 0.32:
            return 4 * MiB - self.rng.randint(0, 70_000)  # across the core's 4 MiB block boundary
        return self.rng.randrange(0, max(size, 1) + 100_000)

    def length(self) -> int:
        return self.rng.choice([1, 17, 4095, 4096, 65536, 131072 + 1, self.rng.randint(1, 300_000)])

    def next(self, tree: dict[str, list]) -> tuple[list[dict], dict]:
        """(operations to run first, the operation). Files stay open across unlink and rename-over
        (the mount moves them aside to .qfuse_hidden_<id>, which the comparison skips), but handles
        are closed before rmdir: a directory holding a moved-aside file is not empty on the mount,
        as over NFS."""
        rng = self.rng
        files = sorted(p for p, e in tree.items() if e[0] == 'file')
        links = sorted(p for p, e in tree.items() if e[0] == 'symlink')
        dirs = [''] + sorted(p for p, e in tree.items() if e[0] == 'dir')
        size = {p: tree[p][2] for p in files}

        def in_dir() -> str:
            return os.path.join(rng.choice(dirs), self.new_name())

        def close_all() -> list[dict]:
            pre = [{'op': 'close', 'h': h} for h in self.handles]
            self.handles = []
            return pre

        while True:
            op = rng.choices(list(self.WEIGHTS), weights=list(self.WEIGHTS.values()))[0]
            if op in ('write', 'append', 'truncate', 'punch', 'read', 'open', 'link', 'chmod') \
                    and not files:
                continue
            if op in ('pwrite', 'pread', 'fpunch', 'ftruncate', 'fstat', 'fsync', 'close') \
                    and not self.handles:
                continue
            if op == 'open' and len(self.handles) >= 3:
                continue
            f = rng.choice(files) if files else None
            h = rng.choice(self.handles) if self.handles else None
            if op == 'create':
                return [], {'op': op, 'path': in_dir()}
            if op == 'write':
                return [], {'op': op, 'path': f, 'off': self.offset(size[f]), 'len': self.length(),
                            'seed': rng.randrange(1 << 30)}
            if op == 'append':
                return [], {'op': op, 'path': f, 'len': self.length(), 'seed': rng.randrange(1 << 30)}
            if op == 'truncate':
                return [], {'op': op, 'path': f, 'size': self.new_size(size[f])}
            if op == 'punch':
                return [], {'op': op, 'path': f, 'off': self.offset(size[f]), 'len': self.length()}
            if op == 'read':
                return [], {'op': op, 'path': f, 'off': self.offset(size[f]), 'len': self.length()}
            if op == 'chmod':
                return [], {'op': op, 'path': f, 'mode': rng.choice([0o600, 0o644, 0o755, 0o400])}
            if op == 'open':
                self.handles.append(self.next_handle)
                self.next_handle += 1
                return [], {'op': op, 'path': f, 'h': self.handles[-1]}
            if op in ('pwrite', 'pread', 'fpunch'):
                return [], {'op': op, 'h': h, 'off': self.offset(64 * 1024), 'len': self.length(),
                            'seed': rng.randrange(1 << 30)}
            if op == 'ftruncate':
                return [], {'op': op, 'h': h, 'size': self.new_size(64 * 1024)}
            if op in ('fstat', 'fsync'):
                return [], {'op': op, 'h': h}
            if op == 'close':
                self.handles.remove(h)
                return [], {'op': op, 'h': h}
            if op == 'link':
                return [], {'op': op, 'src': f, 'dst': in_dir()}
            if op == 'symlink':
                target = rng.choice(files + ['missing', '../up']) if files else 'missing'
                return [], {'op': op, 'target': target, 'path': in_dir()}
            if op == 'mkdir':
                return [], {'op': op, 'path': in_dir()}
            if op == 'rmdir':
                if len(dirs) < 2:
                    continue
                # Often non-empty (ENOTEMPTY on both sides).
                return close_all(), {'op': op, 'path': rng.choice(dirs[1:])}
            if op == 'unlink':
                if not files and not links:
                    continue
                return [], {'op': op, 'path': rng.choice(files + links)}
            if op == 'rename':
                movable = files + links
                if rng.random() < 0.25 and len(dirs) > 1:
                    # A directory to a new name (perhaps into itself: EINVAL on both sides).
                    return [], {'op': op, 'src': rng.choice(dirs[1:]), 'dst': in_dir()}
                if not movable:
                    continue
                src = rng.choice(movable)
                others = [p for p in files if p != src]
                if others and rng.random() < 0.4:
                    # Over an existing file, perhaps open.
                    return [], {'op': op, 'src': src, 'dst': rng.choice(others)}
                return [], {'op': op, 'src': src, 'dst': in_dir()}

    def new_size(self, size: int) -> int:
        r = self.rng.random()
        if r < 0.2:
            return 0
        if r < 0.5:
            return self.rng.randrange(0, size + 1)
        if r < 0.55:
            return 4 * MiB + 1
        return size + self.rng.randint(1, 300_000)


def hidden(path: str) -> bool:
    """A file the mount moved aside because it was unlinked or replaced while open."""
    return os.path.basename(path).startswith('.qfuse_hidden_')


def tree_diff(want: dict, got: dict, limit: int = 12) -> list[str]:
    out = []
    for p in sorted(set(want) | set(got)):
        if want.get(p) != got.get(p):
            out.append(f'  {p!r}: local {want.get(p)}  mount {got.get(p)}')
    return out[:limit] + ([f'  ... {len(out) - limit} more'] if len(out) > limit else [])


class ModelRun:
    """The local directory and a directory on the mount, each served by a Worker; `step` applies
    operations to both and fails the test at the first difference in results or trees."""

    def __init__(self, workdir: Path, local: Path, mounted: str, what: str):
        self.workdir = workdir
        self.what = what  # how to reproduce, shown with every failure
        self.script = workdir / 'worker.py'
        self.script.write_text(WORKER)
        self.workers: list[Worker] = []
        self.history: list[str] = []
        self.hidden: list[str] = []  # files the mount moved aside, as of the last step
        self.mine = self.start(str(local), 'local')
        self.theirs = self.start(mounted, 'mount')
        self.tree = self.mine.call({'op': 'tree'})['value']

    def start(self, root: str, name: str) -> Worker:
        w = Worker(root, self.script, self.workdir / f'worker-{name}-{len(self.workers)}.stderr', name)
        self.workers.append(w)
        return w

    def failure(self, step: int, what: str, details: list[str] = ()) -> str:
        shown = '\n'.join(self.history[-15:])
        return (f'reference model, {self.what}, step {step}: {what}\n' + '\n'.join(details) +
                f'\nlast operations (local result | mount result):\n{shown}')

    def step(self, step: int, ops: list[dict]) -> None:
        for o in ops:
            want, got = self.mine.call(o), self.theirs.call(o)
            self.history.append(f'{step:4d} {json.dumps(o, ensure_ascii=False)}  ->  '
                                f'{want.get("value") if want["ok"] else want["errno"]} | '
                                f'{got.get("value") if got["ok"] else got["errno"]}'
                                f'{"" if got["ok"] else " " + got.get("message", "")}')
            if want['ok'] != got['ok'] or (want['ok'] and want['value'] != got['value']) \
                    or (not want['ok'] and want['errno'] != got['errno']):
                pytest.fail(self.failure(step, 'results differ'), pytrace=False)
        self.tree = self.mine.call({'op': 'tree'})['value']
        theirs = self.theirs.call({'op': 'tree'}, timeout=120)
        assert theirs['ok'], self.failure(step, f'walking the mount failed: {theirs}')
        visible = {p: e for p, e in theirs['value'].items() if not hidden(p)}
        if visible != self.tree:
            pytest.fail(self.failure(step, 'trees differ', tree_diff(self.tree, visible)),
                        pytrace=False)
        self.hidden = sorted(p for p in theirs['value'] if hidden(p))

    def stop(self) -> None:
        for w in self.workers:
            w.stop()


def shrink(ops: list[dict], fails) -> list[dict]:
    """A shorter sequence that still fails: drop chunks of halving size while fails(sequence)."""
    chunk = max(1, len(ops) // 2)
    while True:
        i = len(ops) - chunk
        while i >= 0:
            candidate = ops[:i] + ops[i + chunk:]
            if candidate and fails(candidate):
                ops = candidate
            i -= chunk
        if chunk == 1:
            return ops
        chunk = max(1, chunk // 2)


@pytest.mark.timeout(2400)
def test_reference_model(mounts, sandbox, qq, workdir):
    """With QFUSE_MODEL_SHRINK=1, a failure is shrunk by replaying shorter sequences in fresh
    directories, and printed in the form FROZEN takes."""
    seed = int(os.environ.get('QFUSE_MODEL_SEED') or random.randrange(1 << 32))
    steps = int(os.environ.get('QFUSE_MODEL_STEPS') or 300)
    print(f'\n[mount] reference model: QFUSE_MODEL_SEED={seed} QFUSE_MODEL_STEPS={steps}')
    top = f'w-model-{seed}'
    m = mounts(sandbox)
    ok(['mkdir', m.path(top)])
    local = workdir / 'model'
    local.mkdir()
    model = ModelRun(workdir, local, m.path(top), f'QFUSE_MODEL_SEED={seed}')
    applied: list[dict] = []
    replays = itertools.count(1)

    def replay_fails(ops: list[dict]) -> bool:
        n = next(replays)
        ok(['mkdir', m.path(f'{top}-shrink-{n}')])
        (workdir / f'shrink-{n}').mkdir()
        run_ = ModelRun(workdir, workdir / f'shrink-{n}', m.path(f'{top}-shrink-{n}'), 'shrinking')
        try:
            for i, op in enumerate(ops, 1):
                run_.step(i, [op])
            return False
        except (AssertionError, pytest.fail.Exception):
            return True
        finally:
            run_.stop()

    try:
        gen = Generator(random.Random(seed))
        for step in range(1, steps + 1):
            pre, op = gen.next(model.tree)
            applied.extend(pre + [op])
            try:
                model.step(step, pre + [op])
            except (AssertionError, pytest.fail.Exception):
                if os.environ.get('QFUSE_MODEL_SHRINK'):
                    shrunk = shrink(applied, replay_fails)
                    print(f'[mount] QFUSE_MODEL_SEED={seed} shrunk from {len(applied)} to '
                          f'{len(shrunk)} operations:\n' +
                          ''.join(f'        {json.dumps(o)},\n' for o in shrunk))
                raise
        model.step(steps, [{'op': 'close', 'h': h} for h in gen.handles])
        # The last release of each handle follows its close asynchronously; the files must be gone soon after.
        deadline = time.monotonic() + 10
        while model.hidden and time.monotonic() < deadline:
            time.sleep(0.2)
            model.step(steps, [])
        assert not model.hidden, model.failure(steps, f'moved-aside files left after the last close: '
                                                      f'{model.hidden}')
        model.theirs.stop()
        tree = model.tree

        # What the server keeps: the same tree after a remount, and a sample of files through qq.
        m.unmount()
        m2 = mounts(sandbox)
        again = model.start(m2.path(top), 'remount').call({'op': 'tree'}, timeout=120)
        assert again['ok'] and again['value'] == tree, model.failure(
            steps, 'the tree differs after a remount', tree_diff(tree, again.get('value') or {}))
        files = sorted(p for p, e in tree.items() if e[0] == 'file')
        for p in random.Random(seed).sample(files, min(8, len(files))):
            want = (local / p).read_bytes()
            got = qq_read(qq, f'/{top}/{p}', workdir / 'qq-read.bin')
            first = next((i for i, (a, b) in enumerate(zip(got, want)) if a != b),
                         min(len(got), len(want)))
            assert got == want, model.failure(steps, f'qq fs_read of {p!r}: {len(got)} bytes, '
                                                     f'local has {len(want)}, first difference at {first}')
            attrs = qq_attrs(qq, f'/{top}/{p}')
            assert int(attrs['size']) == len(want) and attrs['num_links'] == tree[p][3], \
                model.failure(steps, f'qq fs_file_get_attr of {p!r}: size {attrs["size"]} num_links '
                                     f'{attrs["num_links"]}, local {len(want)} and {tree[p][3]}')
    finally:
        model.stop()


# Failures the random test found, shrunk (operations removed while it still failed) and frozen.
FROZEN: dict[str, list[dict]] = {
    # Found with two seeds (5 and 3996800842, shrunk from 26 operations): after the unlink, the other
    # name of the file still shows two links on the mount.
    'link_count_after_unlinking_a_renamed_link': [
        {'op': 'mkdir', 'path': 'd1'},
        {'op': 'rename', 'src': 'd1', 'dst': 'd2'},
        {'op': 'create', 'path': 'a'},
        {'op': 'rename', 'src': 'a', 'dst': 'b'},
        {'op': 'link', 'src': 'b', 'dst': 'd2/c'},
        {'op': 'unlink', 'path': 'b'},
    ],
}


@pytest.mark.timeout(300)
@pytest.mark.parametrize('name', sorted(FROZEN))
def test_reference_model_frozen(mount, workdir, name):
    top = f'w-frozen-{name}'
    ok(['mkdir', mount.path(top)])
    local = workdir / 'model'
    local.mkdir()
    model = ModelRun(workdir, local, mount.path(top), f'frozen case {name}')
    try:
        for i, op in enumerate(FROZEN[name], 1):
            model.step(i, [op])
    finally:
        model.stop()


# ---------------------------------------------------------------------------------------------
# Real tools
# ---------------------------------------------------------------------------------------------

UNTAR_DIRS = int(os.environ.get('QFUSE_UNTAR_DIRS') or 200)
UNTAR_FILES = int(os.environ.get('QFUSE_UNTAR_FILES') or 100)


def make_tarball(path: Path, dirs: int, per_dir: int, seed: int = 5) -> Path:
    """A tarball of dirs x per_dir files of 1-16 KiB (design.md section 5), seeded, in nested
    directories (tree/gNN/dNNNN/fNNNN), with a few modes and old modification times."""
    rng = random.Random(seed)
    with tarfile.open(path, 'w') as tar:
        def add_dir(name: str) -> None:
            info = tarfile.TarInfo(name)
            info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, 1_600_000_000
            tar.addfile(info)
        add_dir('tree')
        for d in range(dirs):
            group = f'tree/g{d // 20:02d}'
            if d % 20 == 0:
                add_dir(group)
            add_dir(f'{group}/d{d:04d}')
            for i in range(per_dir):
                data = rng.randbytes(rng.randint(1024, 16384))
                info = tarfile.TarInfo(f'{group}/d{d:04d}/f{i:04d}')
                info.size, info.mtime = len(data), 1_600_000_000 + d * 1000 + i
                info.mode = 0o640 if i % 7 == 0 else 0o644
                tar.addfile(info, io.BytesIO(data))
    return path


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_untar_a_20000_file_tree(mount, workdir):
    tarball = make_tarball(workdir / 'tree.tar', UNTAR_DIRS, UNTAR_FILES)
    local = workdir / 'untarred'
    local.mkdir()
    ok(['tar', '-xf', tarball, '-C', local], timeout=300)
    target = mount.path('w-untar')
    ok(['mkdir', target])
    r = ok(['tar', '-xf', tarball, '-C', target], timeout=3000)
    n = UNTAR_DIRS * UNTAR_FILES
    print(f'\n[mount] tar -x of {n} files into the mount: {r.elapsed:.1f} s '
          f'({n / r.elapsed:.0f} files/s)')
    r = run(['diff', '-r', '--no-dereference', local, target], timeout=1200)
    assert r.rc == 0 and not r.stdout, r.describe()
    listing = ['find', '.', '-printf', r'%y %m %s %T@ %P\n']
    want = sorted(ok(listing, cwd=local, timeout=300).out.splitlines())
    got = sorted(ok(listing, cwd=target, timeout=600).out.splitlines())
    # Directories' sizes and (for the ones tar made) times differ between file systems: compare
    # files fully, directories by name and mode.
    def norm(lines: list[str]) -> list[str]:
        out = []
        for ln in lines:
            kind, mode, size, mtime, name = ln.split(' ', 4)
            out.append(f'{kind} {mode} {name}' if kind == 'd' else ln)
        return out
    want, got = norm(want), norm(got)
    assert len(got) == len(want) == n + UNTAR_DIRS + (UNTAR_DIRS + 19) // 20 + 2
    assert got == want, [(w, g) for w, g in zip(want, got) if w != g][:10]


GIT_ENV = {
    'GIT_AUTHOR_NAME': 'qfuse test', 'GIT_AUTHOR_EMAIL': 'test@example.invalid',
    'GIT_COMMITTER_NAME': 'qfuse test', 'GIT_COMMITTER_EMAIL': 'test@example.invalid',
    'GIT_CONFIG_NOSYSTEM': '1',
    # Ownership has a test of its own below; here git must not refuse the repository for it.
    'GIT_CONFIG_COUNT': '2', 'GIT_CONFIG_KEY_0': 'safe.directory', 'GIT_CONFIG_VALUE_0': '*',
    'GIT_CONFIG_KEY_1': 'init.defaultBranch', 'GIT_CONFIG_VALUE_1': 'main',
}


@pytest.mark.timeout(900)
def test_git_init_add_commit_gc_fsck(mount, workdir):
    env = {**os.environ, **GIT_ENV, 'HOME': str(workdir)}
    repo = mount.path('w-git', 'repo')
    ok(['mkdir', '-p', repo])
    rng = random.Random(7)
    src = workdir / 'src'
    for i in range(60):
        p = src / f'pkg{i % 6}' / f'file{i}.txt'
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(''.join(f'line {j} {rng.random()}\n' for j in range(rng.randint(1, 400))))
    (src / 'blob.bin').write_bytes(rng.randbytes(3 * MiB))

    def git(*args: str, timeout: float = 300):
        return ok(['git', *args], cwd=repo, env=env, timeout=timeout)

    git('init', '-q')
    ok(['cp', '-r', f'{src}/.', repo], timeout=120)
    git('add', '-A')
    git('commit', '-q', '-m', 'first')
    for i in range(0, 60, 5):
        (src / f'pkg{i % 6}' / f'file{i}.txt').write_text(f'changed {i}\n')
        ok(['cp', src / f'pkg{i % 6}' / f'file{i}.txt', os.path.join(repo, f'pkg{i % 6}')])
    git('mv', 'pkg0/file0.txt', 'pkg1/moved.txt')
    git('rm', '-q', 'pkg2/file2.txt')
    git('commit', '-q', '-a', '-m', 'second')
    git('gc', '--quiet', '--aggressive', timeout=600)
    git('fsck', '--full', '--strict', timeout=600)
    assert git('status', '--porcelain').out == ''
    assert git('log', '--format=%s').out.split() == ['second', 'first']
    assert git('count-objects', '-v').out.count('count: 0') >= 1, 'gc left loose objects'
    # A clone elsewhere has the same files.
    clone = workdir / 'clone'
    ok(['git', 'clone', '-q', repo, clone], env=env, timeout=300)
    r = run(['diff', '-r', '--exclude=.git', repo, clone], timeout=300)
    assert r.rc == 0 and not r.stdout, r.describe()


# An editor's save: the new version in a temporary file, fsync, rename over the original; a reader
# that opened the original before keeps reading the old version. Prints what it saw as JSON.
EDITOR_SAVE = r'''
import errno, json, os, sys
d = sys.argv[1]
f, tmp = os.path.join(d, "doc.txt"), os.path.join(d, ".doc.txt.swp")
with open(f, "wb") as out:
    out.write(b"version 1\n" * 1000)
before = os.stat(f)
reader = os.open(f, os.O_RDONLY)
fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
os.write(fd, b"version 2\n" * 500)
os.fsync(fd)
os.close(fd)
tmp_stat = os.stat(tmp)
os.chmod(tmp, before.st_mode & 0o7777)
os.rename(tmp, f)
after = os.stat(f)
with open(f, "rb") as g:
    content = g.read()
try:
    old, old_error = os.pread(reader, 1 << 20, 0), None
except OSError as e:
    old, old_error = b"", errno.errorcode.get(e.errno, e.errno)
os.close(reader)
print(json.dumps({
    "before_ino": before.st_ino, "tmp_ino": tmp_stat.st_ino, "after_ino": after.st_ino,
    "after_nlink": after.st_nlink, "after_mode": oct(after.st_mode & 0o7777),
    "before_mode": oct(before.st_mode & 0o7777), "after_size": after.st_size,
    "content_ok": content == b"version 2\n" * 500, "tmp_exists": os.path.lexists(tmp),
    "old_reader_len": len(old), "old_reader_ok": old == b"version 1\n" * 1000, "old_reader_error": old_error,
    "listing": sorted(os.listdir(d)),
}))
'''


def editor_save(mount, workdir, name: str) -> dict:
    d = mount.path(name)
    ok(['mkdir', d])
    r = python(workdir, 'editor_save', EDITOR_SAVE, d)
    assert r.rc == 0, r.describe()
    return json.loads(r.out)


@pytest.mark.timeout(300)
def test_editor_save_by_rename(mount, qq, workdir):
    seen = editor_save(mount, workdir, 'w-editor')
    problems = []
    if not seen['content_ok'] or seen['after_size'] != 5000:
        problems.append(f'the saved file does not read back as the new version (size {seen["after_size"]})')
    if seen['after_ino'] != seen['tmp_ino']:
        problems.append(f'after rename the file has inode {seen["after_ino"]}, not that of the '
                        f'renamed temporary file ({seen["tmp_ino"]})')
    if seen['after_ino'] == seen['before_ino']:
        problems.append('the saved file kept the inode number of the file it replaced')
    if seen['after_nlink'] != 1 or seen['tmp_exists'] or seen['listing'] != ['doc.txt']:
        problems.append(f'nlink {seen["after_nlink"]}, temporary file still there: '
                        f'{seen["tmp_exists"]}, listing {seen["listing"]}')
    if seen['after_mode'] != seen['before_mode']:
        problems.append(f'mode {seen["after_mode"]}, was {seen["before_mode"]}')
    got = qq_read(qq, '/w-editor/doc.txt', workdir / 'doc.txt')
    if got != b'version 2\n' * 500:
        problems.append(f'the server holds {len(got)} bytes: {got[:40]!r}...')
    assert not problems, '\n'.join(problems)


@pytest.mark.timeout(300)
def test_file_replaced_by_rename_stays_readable_while_open(mount, workdir):
    """POSIX: a descriptor keeps the replaced file's data until it is closed (NFS clients get close
    with a silly rename)."""
    seen = editor_save(mount, workdir, 'w-editor-open')
    assert seen['content_ok']
    assert seen['old_reader_ok'], (
        f'a descriptor opened on the file replaced by rename read {seen["old_reader_len"]} bytes '
        f'(error: {seen["old_reader_error"]}), not the old version')


# Two processes append LINES lines each to one file opened with O_APPEND, one write(2) per line.
APPENDERS = r'''
import os, random, sys
path, lines = sys.argv[1], int(sys.argv[2])
pids = []
for tag in ("A", "B"):
    pid = os.fork()
    if pid == 0:
        try:
            rng = random.Random(tag)
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            for i in range(lines):
                line = f"{tag} {i:06d} {'x' * rng.randint(0, 60)} end\n".encode()
                assert os.write(fd, line) == len(line)
            os.close(fd)
            os._exit(0)
        except BaseException as e:
            sys.stderr.write(f"{tag}: {e!r}\n")
            os._exit(1)
    pids.append(pid)
status = 0
for pid in pids:
    _, st = os.waitpid(pid, 0)
    status |= os.waitstatus_to_exitcode(st) != 0
sys.exit(status)
'''

LINE_RE = re.compile(r'^([AB]) (\d{6}) x* end$')


@pytest.mark.timeout(600)
def test_concurrent_appenders_lose_no_line(mount, qq, workdir):
    lines = 3000
    ok(['mkdir', mount.path('w-append')])
    path = mount.path('w-append', 'log.txt')
    r = python(workdir, 'appenders', APPENDERS, path, lines, timeout=400)
    assert r.rc == 0, r.describe()

    def check(data: bytes, where: str) -> list[str]:
        text = data.decode('utf-8', 'replace')
        problems = []
        if not text.endswith('\n'):
            problems.append(f'{where}: does not end with a newline: {text[-80:]!r}')
        seen: dict[str, list[int]] = {'A': [], 'B': []}
        bad = []
        for ln in text.split('\n')[:-1]:
            m = LINE_RE.match(ln)
            if m:
                seen[m.group(1)].append(int(m.group(2)))
            else:
                bad.append(ln)
        if bad:
            problems.append(f'{where}: {len(bad)} torn or foreign lines, e.g. {bad[:3]!r}')
        for tag, got in seen.items():
            if got != list(range(lines)):
                missing = sorted(set(range(lines)) - set(got))
                problems.append(f'{where}: writer {tag} has {len(got)} lines, missing '
                                f'{missing[:10]}{"..." if len(missing) > 10 else ""}, in order: '
                                f'{got == sorted(got)}')
        return problems

    problems = check(ok(['cat', path]).stdout, 'read through the mount')
    problems += check(qq_read(qq, '/w-append/log.txt', workdir / 'log.txt'), 'the server copy')
    assert not problems, '\n'.join(problems)


# ---------------------------------------------------------------------------------------------
# Failures: no space, a server gone
# ---------------------------------------------------------------------------------------------

# Writes CHUNKS x 1 MiB to a new file, then fsyncs (if asked) and closes; prints at which call
# the first error came and its errno, as JSON. Never raises.
FILL = r'''
import errno, json, os, sys
path, chunks, do_fsync = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1"
written, failed = 0, None
fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
block = os.urandom(1 << 20)
try:
    for i in range(chunks):
        n = os.write(fd, block)
        written += n
        if n != len(block):
            failed = ["short write", n]
            break
    if do_fsync:
        os.fsync(fd)
except OSError as e:
    failed = ["fsync" if written == chunks * len(block) and do_fsync else "write",
              errno.errorcode.get(e.errno, e.errno)]
try:
    os.close(fd)
except OSError as e:
    failed = failed or ["close", errno.errorcode.get(e.errno, e.errno)]
print(json.dumps({"written": written, "failed": failed, "size": os.stat(path).st_size}))
'''


CAPACITY = 8 * MiB


@pytest.fixture
def small_sandbox(workdir) -> Iterable[Sandbox]:
    """A sandbox of this test's own with --capacity CAPACITY. Ask for it before `mounts`, so that it
    stops after the mounts are gone."""
    if '--capacity' not in harness.sandbox_help():
        pytest.skip('qfuse-sandbox has no --capacity option in this build')
    with Sandbox(workdir / 'full-root', workdir / 'full-logs', args=['--capacity', str(CAPACITY)]) as sb:
        yield sb


@pytest.mark.timeout(600)
def test_no_space_fails_with_enospc(small_sandbox, mounts, workdir):
    m = mounts(small_sandbox)
    problems = []
    for name, do_fsync in (('closed.bin', False), ('fsynced.bin', True)):
        r = python(workdir, 'fill', FILL, m.path(name), 16, int(do_fsync), timeout=300)
        assert r.rc == 0, r.describe()
        seen = json.loads(r.out)
        print(f'\n[mount] 16 MiB into a {CAPACITY // MiB} MiB sandbox, fsync={do_fsync}: {seen}')
        if seen['failed'] is None:
            problems.append(f'{name}: 16 MiB written and closed without an error; the file has '
                            f'{seen["size"]} bytes')
        elif seen['failed'][1] != 'ENOSPC':
            problems.append(f'{name}: failed at {seen["failed"][0]} with {seen["failed"][1]}, '
                            f'not ENOSPC')
        ok(['rm', '-f', m.path(name)])
    # cp of a file larger than the space reports the error, and leaves no file that looks whole.
    big = random_file(workdir / 'big.bin', 12 * MiB, seed=3)
    r = run(['cp', big, m.path('copied.bin')], timeout=300)
    if r.rc == 0:
        size = ok(['stat', '-c', '%s', m.path('copied.bin')]).out.strip()
        problems.append(f'cp of 12 MiB into {CAPACITY // MiB} MiB succeeded; the copy has {size} bytes')
    elif 'No space left on device' not in r.stderr:
        problems.append(f'cp failed without "No space left on device": {r.stderr.strip()}')
    ok(['rm', '-f', m.path('copied.bin')])
    # The space freed, the mount writes again.
    ok(['sh', '-c', 'echo after > "$0"', m.path('after.txt')])
    assert ok(['cat', m.path('after.txt')]).stdout == b'after\n'
    assert not problems, '\n'.join(problems)


# How long after the server's death the copy must have failed (as in test_mount_faults), and how
# long unmounting may take without a server: well under the mount's --timeout (10 s here), so that
# an unmount waiting for a request to the dead server to give up fails the test every time.
ERROR_BOUND_S = 90
UNMOUNT_BOUND_S = 5


@pytest.mark.timeout(900)
def test_server_killed_during_cp_fails_the_copy(mounts, own_sandbox, workdir):
    sb = own_sandbox
    size = 512 * MiB
    src = random_file(workdir / 'src.bin', size, seed=9)
    m = mounts(sb, extra=['--timeout', '10'])
    dst = m.path('copy.bin')
    cp = subprocess.Popen(['cp', str(src), dst], start_new_session=True, stdin=subprocess.DEVNULL,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        written_before = wait_until_moved(cp, 'wchar', 64 * MiB, 120)
        os.kill(sb.proc.pid, signal.SIGKILL)
        killed = time.monotonic()
        sb.stop()
        try:
            _, err = cp.communicate(timeout=ERROR_BOUND_S)
        except subprocess.TimeoutExpired:
            err = b''
        elapsed = time.monotonic() - killed
    finally:
        reap(cp)
    err = err.decode('utf-8', 'replace').strip()
    print(f'\n[mount] cp ended {elapsed:.1f} s after the server was killed, having written '
          f'{written_before // MiB} MiB: exit {cp.returncode}, {err}')
    problems = []
    if elapsed >= ERROR_BOUND_S:
        problems.append(f'cp still running {ERROR_BOUND_S} s after the server was killed')

    problems += unmount_with_server_gone(m, UNMOUNT_BOUND_S)

    if cp.returncode == 0 and elapsed < ERROR_BOUND_S:
        # Success is only right if the whole file reached the server: look, with it restarted.
        sb.start()
        api = Api(sb, validate=False)
        api.login()
        attrs = api.attrs('/copy.bin')
        if int(attrs['size']) != size or hashlib.sha256(api.read('/copy.bin')).hexdigest() != \
                sha256_file(src):
            problems.append(f'cp exited 0 after the server was killed, but the server holds '
                            f'{attrs["size"]} bytes of {size}, or other bytes')
    assert not problems, '\n'.join(problems)


# ---------------------------------------------------------------------------------------------
# Snapshots: restore without moving data, and EROFS
# ---------------------------------------------------------------------------------------------

RESTORE_SIZE = 256 * MiB


@pytest.mark.timeout(900)
def test_restore_from_snapshot_copies_on_the_server(mounts, sandbox, api, qq, uploader, workdir):
    src = random_file(workdir / 'restore-src.bin', RESTORE_SIZE, seed=13)
    want = sha256_file(src)
    api.mkdir('/', 'w-restore')
    api.create('/w-restore', 'big.bin')
    uploader.upload_file('/w-restore/big.bin', src)
    src.unlink()
    snap = qq.ok('snapshot_create_snapshot', '--path', '/w-restore', '-n', 'restore').json
    api.ok('DELETE', f'/v1/files/{ref("/w-restore/big.bin")}')

    m = mounts(sandbox, name='restore')
    snapshot_copy = m.path('w-restore', '.snapshot', snap['name'], 'big.bin')
    r = ok(['cp', snapshot_copy, m.path('w-restore', 'restored.bin')], timeout=600)
    totals = m.unmount()
    moved = totals['client.bytes_read'] + totals['client.bytes_written']
    print(f'\n[mount] cp of {RESTORE_SIZE // MiB} MiB from .snapshot: {r.elapsed:.2f} s, '
          f'client.requests={totals["client.requests"]} client.bytes_read={totals["client.bytes_read"]} '
          f'client.bytes_written={totals["client.bytes_written"]}')

    attrs = qq_attrs(qq, '/w-restore/restored.bin')
    assert int(attrs['size']) == RESTORE_SIZE, attrs
    got = hashlib.sha256(api.read('/w-restore/restored.bin')).hexdigest()
    assert got == want, 'the restored file differs from the snapshot\'s'
    assert moved < 8 * MiB, (f'the restore moved {moved} bytes through qfuse (read '
                             f'{totals["client.bytes_read"]}, wrote {totals["client.bytes_written"]}); '
                             f'a server-side copy moves none of the {RESTORE_SIZE} bytes')


@pytest.mark.timeout(300)
def test_snapshots_stay_read_only(mount, api, qq, workdir):
    api.mkdir('/', 'w-ro')
    api.make_file('/w-ro', 'f.txt', b'kept\n')
    api.mkdir('/w-ro', 'empty')
    snap = qq.ok('snapshot_create_snapshot', '--path', '/w-ro', '-n', 'ro').json
    inside = mount.path('w-ro', '.snapshot', snap['name'])
    attempts = change_attempts(inside, 'f.txt', 'empty')
    local = workdir / 'local.txt'
    local.write_bytes(b'local\n')
    attempts.update({
        'cp into': ['cp', str(local), os.path.join(inside, 'copied.txt')],
        'cp over': ['cp', str(local), os.path.join(inside, 'f.txt')],
        'mv a live file in': ['mv', mount.path('w-ro', 'live.txt'), os.path.join(inside, 'moved.txt')],
        'mkfifo': ['mkfifo', os.path.join(inside, 'fifo')],
        'punch hole': ['fallocate', '-p', '-o', '0', '-l', '1', os.path.join(inside, 'f.txt')],
    })
    ok(['sh', '-c', 'echo live > "$0"', mount.path('w-ro', 'live.txt')])
    wrong = not_read_only(attempts, mount)
    assert not wrong, 'not refused with EROFS inside .snapshot:\n' + '\n'.join(wrong)
    # ... and the live tree still writes, the live file survived its attempted move.
    assert ok(['cat', mount.path('w-ro', 'live.txt')]).stdout == b'live\n'
    assert ok(['cat', os.path.join(inside, 'f.txt')]).stdout == b'kept\n'
    assert sorted(ok(['ls', '-A', inside]).out.split()) == ['empty', 'f.txt']


@pytest.mark.timeout(300)
def test_objects_created_as_root_are_owned_by_uid_0(mount, qq):
    assert os.geteuid() == 0, 'this suite runs as root'
    d = mount.path('w-owner')
    ok(['mkdir', d])
    ok(['touch', os.path.join(d, 'file')])
    ok(['mkdir', os.path.join(d, 'dir')])
    ok(['ln', '-s', 'file', os.path.join(d, 'link')])
    ok(['touch', os.path.join(d, 'chowned')])
    ok(['chown', '1234:5678', os.path.join(d, 'chowned')])
    want = {'file': ('0', '0'), 'dir': ('0', '0'), 'link': ('0', '0'), 'chowned': ('1234', '5678')}
    problems = []
    for name, (uid, gid) in want.items():
        a = qq_attrs(qq, f'/w-owner/{name}')
        owner = (a['owner_details']['id_type'], a['owner_details']['id_value'])
        group = (a['group_details']['id_type'], a['group_details']['id_value'])
        if owner != ('NFS_UID', uid) or group != ('NFS_GID', gid):
            problems.append(f'{name}: owner {owner}, group {group}; want NFS_UID {uid}, NFS_GID {gid}')
    shown = ok(['stat', '-c', '%n %u %g', *[os.path.join(d, n) for n in want]]).out.split('\n')
    for line, (name, (uid, gid)) in zip(shown, want.items()):
        if line.split()[-2:] != [uid, gid]:
            problems.append(f'{name}: the mount shows {line.split()[-2:]}, want {uid} {gid}')
    assert not problems, '\n'.join(problems)


@pytest.mark.timeout(300)
def test_allow_other_lets_the_kernel_enforce_modes_for_other_users(mounts, sandbox, qq):
    """With -o allow_other, qfuse adds default_permissions: the kernel checks every other user's
    access against the modes, and what such a user creates belongs to them on the server."""
    m = mounts(sandbox, extra=['-o', 'allow_other'])
    top = m.path('w-perm')
    ok(['mkdir', '-m', '0755', top])
    ok(['mkdir', '-m', '0777', os.path.join(top, 'open')])
    for name, mode in (('secret', 0o600), ('shared', 0o644)):
        path = os.path.join(top, name)
        Path(path).write_text(f'{name}\n')
        os.chmod(path, mode)

    def as_nobody(*argv):
        # Run from inside the mount: the test's own directories are closed to other users, the mount's are not.
        return run(['runuser', '-u', 'nobody', '--', *argv], cwd=top)

    problems = []
    denied = as_nobody('cat', 'secret')
    if denied.rc == 0 or 'Permission denied' not in denied.stderr:
        problems.append(f'nobody read a 0600 file of root: {denied.describe()}')
    allowed = as_nobody('cat', 'shared')
    if allowed.rc != 0 or allowed.out != 'shared\n':
        problems.append(f'nobody could not read a 0644 file: {allowed.describe()}')
    refused = as_nobody('touch', 'mine')
    if refused.rc == 0 or 'Permission denied' not in refused.stderr:
        problems.append(f'nobody created a file in a 0755 directory of root: {refused.describe()}')
    made = as_nobody('sh', '-c', 'echo hello > open/mine')
    if made.rc != 0:
        problems.append(f'nobody could not create a file in a 0777 directory: {made.describe()}')
    else:
        a = qq_attrs(qq, '/w-perm/open/mine')
        owner = (a['owner_details']['id_type'], a['owner_details']['id_value'])
        if owner != ('NFS_UID', str(pwd.getpwnam('nobody').pw_uid)):
            problems.append(f'a file nobody created is owned by {owner} on the server')
    assert not problems, '\n'.join(problems)


# ---------------------------------------------------------------------------------------------
# The remaining calls of the write path, one by one
# ---------------------------------------------------------------------------------------------

# Each check prints one JSON line {"name": ..., "got": ...}; the test compares with what POSIX and
# the write path's contract say.
CALLS = r'''
import ctypes, errno, json, os, stat, sys
d = sys.argv[1]
libc = ctypes.CDLL(None, use_errno=True)
AT_FDCWD = -100
RENAME_NOREPLACE, RENAME_EXCHANGE = 1, 2
libc.renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]

def p(n):
    return os.path.join(d, n)

def report(name, fn):
    try:
        got = fn()
    except OSError as e:
        got = errno.errorcode.get(e.errno, e.errno)
    print(json.dumps({"name": name, "got": got}), flush=True)

def write(n, data, flags=os.O_WRONLY | os.O_CREAT | os.O_TRUNC):
    fd = os.open(p(n), flags, 0o644)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)

def read(n):
    with open(p(n), "rb") as f:
        return f.read().decode("latin-1")

def renameat2(a, b, flags):
    if libc.renameat2(AT_FDCWD, p(a).encode(), AT_FDCWD, p(b).encode(), flags) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))
    return "ok"

write("a", b"alpha")
write("b", b"beta")
report("O_EXCL on an existing file", lambda: write("a", b"x", os.O_WRONLY | os.O_CREAT | os.O_EXCL))
report("O_TRUNC", lambda: (write("t", b"long content"), write("t", b"s"), read("t"))[-1])
report("O_APPEND", lambda: (write("t", b"+", os.O_WRONLY | os.O_APPEND), read("t"))[-1])
report("extend with truncate reads zeros", lambda: (os.truncate(p("t"), 5), read("t"))[-1])
report("shrink with truncate", lambda: (os.truncate(p("t"), 1), read("t"))[-1])
report("mknod FIFO", lambda: (os.mkfifo(p("fifo"), 0o640), stat.S_ISFIFO(os.lstat(p("fifo")).st_mode),
                               oct(os.lstat(p("fifo")).st_mode & 0o777))[1:])
report("symlink", lambda: (os.symlink("a", p("sl")), os.readlink(p("sl")), read("sl"))[1:])
report("hard link count", lambda: (os.link(p("a"), p("a2")), os.stat(p("a")).st_nlink,
                                    os.stat(p("a2")).st_ino == os.stat(p("a")).st_ino)[1:])
report("unlink one link", lambda: (os.unlink(p("a2")), os.stat(p("a")).st_nlink)[1])
report("RENAME_NOREPLACE onto an existing name", lambda: renameat2("a", "b", RENAME_NOREPLACE))
report("RENAME_NOREPLACE onto a new name", lambda: (renameat2("b", "b2", RENAME_NOREPLACE), read("b2")))
report("RENAME_EXCHANGE", lambda: renameat2("a", "b2", RENAME_EXCHANGE))
report("rename replaces", lambda: (write("r", b"replacement"), os.rename(p("r"), p("b2")), read("b2"),
                                    os.path.exists(p("r")))[2:])
os.mkdir(p("full"))
write("full/x", b"x")
report("rmdir a non-empty directory", lambda: os.rmdir(p("full")))
report("rename a file over a non-empty directory", lambda: os.rename(p("a"), p("full")))
report("mkdir an existing name", lambda: os.mkdir(p("full")))
report("chmod", lambda: (os.chmod(p("a"), 0o640), oct(os.stat(p("a")).st_mode & 0o777))[1])
report("utimes", lambda: (os.utime(p("a"), ns=(1_500_000_000_123_456_789, 1_600_000_000_987_654_321)),
                          os.stat(p("a")).st_mtime_ns, os.stat(p("a")).st_atime_ns)[1:])
report("setxattr user.*", lambda: (os.setxattr(p("a"), "user.color", b"blue"),
                                   os.getxattr(p("a"), "user.color").decode(),
                                   sorted(os.listxattr(p("a"))))[1:])
report("removexattr", lambda: (os.removexattr(p("a"), "user.color"), sorted(os.listxattr(p("a"))))[1])
report("XATTR_CREATE on an existing name", lambda: (os.setxattr(p("a"), "user.k", b"1"),
                                                    os.setxattr(p("a"), "user.k", b"2", os.XATTR_CREATE))[1])
def punch():
    write("holey", b"y" * 100000)
    fd = os.open(p("holey"), os.O_WRONLY)
    try:
        if libc.fallocate(fd, 3, ctypes.c_int64(4096), ctypes.c_int64(8192)) != 0:
            e = ctypes.get_errno()
            raise OSError(e, os.strerror(e))
    finally:
        os.close(fd)
    data = read("holey")
    return [len(data), data[4096:12288] == "\0" * 8192, data[:4096] == "y" * 4096, data[12288:] == "y" * (100000 - 12288)]
report("punch hole keeps the size", punch)
def cfr():
    write("cfr-src", bytes(range(256)) * 4096)
    s, t = os.open(p("cfr-src"), os.O_RDONLY), os.open(p("cfr-dst"), os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        n = 0
        while n < 1 << 20:
            k = os.copy_file_range(s, t, (1 << 20) - n)
            if k == 0:
                break
            n += k
    finally:
        os.close(s)
        os.close(t)
    return [n, read("cfr-dst") == read("cfr-src")]
report("copy_file_range between live files", cfr)
def write_then_stat():
    fd = os.open(p("w"), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        os.pwrite(fd, b"z" * 10, 1 << 20)
        seen = [os.fstat(fd).st_size, os.stat(p("w")).st_size]
        os.fsync(fd)
        return seen + [os.stat(p("w")).st_size]
    finally:
        os.close(fd)
report("sizes while a write is buffered", write_then_stat)
'''

CALLS_WANT = {
    'O_EXCL on an existing file': 'EEXIST',
    'O_TRUNC': 's',
    'O_APPEND': 's+',
    'extend with truncate reads zeros': 's+\0\0\0',
    'shrink with truncate': 's',
    'mknod FIFO': [True, '0o640'],
    'symlink': ['a', 'alpha'],
    'hard link count': [2, True],
    'unlink one link': 1,
    'RENAME_NOREPLACE onto an existing name': 'EEXIST',
    'RENAME_NOREPLACE onto a new name': ['ok', 'beta'],
    'RENAME_EXCHANGE': 'EINVAL',
    'rename replaces': ['replacement', False],
    'rmdir a non-empty directory': 'ENOTEMPTY',
    'rename a file over a non-empty directory': 'EISDIR',
    'mkdir an existing name': 'EEXIST',
    'chmod': '0o640',
    'utimes': [1_600_000_000_987_654_321, 1_500_000_000_123_456_789],
    'setxattr user.*': ['blue', ['user.color']],
    'removexattr': [],
    'XATTR_CREATE on an existing name': 'EEXIST',
    'punch hole keeps the size': [100000, True, True, True],
    'copy_file_range between live files': [1 << 20, True],
    'sizes while a write is buffered': [(1 << 20) + 10] * 3,
}


@pytest.mark.timeout(300)
def test_write_path_calls(mount, qq, workdir):
    d = mount.path('w-calls')
    ok(['mkdir', d])
    r = python(workdir, 'calls', CALLS, d, timeout=200)
    got = {}
    for line in r.out.splitlines():
        item = json.loads(line)
        got[item['name']] = item['got']
    assert r.rc == 0, r.describe()
    wrong = [f'{name}: got {got.get(name, "(not run)")!r}, want {want!r}'
             for name, want in CALLS_WANT.items() if got.get(name) != want]
    # What the server recorded.
    a = qq_attrs(qq, '/w-calls/a')
    if a['mode'] != '0640':
        wrong.append(f'server mode of a: {a["mode"]}, want 0640')
    if a['modification_time'] != '2020-09-13T12:26:40.987654321Z':
        wrong.append(f'server mtime of a: {a["modification_time"]}')
    meta = qq.run('fs_get_user_metadata', '--path', '/w-calls/a', '--key', 'k')
    if meta.rc != 0 or '1' not in meta.out:
        wrong.append(f'user metadata k of a on the server: {meta.describe()}')
    fifo = qq_attrs(qq, '/w-calls/fifo')
    if fifo['type'] != 'FS_FILE_TYPE_UNIX_PIPE':
        wrong.append(f'server type of fifo: {fifo["type"]}')
    assert not wrong, '\n'.join(wrong)


POSIX_PROBE = r'''
import errno, json, os, sys
root = sys.argv[1]
long = 'n' * 256
target = os.path.join(root, 'kept')
results = {}
def errno_of(name, call):
    try:
        call()
        results[name] = 0
    except OSError as e:
        results[name] = errno.errorcode.get(e.errno, e.errno)
with open(target, 'w') as f:
    f.write('kept')
with open(os.path.join(root, 'd' * 255), 'w'):
    pass
long_path = os.path.join(root, long)
errno_of('stat', lambda: os.lstat(long_path))
errno_of('create', lambda: os.close(os.open(long_path, os.O_CREAT | os.O_WRONLY, 0o644)))
errno_of('mkdir', lambda: os.mkdir(long_path))
errno_of('rmdir', lambda: os.rmdir(long_path))
errno_of('unlink', lambda: os.unlink(long_path))
errno_of('link', lambda: os.link(target, long_path))
errno_of('symlink', lambda: os.symlink('kept', long_path))
errno_of('rename to', lambda: os.rename(target, long_path))
errno_of('rename from', lambda: os.rename(long_path, target))
errno_of('chmod', lambda: os.chmod(long_path, 0o600))
errno_of('chown', lambda: os.chown(long_path, 0, 0))
errno_of('truncate', lambda: os.truncate(long_path, 0))
errno_of('huge truncate', lambda: os.truncate(target, 999999999999999))
results['huge size'] = os.stat(target).st_size
# An open file whose last name goes has no link left, as on a local disk.
fd = os.open(os.path.join(root, 'scratch'), os.O_CREAT | os.O_RDWR, 0o600)
os.write(fd, b'scratch')
os.unlink(os.path.join(root, 'scratch'))
results['nlink open unlinked'] = os.fstat(fd).st_nlink
os.write(fd, b' still')
os.lseek(fd, 0, 0)
results['read open unlinked'] = os.read(fd, 100).decode()
os.close(fd)
print(json.dumps(results))
'''


@pytest.mark.timeout(300)
def test_posix_corner_cases_of_names_sizes_and_links(mount, api):
    """The subtests a POSIX conformance suite found failing (issue 11): every call on a name over 255
    bytes is ENAMETOOLONG (a lookup of one is not ENOENT), a huge truncate is a clear error or
    succeeds and reports that size (never EIO), and fstat of an open file whose last name is gone
    shows st_nlink 0."""
    ok(['mkdir', mount.path('posix')])
    got = json.loads(ok([sys.executable, '-c', POSIX_PROBE, mount.path('posix')]).out)
    calls = ['stat', 'create', 'mkdir', 'rmdir', 'unlink', 'link', 'symlink', 'rename to', 'rename from',
             'chmod', 'chown', 'truncate']
    assert {call: got[call] for call in calls} == {call: 'ENAMETOOLONG' for call in calls}
    assert got['huge truncate'] in ('EFBIG', 'EINVAL') or \
        (got['huge truncate'] == 0 and got['huge size'] == 999999999999999), got
    assert got['nlink open unlinked'] == 0
    assert got['read open unlinked'] == 'scratch still'
    # The kernel sends the last release after close returns: the moved-aside name goes soon after.
    deadline = time.monotonic() + 10
    while set(api.list_names('/posix')) != {'kept', 'd' * 255} and time.monotonic() < deadline:
        time.sleep(0.05)
    assert set(api.list_names('/posix')) == {'kept', 'd' * 255}, 'nothing made under a long name, nothing left over'
