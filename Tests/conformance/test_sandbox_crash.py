"""Crash safety of data changes: the sandbox is killed with SIGKILL at random moments while it applies a large
PATCH, PUT or copy-chunk, and after every restart each file holds exactly its old or its new content, and growing
it reads zeros (bytes a killed write left past the recorded size must never show).

A short fixed slice runs by default; QFUSE_LONG=1 runs the long loop with larger writes. The seed is printed and
can be pinned with QFUSE_CRASH_SEED."""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import sqlite3
import threading
import time

import pytest

from conftest import Api, Sandbox, ref

LONG = os.environ.get('QFUSE_LONG') == '1'
KILLS = 150 if LONG else 12
MIB = 1024 * 1024
WRITE_BYTES = (96 if LONG else 24) * MIB
# The most one copy-chunk call copies (Store.copyChunkLimit); the client posts the rest as a new call.
COPY_BYTES = min(WRITE_BYTES, 64 * MIB)
PATH = '/crash/f'
SOURCE = '/crash/src'


@pytest.fixture
def private_sandbox(tmp_path):
    with Sandbox(tmp_path / 'root', tmp_path / 'logs') as sb:
        yield sb


def pattern(seed: int, size: int) -> bytes:
    rng = random.Random(seed)
    # A MiB at a time: randbytes takes at most 2**31 bits at once.
    return b''.join(rng.randbytes(min(MIB, size - start)) for start in range(0, size, MIB))


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


class Operation:
    """One data change with its request and what the file holds if it commits."""

    def __init__(self, kind: str, current: bytes, source: bytes, rng: random.Random):
        self.kind = kind
        if kind == 'PATCH':
            # Overlaps the old bytes and usually extends past them: both halves of the in-place write.
            offset = rng.randrange(0, len(current) + 1)
            data = pattern(rng.getrandbits(32), WRITE_BYTES)
            self.method, self.path, self.body = 'PATCH', f'/v1/files/{ref(PATH)}/data?offset={offset}', data
            self.after = current[:offset] + data + current[offset + len(data):]
        elif kind == 'PUT':
            data = pattern(rng.getrandbits(32), rng.randrange(WRITE_BYTES // 2, WRITE_BYTES * 2))
            self.method, self.path, self.body = 'PUT', f'/v1/files/{ref(PATH)}/data', data
            self.after = data
        else:
            offset = rng.randrange(0, len(current) + 1)
            start = rng.randrange(0, len(source) - COPY_BYTES)
            self.method, self.path = 'POST', f'/v1/files/{ref(PATH)}/copy-chunk'
            self.body = {'source_path': SOURCE, 'source_offset': str(start), 'target_offset': str(offset),
                         'length': str(COPY_BYTES)}
            copied = source[start:start + COPY_BYTES]
            self.after = current[:offset] + copied + current[offset + len(copied):]


def send(api: Api, op: Operation, sent: threading.Event, outcome: dict) -> None:
    """Sends the request whole, sets `sent`, then waits for the answer (or the connection's death)."""
    conn = api.connection(timeout=120)
    try:
        if isinstance(op.body, bytes):
            payload, ctype = op.body, 'application/octet-stream'
        else:
            payload, ctype = json.dumps(op.body).encode(), 'application/json'
        conn.putrequest(op.method, op.path, skip_accept_encoding=True)
        for k, v in {'Authorization': f'Bearer {api.token}', 'Content-Type': ctype,
                     'Content-Length': str(len(payload))}.items():
            conn.putheader(k, v)
        conn.endheaders()
        conn.send(payload)
        sent.set()
        r = conn.getresponse()
        r.read()
        outcome['status'] = r.status
    except OSError as e:
        outcome['error'] = e
    finally:
        sent.set()
        conn.close()


def check(api: Api, candidates: dict[str, bytes], where: str) -> bytes:
    """The file holds one of the candidates exactly, its size says so, and growing it by a MiB reads zeros."""
    size = int(api.attrs(PATH)['size'])
    data = api.read(PATH)
    assert len(data) == size, f'{where}: read {len(data)} bytes of a {size}-byte file'
    matches = [name for name, want in candidates.items() if data == want]
    assert matches, (f'{where}: the file is neither its old nor its new content: size {size}, sha {digest(data)}; '
                     + ', '.join(f'{n}: size {len(w)} sha {digest(w)}' for n, w in candidates.items()))
    api.ok('PATCH', f'/v1/files/{ref(PATH)}/info/attributes', {'size': str(size + MIB)})
    tail = api.read(PATH, offset=size)
    assert tail == bytes(MIB), (f'{where}: growing the file exposed {len(tail) - tail.count(0)} nonzero bytes '
                                f'past its old size {size}')
    api.ok('PATCH', f'/v1/files/{ref(PATH)}/info/attributes', {'size': str(size)})
    return data


def test_kill_during_large_writes_leaves_old_or_new_content(private_sandbox, tmp_path):
    sb = private_sandbox
    seed = int(os.environ.get('QFUSE_CRASH_SEED', random.SystemRandom().getrandbits(32)))
    print(f'QFUSE_CRASH_SEED={seed}')
    rng = random.Random(seed)
    api = Api(sb, validate=False)
    api.login()
    api.mkdir('/', 'crash')
    source = pattern(seed ^ 1, WRITE_BYTES * 3)
    api.make_file('/crash', 'src', source)
    current = pattern(seed ^ 2, WRITE_BYTES * 2)
    api.make_file('/crash', 'f', current)

    # How long each kind takes between the last byte sent and the answer: the window where the store applies
    # it. Kills land uniformly in that window and a little beyond, so most hit the change itself.
    kinds = ['PATCH', 'PUT', 'copy-chunk']
    window = {}
    for kind in kinds:
        op = Operation(kind, current, source, rng)
        sent, outcome = threading.Event(), {}
        thread = threading.Thread(target=send, args=(api, op, sent, outcome))
        thread.start()
        sent.wait(120)
        started = time.monotonic()
        thread.join(120)
        window[kind] = time.monotonic() - started
        assert outcome.get('status') == 200, f'{kind} failed unkilled: {outcome}'
        current = op.after
    print('windows', {k: f'{v * 1000:.0f} ms' for k, v in window.items()})

    outcomes = {'old': 0, 'new': 0}
    for i in range(KILLS):
        kind = kinds[i % len(kinds)]
        op = Operation(kind, current, source, rng)
        sent, outcome = threading.Event(), {}
        thread = threading.Thread(target=send, args=(api, op, sent, outcome))
        thread.start()
        assert sent.wait(120), f'{kind}: the body was not sent'
        time.sleep(rng.uniform(0, window[kind] * 1.2))
        os.kill(sb.proc.pid, signal.SIGKILL)
        thread.join(30)
        sb.stop()
        sb.start()
        api.login()
        where = f'kill {i} during {kind} (seed {seed})'
        data = check(api, {'old': current, 'new': op.after}, where)
        outcomes['new' if data == op.after else 'old'] += 1
        current = data
    print('outcomes', outcomes)
    assert api.read(SOURCE) == source, 'the copy-chunk source changed'

    # The last kill's leftovers are gone too: every blob file is referenced and exactly as long as its size.
    sb.stop()
    db = sqlite3.connect(sb.root / 'metadata.sqlite')
    sizes = dict(db.execute('SELECT blob, MAX(size) FROM (SELECT blob, size FROM inode UNION ALL '
                            'SELECT blob, size FROM stream) WHERE blob IS NOT NULL GROUP BY blob'))
    db.close()
    on_disk = {int(name): (sb.root / 'blobs' / name).stat().st_size for name in os.listdir(sb.root / 'blobs')}
    assert on_disk == sizes, f'blob files {on_disk} against the recorded sizes {sizes}'
