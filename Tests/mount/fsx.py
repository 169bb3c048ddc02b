"""An fsx-style checker: one file, random operations from a seeded generator, and after every
operation the file's size (fstat) and the bytes it touched compared with an in-memory model.

Operations: pwrite (small, and large ones of several MiB that several uploads carry at once), a read,
ftruncate up and down, punch hole (fallocate PUNCH_HOLE|KEEP_SIZE), copy_file_range within the file
and from a second file, mmap reads and MAP_SHARED writes, and a close and reopen about every 40
operations. Every FULL_EVERY operations the whole file is compared too.

A plain module, run as a subprocess of the mount tests (their process never touches a mount):

  python fsx.py FILE SECOND --seed N --ops N --model-out F [--ops-out F] [--replay OPS.json]

FILE is created (truncated) and checked; SECOND is written once, with data from the seed, as a source
for copies. With --replay, the operations of OPS.json are applied instead of generated ones (a frozen
failure). At the end FILE is closed and the model written to --model-out, so the caller can compare
it with the server's copy. Exit status 0 and a JSON summary on stdout; on a failure, exit status 1,
the seed, the failing operation, what was expected and seen, and the last operations; with --ops-out,
every operation applied so far is saved there in the form --replay takes.
"""

from __future__ import annotations

import argparse
import ctypes
import errno
import json
import mmap
import os
import random
import sys
import time
from collections import Counter
from typing import Optional

KiB = 1 << 10
MiB = 1 << 20

# The shape of the generated sequence. Small operations stay within the first SMALL_MAX bytes, as
# fsx's default file does, so they keep hitting each other's ranges; large writes reach past it.
SMALL_MAX = 256 * KiB
SMALL_LEN = 64 * KiB
LARGE_LEN = (1 * MiB, 5 * MiB)
LARGE_OFFSET_MAX = 3 * MiB
COPY_LEN = 128 * KiB
SECOND_SIZE = 512 * KiB
REOPEN_ONE_IN = 40
FULL_EVERY = 50
HISTORY_SHOWN = 20

WEIGHTS = {
    'write': 30, 'large_write': 4, 'read': 8, 'truncate': 12, 'punch': 8, 'copy': 10,
    'mmap_read': 8, 'mmap_write': 8,
}

FALLOC_FL_KEEP_SIZE = 0x01
FALLOC_FL_PUNCH_HOLE = 0x02

_libc = ctypes.CDLL(None, use_errno=True)
_libc.fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_longlong, ctypes.c_longlong]


class Failure(Exception):
    """The mount disagreed with the model."""


# Random bytes that writes take slices of: drawing fresh ones for each write (Random.randbytes) would
# cost more than the operation on the mount.
POOL_SIZE = 16 * MiB
POOL = random.Random(0x5EED).randbytes(POOL_SIZE)


def data(tag: int, n: int) -> bytes:
    """The bytes an operation writes: a function of its tag only, so a replay writes the same, and
    different for different tags, so a write that lands in the wrong place shows."""
    start = (tag * 7919) % (POOL_SIZE - n + 1)
    return POOL[start:start + n]


def pread_all(fd: int, n: int, off: int) -> bytes:
    out = bytearray()
    while len(out) < n:
        b = os.pread(fd, n - len(out), off + len(out))
        if not b:
            break
        out += b
    return bytes(out)


def pwrite_all(fd: int, b: bytes, off: int) -> None:
    view = memoryview(b)
    while view:
        n = os.pwrite(fd, view, off)
        view, off = view[n:], off + n


def punch_hole(fd: int, off: int, n: int) -> None:
    if _libc.fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, n) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))


def describe(op: list) -> str:
    kind, args = op[0], op[1:]
    if kind in ('write', 'large_write', 'mmap_write'):
        off, n, _ = args
        return f'{kind} {off:#x} thru {off + n - 1:#x} ({n:#x} bytes)'
    if kind in ('read', 'mmap_read', 'punch'):
        off, n = args
        return f'{kind} {off:#x} thru {off + n - 1:#x} ({n:#x} bytes)'
    if kind == 'truncate':
        return f'truncate to {args[0]:#x}'
    if kind == 'copy':
        src, src_off, dst_off, n = args
        return f'copy {n:#x} bytes from {src} {src_off:#x} to {dst_off:#x}'
    return kind


class Generator:
    """The next operation, from the seed and the model's size only (never from what the mount did),
    so a seed always yields the same sequence."""

    def __init__(self, seed: int):
        self.rng = random.Random(seed)
        self.kinds = list(WEIGHTS)
        self.weights = [WEIGHTS[k] for k in self.kinds]
        self.tags = iter(range(seed * 1_000_003, 1 << 62))

    def offset(self, size: int) -> int:
        # Half inside the file (or at its end), half anywhere in the small range, often past EOF.
        if size and self.rng.random() < 0.5:
            return self.rng.randrange(size)
        return self.rng.randrange(SMALL_MAX)

    def next(self, size: int) -> list:
        rng = self.rng
        if rng.randrange(REOPEN_ONE_IN) == 0:
            return ['reopen']
        kind = rng.choices(self.kinds, self.weights)[0]
        if kind == 'write' or kind == 'mmap_write':
            off = self.offset(size)
            n = rng.randrange(1, SMALL_LEN + 1)
            if kind == 'mmap_write':
                # A mapping cannot grow the file: write inside it.
                if size == 0:
                    return ['truncate', rng.randrange(1, SMALL_MAX)]
                off = rng.randrange(size)
                n = rng.randrange(1, min(SMALL_LEN, size - off) + 1)
            return [kind, off, n, next(self.tags)]
        if kind == 'large_write':
            return [kind, rng.randrange(LARGE_OFFSET_MAX), rng.randrange(*LARGE_LEN), next(self.tags)]
        if kind in ('read', 'mmap_read', 'punch'):
            if size == 0:
                return ['write', self.offset(0), rng.randrange(1, SMALL_LEN + 1), next(self.tags)]
            off = rng.randrange(size)
            return [kind, off, rng.randrange(1, min(SMALL_LEN, size - off) + 1)]
        if kind == 'truncate':
            return ['truncate', rng.randrange(SMALL_MAX + 1)]
        # copy: within the file (ranges may not overlap) or from the second file.
        n = rng.randrange(1, COPY_LEN + 1)
        if size > n and rng.random() < 0.5:
            src_off = rng.randrange(size - n + 1)
            dst_off = self.offset(size)
            if dst_off + n <= src_off or dst_off >= src_off + n:
                return ['copy', 'self', src_off, dst_off, n]
        return ['copy', 'second', rng.randrange(SECOND_SIZE - n + 1), self.offset(size), n]


class Checker:
    def __init__(self, path: str, second: str, seed: int):
        self.path = path
        self.seed = seed
        self.model = bytearray()
        self.second = random.Random(seed).randbytes(SECOND_SIZE)
        self.history: list[str] = []
        self.applied: list[list] = []
        self.counts: Counter = Counter()
        self.skipped: dict[str, str] = {}
        self.shared_write_refused: Optional[str] = None
        with open(second, 'wb') as f:
            f.write(self.second)
        self.second_fd = os.open(second, os.O_RDONLY)
        self.fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)

    # -- the model and the mount compared ---------------------------------------------------

    def fail(self, step: int, what: str) -> None:
        raise Failure(f'op {step}: {what}')

    def check_size(self, step: int) -> None:
        seen = os.fstat(self.fd).st_size
        if seen != len(self.model):
            self.fail(step, f'fstat size {seen:#x}, expected {len(self.model):#x}')

    def check_range(self, step: int, off: int, n: int, how: str = 'pread') -> None:
        off = min(off, len(self.model))
        n = min(n, len(self.model) - off)
        if n <= 0:
            return
        seen = pread_all(self.fd, n, off)
        self.compare(step, off, self.model[off:off + n], seen, how)

    def compare(self, step: int, off: int, want: bytes, seen: bytes, how: str) -> None:
        if seen == want:
            return
        if len(seen) != len(want):
            self.fail(step, f'{how} at {off:#x} returned {len(seen):#x} bytes, expected {len(want):#x}')
        first = next(i for i, (a, b) in enumerate(zip(seen, want)) if a != b)
        last = max(i for i, (a, b) in enumerate(zip(seen, want)) if a != b)
        at = off + first
        zeros = ' (zeros)' if not any(seen[first:last + 1]) else ''
        self.fail(step, f'{how} of {off:#x} thru {off + len(want) - 1:#x}: bytes {at:#x} thru {off + last:#x} '
                        f'differ{zeros}; at {at:#x} expected {want[first:first + 16].hex()} '
                        f'seen {seen[first:first + 16].hex()}')

    def check_all(self, step: int, how: str = 'whole-file pread') -> None:
        self.check_size(step)
        seen = pread_all(self.fd, len(self.model) + 1, 0)
        self.compare(step, 0, bytes(self.model), seen, how)

    # -- operations ---------------------------------------------------------------------------

    def grow(self, size: int) -> None:
        if size > len(self.model):
            self.model.extend(bytes(size - len(self.model)))

    def apply(self, step: int, op: list) -> str:
        """Applies `op` to the mount and the model; returns a note for the history."""
        kind = op[0]
        before = len(self.model)
        if kind in ('write', 'large_write'):
            _, off, n, tag = op
            b = data(tag, n)
            pwrite_all(self.fd, b, off)
            self.grow(off + n)
            self.model[off:off + n] = b
            touched = (off, n)
        elif kind == 'read':
            touched = tuple(op[1:])
        elif kind == 'truncate':
            size = op[1]
            os.ftruncate(self.fd, size)
            if size < before:
                del self.model[size:]
            self.grow(size)
            # What was cut and what grew: the bytes around the old end must read as the model says.
            touched = (max(0, min(before, size) - 4 * KiB), abs(size - before) + 8 * KiB)
        elif kind == 'punch':
            _, off, n = op
            punch_hole(self.fd, off, n)
            end = min(off + n, before)
            self.model[off:end] = bytes(max(0, end - off))
            touched = (off, n)
        elif kind == 'copy':
            _, src, src_off, dst_off, n = op
            src_fd, source = (self.fd, self.model) if src == 'self' else (self.second_fd, self.second)
            try:
                copied = os.copy_file_range(src_fd, self.fd, n, src_off, dst_off)
            except OSError as e:
                if e.errno not in (errno.EXDEV, errno.EOPNOTSUPP, errno.ENOSYS):
                    raise
                self.skipped.setdefault('copy', f'copy_file_range failed with {errno.errorcode[e.errno]}')
                return 'refused'
            chunk = bytes(source[src_off:src_off + copied])
            if copied:
                self.grow(dst_off + copied)
                self.model[dst_off:dst_off + copied] = chunk
            touched = (dst_off, copied)
            if copied != n:
                return f'copied {copied:#x} of {n:#x}'
        elif kind in ('mmap_read', 'mmap_write'):
            _, off, n = op[:3]
            # A replayed sequence with operations removed may have a shorter file than the one generated.
            n = min(n, before - off)
            if n <= 0:
                return 'outside the file'
            if kind == 'mmap_write' and self.shared_write_refused:
                return 'skipped'
            prot = mmap.PROT_READ | (mmap.PROT_WRITE if kind == 'mmap_write' else 0)
            try:
                m = mmap.mmap(self.fd, before, mmap.MAP_SHARED, prot)
            except OSError as e:
                if kind != 'mmap_write':
                    raise
                self.shared_write_refused = f'mmap(MAP_SHARED, PROT_WRITE) failed with {errno.errorcode[e.errno]}'
                self.skipped['mmap_write'] = self.shared_write_refused
                return 'skipped'
            try:
                if kind == 'mmap_read':
                    self.compare(step, off, self.model[off:off + n], m[off:off + n], 'mmap read')
                else:
                    b = data(op[3], n)
                    m[off:off + n] = b
                    m.flush()
                    self.model[off:off + n] = b
            finally:
                m.close()
            touched = (off, n)
        elif kind == 'reopen':
            os.close(self.fd)
            self.fd = os.open(self.path, os.O_RDWR)
            touched = (0, 0)
        else:
            raise ValueError(f'unknown operation {op!r}')
        self.check_size(step)
        self.check_range(step, *touched)
        after = len(self.model)
        return f'size {before:#x} -> {after:#x}' if after != before else f'size {after:#x}'

    def run(self, ops) -> None:
        for step, op in enumerate(ops, 1):
            self.applied.append(op)
            self.history.append(f'{step:6d} {describe(op)}')
            try:
                note = self.apply(step, op)
                if step % FULL_EVERY == 0:
                    self.check_all(step)
            except OSError as e:
                raise Failure(f'op {step}: {describe(op)} failed: '
                              f'{errno.errorcode.get(e.errno, e.errno)} {e.strerror}') from e
            self.history[-1] += f'  [{note}]'
            self.counts[op[0]] += 1
        self.check_all(len(self.applied), 'final whole-file pread')

    def close(self) -> None:
        os.close(self.fd)
        os.close(self.second_fd)


def generated(gen: Generator, checker: Checker, count: int):
    for _ in range(count):
        yield gen.next(len(checker.model))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('file')
    p.add_argument('second')
    p.add_argument('--seed', type=int, required=True)
    p.add_argument('--ops', type=int, default=1000)
    p.add_argument('--replay', help='a JSON list of operations to apply instead of generated ones')
    p.add_argument('--model-out', required=True)
    p.add_argument('--ops-out')
    a = p.parse_args()

    checker = Checker(a.file, a.second, a.seed)
    if a.replay:
        with open(a.replay) as f:
            ops = json.load(f)
    else:
        ops = generated(Generator(a.seed), checker, a.ops)
    t0 = time.monotonic()
    try:
        checker.run(ops)
        checker.close()
    except Failure as e:
        if a.ops_out:
            with open(a.ops_out, 'w') as f:
                json.dump(checker.applied, f)
        print(f'fsx FAILED: seed {a.seed}, {e} ({time.monotonic() - t0:.1f} s into the run)')
        print(f'last {HISTORY_SHOWN} operations (op number, operation, [model size]):')
        print('\n'.join(checker.history[-HISTORY_SHOWN:]))
        return 1
    with open(a.model_out, 'wb') as f:
        f.write(checker.model)
    print(json.dumps({'seed': a.seed, 'ops': len(checker.applied), 'size': len(checker.model),
                      'elapsed_s': round(time.monotonic() - t0, 2), 'counts': dict(checker.counts),
                      'skipped': checker.skipped}))
    return 0


if __name__ == '__main__':
    sys.exit(main())
