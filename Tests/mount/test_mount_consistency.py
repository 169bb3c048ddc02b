"""What the mount shows after the server changes, what a read-only mount refuses, and user metadata
as extended attributes."""

from __future__ import annotations

import hashlib
import shutil
import time

import pytest

from conftest import change_attempts, not_read_only, ok, rfc3339_ns, run

# --attr-timeout of the mount in these tests (the default), and the margin on top of it after which
# a change made on the server must show. The margin covers a listing or attribute fetch that was in
# flight when the change was made, plus scheduling on a loaded two-core machine.
ATTR_TIMEOUT_S = 1.0
MARGIN_S = 1.0
# How long, after the timeout, every read must return the new version.
WATCH_S = 2.0


def watch(argv: list[str], want: bytes, what: str) -> int:
    """Run argv repeatedly for WATCH_S; every run must print exactly `want`. Returns the runs."""
    runs = 0
    deadline = time.monotonic() + WATCH_S
    while True:
        r = ok(argv)
        runs += 1
        assert r.stdout == want, f'{what}: run {runs} after the timeout printed {r.stdout!r}, ' \
                                 f'want {want!r}'
        if time.monotonic() > deadline:
            return runs
        time.sleep(0.1)


def test_server_changes_show_after_the_attribute_timeout(mounts, sandbox, api, qq):
    api.mkdir('/', 'ttl')
    api.make_file('/ttl', 'f.txt', b'version 1\n')
    api.make_file('/ttl', 'gone.txt', b'deleted soon\n')
    m = mounts(sandbox, attr_timeout=ATTR_TIMEOUT_S)
    f = m.path('ttl', 'f.txt')
    listing = ['ls', m.path('ttl')]
    assert ok(['cat', f]).stdout == b'version 1\n'
    assert ok(listing).out.split() == ['f.txt', 'gone.txt']

    # A longer version, a new file and a deleted one, all through qq.
    v2 = b'version 2, which is longer\n'
    qq.ok('fs_write', '--path', '/ttl/f.txt', '--stdin', input=v2)
    qq.ok('fs_create_file', '--path', '/ttl', '--name', 'new.txt')
    qq.ok('fs_delete', '--path', '/ttl/gone.txt')
    time.sleep(ATTR_TIMEOUT_S + MARGIN_S)
    watch(['cat', f], v2, 'cat after a longer write')
    watch(listing, b'f.txt\nnew.txt\n', 'ls after a create and a delete')
    mtime = api.attrs('/ttl/f.txt')['modification_time']
    assert ok(['stat', '-c', '%s %Y', f]).out.split() == [str(len(v2)), str(rfc3339_ns(mtime)[0])]

    # The same size again: only the data revision and mtime tell the versions apart.
    v3 = b'version 3, which is longer\n'
    assert len(v3) == len(v2)
    ok(['cat', f])  # the kernel now holds v2's pages
    qq.ok('fs_write', '--path', '/ttl/f.txt', '--stdin', input=v3)
    time.sleep(ATTR_TIMEOUT_S + MARGIN_S)
    watch(['cat', f], v3, 'cat after a same-size write')
    # Read with other tools too: a different open path, same answer.
    assert ok(['dd', f'if={f}', 'bs=7', 'status=none']).stdout == v3
    assert ok(['sha256sum', f]).out.split()[0] == hashlib.sha256(v3).hexdigest()

    totals = m.unmount()
    assert totals['nodes.unbalanced_forgets'] == 0, totals


def test_read_only_mount_refuses_every_change(mounts, sandbox, api):
    api.mkdir('/', 'ro')
    api.make_file('/ro', 'f.txt', b'read only\n')
    api.mkdir('/ro', 'emptydir')
    m = mounts(sandbox, read_only=True)
    assert 'ro' in entry_options(m.mountpoint)

    assert ok(['cat', m.path('ro', 'f.txt')]).stdout == b'read only\n'
    wrong = not_read_only(change_attempts(m.path('ro'), 'f.txt', 'emptydir'), m)
    assert not wrong, 'changes on a --read-only mount that did not fail with EROFS:\n  ' + \
        '\n  '.join(wrong)
    assert api.read('/ro/f.txt') == b'read only\n'
    assert sorted(api.list_names('/ro')) == ['emptydir', 'f.txt']


def entry_options(mountpoint) -> list[str]:
    """The per-mount options (the sixth field of /proc/self/mountinfo) of the mount at `mountpoint`."""
    with open('/proc/self/mountinfo') as f:
        for line in f:
            fields = line.split()
            if fields[4] == str(mountpoint):
                return fields[5].split(',')
    return []


@pytest.mark.skipif(shutil.which('getfattr') is None,
                    reason='getfattr is not installed (Debian package `attr`)')
def test_user_metadata_reads_as_user_xattrs(mounts, sandbox, api, qq):
    api.mkdir('/', 'meta')
    api.make_file('/meta', 'f.txt', b'tagged\n')
    api.make_file('/meta', 'plain.txt', b'untagged\n')
    qq.ok('fs_set_user_metadata', '--path', '/meta/f.txt', '--key', 'color', '--value', 'blue')
    qq.ok('fs_set_user_metadata', '--path', '/meta/f.txt', '--key', 'team.name',
          '--value', 'storage team')
    qq.ok('fs_set_user_metadata', '--path', '/meta/f.txt', '--key', 'bytes',
          '--hex-value', '00ff10')
    m = mounts(sandbox)
    f = m.path('meta', 'f.txt')

    assert ok(['getfattr', '-n', 'user.color', '--only-values', f]).stdout == b'blue'
    assert ok(['getfattr', '-n', 'user.team.name', '--only-values', f]).stdout == b'storage team'
    assert ok(['getfattr', '-n', 'user.bytes', '--only-values', f]).stdout == b'\x00\xff\x10'
    # Listed (listxattr) and dumped with their values, hex-encoded.
    dump = ok(['getfattr', '-d', '-e', 'hex', '--absolute-names', f]).out.splitlines()
    want = {'user.bytes': b'\x00\xff\x10', 'user.color': b'blue', 'user.team.name': b'storage team'}
    assert sorted(ln for ln in dump if ln.startswith('user.')) == \
        sorted(f'{k}=0x{v.hex()}' for k, v in want.items()), dump
    r = run(['getfattr', '-n', 'user.missing', f])
    assert r.rc == 1 and 'No such attribute' in r.stderr, r.describe()
    r = ok(['getfattr', '-d', '--absolute-names', m.path('meta', 'plain.txt')])
    assert r.out.strip() == '', r.describe()
