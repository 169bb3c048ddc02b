"""The fsx-style checker (fsx.py) on a real mount, against a sandbox that answers at once and one that
holds the answers to writes for a random while (--delay-writes-ms), so that answers to uploads in
flight together come back out of order (issue 11).

Each run checks one file operation by operation in a subprocess with a timeout (this process never
touches the mount), then compares the server's copy, read through the REST API, with the model. The
mount uploads in 1 MiB requests (--write-buffer 8M), so a large write or a close keeps several
uploads of one file in flight.

Before the fix of issue 11 every run failed (18 of 18 with the delay, 11 of 18 without): fstat after a
write that grew the file showed the smaller size an older upload answer carried (see FROZEN).

Environment:
  QFUSE_FSX_SEED   one seed to run instead of SEEDS ('random' picks one and prints it)
  QFUSE_FSX_OPS    operations per run (default CI_OPS)
  QFUSE_LONG=1     also run LONG_OPS operations (test_fsx_long), against the delaying sandbox
  QFUSE_FSX_SHRINK if set, a failure of a random run is shrunk and printed in the form FROZEN takes
"""

from __future__ import annotations

import json
import os
import random
import sys
from pathlib import Path
from typing import Iterable, Optional

import pytest

from conftest import HERE, Api, Mount, Sandbox, harness, run
from test_mount_write import shrink

FSX = HERE / 'fsx.py'
# The delaying sandbox gets every seed; the prompt one, where answers cross only by chance, the first.
# A run of CI_OPS takes 30-50 s on two cores: 14-25 ms an operation, most of it in those that wait
# for the server (large writes, copy, mmap writeback, punch hole, truncate).
SEEDS = [1, 2, 3]
CI_OPS = 2000
LONG_OPS = 100_000
# Answers to writes held 0-10 ms: long enough to reorder uploads in flight together, short enough
# that the operations that wait for their answers stay cheap.
DELAY_ARGS = ['--delay-writes-ms', '0-10', '--delay-seed', '11']
# Uploads of 1 MiB (an eighth of the buffer), four in flight per file.
MOUNT_ARGS = ['--write-buffer', '8M']


def chosen_seed() -> Optional[int]:
    chosen = os.environ.get('QFUSE_FSX_SEED')
    if not chosen:
        return None
    return random.randrange(1 << 31) if chosen == 'random' else int(chosen)


def random_runs() -> list[tuple[str, int]]:
    """(sandbox, seed) pairs of test_fsx_random."""
    chosen = chosen_seed()
    if chosen is not None:
        return [('delayed', chosen), ('prompt', chosen)]
    return [('delayed', seed) for seed in SEEDS] + [('prompt', SEEDS[0])]


OPS = int(os.environ.get('QFUSE_FSX_OPS') or CI_OPS)
SHRINK = bool(os.environ.get('QFUSE_FSX_SHRINK'))


def time_limit(ops: int) -> float:
    """A run's bound: about 10 ms an operation on the delaying sandbox, five times over."""
    return 60 + ops * 0.05


@pytest.fixture(scope='module')
def delaying_sandbox(session_dir) -> Iterable[Sandbox]:
    if '--delay-writes-ms' not in harness.sandbox_help():
        pytest.skip('qfuse-sandbox has no --delay-writes-ms option in this build')
    with Sandbox(session_dir / 'delaying-root', session_dir / 'delaying-logs', args=DELAY_ARGS) as sb:
        yield sb


def sandbox_of(request, kind: str) -> Sandbox:
    """'prompt': the session's sandbox, which answers at once; 'delayed': one that holds answers
    to writes (DELAY_ARGS)."""
    return request.getfixturevalue('sandbox' if kind == 'prompt' else 'delaying_sandbox')


class FsxRun:
    """fsx.py on one file of a mount; the mount's server keeps the result."""

    def __init__(self, mount: Mount, workdir: Path, name: str, seed: int):
        self.mount = mount
        self.workdir = workdir
        self.name = name
        self.seed = seed
        self.model = workdir / f'{name}.model'
        self.ops_file = workdir / f'{name}.ops.json'
        self.api = Api(mount.sandbox, validate=False)
        self.api.login()

    def __call__(self, *, ops: int = 0, replay: Optional[list] = None) -> Optional[str]:
        """Runs the checker; returns None when the mount and then the server agree with the model,
        else what went wrong."""
        argv = [sys.executable, FSX, self.mount.path(self.name), self.mount.path(self.name + '.src'),
                '--seed', self.seed, '--model-out', self.model, '--ops-out', self.ops_file]
        if replay is not None:
            replay_file = self.workdir / f'{self.name}.replay.json'
            replay_file.write_text(json.dumps(replay))
            argv += ['--replay', replay_file]
            ops = len(replay)
        else:
            argv += ['--ops', ops]
        r = run(argv, timeout=time_limit(ops))
        if r.rc != 0:
            return f'{r.out}{r.stderr}'
        summary = json.loads(r.out.splitlines()[-1])
        print(f'[fsx] {self.name}: {summary}')
        # Close-to-open: once the checker's last close returned, the server has every byte.
        want = self.model.read_bytes()
        got = self.api.read('/' + self.name)
        if got != want:
            first = next((i for i, (a, b) in enumerate(zip(got, want)) if a != b), min(len(got), len(want)))
            return (f'after the last close, the server has {len(got):#x} bytes and the model {len(want):#x}; '
                    f'first difference at {first:#x}')
        return None


def reproduce(kind: str, seed: int, ops: int, test: str) -> str:
    return (f'reproduce with: QFUSE_FSX_SEED={seed} QFUSE_FSX_OPS={ops} '
            f'pytest Tests/mount/test_mount_fsx.py -k "{test} and {kind}"')


# Shrinking replays the failure many times over.
@pytest.mark.timeout(3600 if SHRINK else time_limit(OPS) + 120)
@pytest.mark.parametrize('kind,seed', random_runs())
def test_fsx_random(request, mounts, workdir, kind, seed):
    m = mounts(sandbox_of(request, kind), extra=MOUNT_ARGS)
    fsx = FsxRun(m, workdir, f'fsx-{seed}-{kind}', seed)
    failure = fsx(ops=OPS)
    if failure and SHRINK and fsx.ops_file.exists():
        applied = json.loads(fsx.ops_file.read_text())
        shrunk = shrink(applied, lambda ops: fsx(replay=ops) is not None)
        print(f'[fsx] seed {seed} shrunk from {len(applied)} to {len(shrunk)} operations:\n' +
              ''.join(f'        {json.dumps(o)},\n' for o in shrunk))
    assert failure is None, f'{failure}\n{reproduce(kind, seed, OPS, "test_fsx_random")}\n' \
                            f'operations applied: {fsx.ops_file}'


@pytest.mark.long
@pytest.mark.skipif(not os.environ.get('QFUSE_LONG'), reason='set QFUSE_LONG=1 to run 100,000 operations')
@pytest.mark.timeout(time_limit(LONG_OPS) + 120)
def test_fsx_long(delaying_sandbox, mounts, workdir):
    seed = chosen_seed()
    seed = SEEDS[0] if seed is None else seed
    m = mounts(delaying_sandbox, extra=MOUNT_ARGS)
    failure = FsxRun(m, workdir, f'fsx-long-{seed}', seed)(ops=LONG_OPS)
    assert failure is None, f'{failure}\n{reproduce("delayed", seed, LONG_OPS, "test_fsx_long")}'


# Failures the random runs found, shrunk (operations removed while it still failed) and frozen:
# (seed, operations), replayed against both sandboxes. The seed only chooses the second file's bytes.
ISSUE_11_SEED_3 = [
    ["truncate", 68379],
    ["write", 228674, 39457, 3000013],
    ["truncate", 202305],
    ["large_write", 2453978, 4467570, 3000014],
    ["truncate", 142173],
    ["write", 104054, 56347, 3000036],
    ["write", 31670, 22521, 3000037],
    ["write", 141814, 62548, 3000039],
    ["large_write", 827677, 2073840, 3000040],
    ["mmap_read", 500005, 22453],
]

FROZEN: dict[str, tuple[int, list[list]]] = {
    # Issue 11, found with seed 3 (op 57 of the random run, against both sandboxes) and shrunk from 57
    # operations to ISSUE_11_SEED_3: the last large write goes as two uploads, and after it fstat shows
    # 0x1cb000, the size the first one answered, instead of 0x2c460d. One pass fails only when the
    # first upload's answer lands last (about three replays in five against the delaying sandbox);
    # each pass starts again from its first truncate, and ten of them failed 18 runs in 18 against
    # the delaying sandbox, 11 in 18 against the prompt one.
    'older_upload_answer_shrinks_the_file': (3, ISSUE_11_SEED_3 * 10),
}


@pytest.mark.timeout(300)
@pytest.mark.parametrize('kind', ['delayed', 'prompt'])
@pytest.mark.parametrize('name', sorted(FROZEN))
def test_fsx_frozen(request, mounts, workdir, name, kind):
    seed, ops = FROZEN[name]
    m = mounts(sandbox_of(request, kind), extra=MOUNT_ARGS)
    failure = FsxRun(m, workdir, f'fsx-frozen-{name}-{kind}', seed)(replay=ops)
    assert failure is None, failure
