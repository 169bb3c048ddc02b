"""Reading through the mount: a whole tree compared with its original, a large file sequentially and
at random offsets, and a 10,000-entry directory listed in no more requests than it has pages."""

from __future__ import annotations

import hashlib
import json
import math
import os
import random
import sys
from pathlib import Path

import pytest

from conftest import MiB, comparable, make_tree, ok, relative_paths, run, stat_lines


@pytest.fixture(scope='session')
def seeded_tree(session_dir, uploader) -> tuple[Path, str]:
    """The seed tree, locally and uploaded through the API as /tree."""
    local = make_tree(session_dir / 'tree-local')
    remote = uploader.upload_tree(local, '/', 'tree')
    return local, remote


def test_tree_reads_back_identical(mount, seeded_tree):
    local, remote = seeded_tree
    mounted = mount.path(remote.lstrip('/'))

    # Contents: every file, and symlinks compared as links...
    r = run(['diff', '-r', '--no-dereference', local, mounted])
    assert r.rc == 0 and not r.stdout, r.describe()
    # ...and followed (dirlink leads into sub/ on both sides).
    r = run(['diff', '-r', local, mounted])
    assert r.rc == 0 and not r.stdout, r.describe()

    # The same names, types and symlink targets on both sides.
    listing = ['find', '.', '-printf', r'%y %P -> %l\n']
    want = sorted(ok(listing, cwd=local).out.splitlines())
    got = sorted(ok(listing, cwd=mounted).out.splitlines())
    assert got == want
    assert len(want) == len(relative_paths(local)) + 1

    # Sizes, modes and modification times, to the nanosecond (the API keeps nanoseconds).
    paths = relative_paths(local)
    want_stat = {p: comparable(v) for p, v in stat_lines(local, paths).items()}
    got_stat = {p: comparable(v) for p, v in stat_lines(mounted, paths).items()}
    diffs = {p: (want_stat[p], got_stat[p]) for p in want_stat if want_stat[p] != got_stat[p]}
    assert not diffs, 'stat differs (local, mount):\n' + '\n'.join(
        f'  {p}: {w}  !=  {g}' for p, (w, g) in sorted(diffs.items()))

    # Single files by awkward names, with cat.
    for name in ('a file with spaces.txt', '\u00fcn\u00efc\u00f6d\u00e9 \u2013 \u540d\u524d.txt',
                 'emoji \U0001f389.bin', 'empty.txt'):
        assert ok(['cat', os.path.join(mounted, name)]).stdout == (local / name).read_bytes(), name


# A reader run on the mount: os.pread at each (offset, length) of a JSON list read from stdin,
# printing the length and SHA-256 of what each returned.
PREAD_SCRIPT = '''
import hashlib, json, os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
out = []
for off, n in json.load(sys.stdin):
    b = os.pread(fd, n, off)
    out.append([len(b), hashlib.sha256(b).hexdigest()])
os.close(fd)
json.dump(out, sys.stdout)
'''


def test_large_file_sequential_and_random_reads(mounts, sandbox, api, uploader, workdir):
    size = 256 * MiB
    local = workdir / 'large.bin'
    digest = hashlib.sha256()
    with open(local, 'wb') as f:
        for _ in range(size // (16 * MiB)):
            chunk = os.urandom(16 * MiB)
            digest.update(chunk)
            f.write(chunk)
    api.create('/', 'large.bin')
    uploader.upload_file('/large.bin', local)

    m = mounts(sandbox)
    path = m.path('large.bin')
    assert ok(['stat', '-c', '%s', path]).out.strip() == str(size)

    # Random reads first, while nothing of the file is cached: 200 reads of 1 byte to 2 MiB, some
    # across the core's 4 MiB blocks, some reaching past the end.
    rng = random.Random(256)
    reads = []
    for i in range(200):
        n = rng.choice([1, 17, 4096, 65536, 131072 + 3, MiB, 2 * MiB, rng.randrange(1, 2 * MiB)])
        if i % 10 == 0:
            off = rng.randrange(1, size // (4 * MiB)) * 4 * MiB - rng.randrange(1, 4096)
        elif i % 25 == 1:
            off = size - rng.randrange(1, 4096)
        else:
            off = rng.randrange(0, size)
        reads.append([off, n])
    r = ok([sys.executable, '-c', PREAD_SCRIPT, path], input=json.dumps(reads).encode(), timeout=120)
    got = json.loads(r.stdout)
    with open(local, 'rb') as f:
        want = [[len(b), hashlib.sha256(b).hexdigest()] for b in
                (os.pread(f.fileno(), n, off) for off, n in reads)]
    bad = [(reads[i], got[i], want[i]) for i in range(len(reads)) if got[i] != want[i]]
    assert not bad, f'{len(bad)} of {len(reads)} random reads differ, e.g. (offset, length), ' \
                    f'(got length, sha256), (want ...): {bad[:3]}'

    # The whole file, sequentially.
    r = ok(['sha256sum', path], timeout=180)
    assert r.out.split()[0] == digest.hexdigest(), r.describe()
    print(f'\n[mount] sha256sum of 256 MiB through the mount: {r.elapsed:.2f} s '
          f'({size / MiB / r.elapsed:.0f} MiB/s)')

    # The last bytes with dd, from an offset that is no multiple of anything.
    off = size - 5003
    r = ok(['dd', f'if={path}', 'of=/dev/stdout', 'bs=1000', 'iflag=skip_bytes', f'skip={off}',
            'status=none'])
    with open(local, 'rb') as f:
        assert r.stdout == os.pread(f.fileno(), 5003, off)
    totals = m.unmount()
    assert totals['client.errors'] == 0, totals
    local.unlink()


def test_ls_l_of_10000_entries_costs_one_request_per_page(mounts, sandbox, api, uploader):
    n = 10_000
    page = 1_000  # the server's default page of entries, which qfuse asks for
    api.mkdir('/', 'bigdir')
    uploader.create_many('/bigdir', [f'file-{i:05d}' for i in range(n)])

    # What a mount costs by itself: mounted, then unmounted without a single operation.
    baseline = mounts(sandbox, name='baseline').unmount()['client.requests']

    # With the default attribute timeout (1 s).
    m = mounts(sandbox, name='listing')
    r = list_long(m.path('bigdir'), n)
    totals = m.unmount()
    requests = totals['client.requests']
    pages = -(-n // page)
    # Beyond the baseline (login and the root's attributes, at mount), `ls -l DIR` may cost:
    #   1  the lookup of `bigdir` in the root (bigdir's attributes, by path), since the root's
    #      listing is not cached;
    #   2  for each second `ls` takes, one more lookup of `bigdir` when `ls` stats it again: past the
    #      1 s timeout the kernel revalidates the name, and the core reads the root's expired
    #      attributes (for its path) and then bigdir's (a loaded machine lists slower, not dearer
    #      per entry: the count never grows with the entries);
    # and then one request per page of entries: the pages carry every child's attributes, which
    # READDIRPLUS hands to the kernel, so `ls -l`'s 10,000 lstat calls and its xattr probes
    # (security.*, system.posix_acl_*) cost nothing. The run with a long timeout below is exact.
    allowance = 1 + 2 * math.ceil(r.elapsed)
    print(f'\n[mount] ls -l of {n} entries, --attr-timeout 1: client.requests={requests} '
          f'(baseline mount {baseline}, {pages} pages, listing took {r.elapsed:.2f} s); {totals}')
    assert requests <= baseline + pages + allowance, \
        f'{requests} requests for ls -l of {n} entries; at most {baseline} (mount) + {pages} ' \
        f'(pages) + {allowance} expected. totals: {totals}'
    assert totals['nodes.unbalanced_forgets'] == 0, totals
    assert totals['client.errors'] == 0, totals

    # With a timeout longer than the test: the one lookup, the pages, and a second `ls -l` served
    # entirely from the kernel's and the core's caches.
    m = mounts(sandbox, name='cached', attr_timeout=60)
    first = list_long(m.path('bigdir'), n)
    second = list_long(m.path('bigdir'), n)
    assert second.stdout == first.stdout
    totals = m.unmount()
    print(f'[mount] two ls -l of {n} entries, --attr-timeout 60: '
          f'client.requests={totals["client.requests"]} (listings took {first.elapsed:.2f} s '
          f'and {second.elapsed:.2f} s)')
    assert totals['client.requests'] <= baseline + pages + 1, totals
    assert totals['nodes.unbalanced_forgets'] == 0, totals


def list_long(path: str, n: int):
    """`ls -l path`, checked to print the total line and n files."""
    r = ok(['ls', '-l', path], timeout=120)
    lines = r.out.splitlines()
    assert lines[0].startswith('total '), lines[:2]
    assert len(lines) == n + 1, f'{len(lines)} lines'
    assert sum(1 for ln in lines[1:] if ln.startswith('-rw-r--r-- 1 ')) == n, lines[1:3]
    return r
