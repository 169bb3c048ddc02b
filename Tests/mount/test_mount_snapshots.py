"""Browsing `.snapshot`: every directory's hidden `.snapshot` lists exactly the snapshots that cover
it, serves the old contents, copies out with `cp -a` into the original tree, is walked by `find`
without loops, has its own inode numbers, and refuses every change with EROFS."""

from __future__ import annotations

import shutil
from os.path import join as pj

import pytest

from conftest import (
    change_attempts, comparable, make_tree, not_read_only, ok, ref, relative_paths, run, stat_lines,
)

LOOP = 'File system loop detected'


def lines(r) -> list[str]:
    return r.out.splitlines()


@pytest.fixture(scope='module')
def snapshotted(session_dir, api, qq, uploader):
    """/snaptree (the seed tree) and /other, three snapshots (the whole file system, /snaptree/sub
    and /other), then changes to the live tree. Returns the local original and the snapshots."""
    original = make_tree(session_dir / 'snaptree-original', seed=11)
    uploader.upload_tree(original, '/', 'snaptree')
    api.mkdir('/', 'other')
    api.make_file('/other', 'o.txt', b'other\n')

    whole = qq.ok('snapshot_create_snapshot', '-n', 'whole').json
    sub = qq.ok('snapshot_create_snapshot', '--path', '/snaptree/sub', '-n', 'sub').json
    other = qq.ok('snapshot_create_snapshot', '--path', '/other', '-n', 'other').json
    for s in (whole, sub, other):
        assert s['name'] == f'{s["id"]}_{s["name"].split("_", 1)[1]}', s

    # Change the live tree: rewrite, delete, create, chmod, remove a directory, add one.
    api.write('/snaptree/small.txt', b'changed after the snapshots\n')
    api.write('/snaptree/sub/inner.txt', b'inner, changed\n')
    api.ok('DELETE', f'/v1/files/{ref("/snaptree/empty.txt")}')
    api.ok('DELETE', f'/v1/files/{ref("/snaptree/emptydir")}')
    api.make_file('/snaptree', 'new.txt', b'new\n')
    api.ok('PATCH', f'/v1/files/{ref("/snaptree/page.bin")}/info/attributes', {'mode': '0600'})
    api.mkdir('/snaptree', 'newdir')
    return original, whole, sub, other


def test_snapshot_browsing(mount, snapshotted, workdir):
    original, whole, sub, other = snapshotted
    live = mount.path('snaptree')
    snapdir = pj(live, '.snapshot')
    old = pj(snapdir, whole['name'])

    # Each .snapshot lists exactly the snapshots that cover its directory.
    assert lines(ok(['ls', snapdir])) == [whole['name']]
    assert lines(ok(['ls', pj(live, 'sub/.snapshot')])) == sorted([whole['name'], sub['name']])
    assert lines(ok(['ls', mount.path('other/.snapshot')])) == sorted([whole['name'], other['name']])
    assert lines(ok(['ls', mount.path('.snapshot')])) == [whole['name']]
    assert lines(ok(['ls', pj(live, 'newdir/.snapshot')])) == []

    # Old contents there, new ones in the live tree.
    assert ok(['cat', pj(old, 'small.txt')]).stdout == (original / 'small.txt').read_bytes()
    assert ok(['cat', pj(live, 'small.txt')]).stdout == b'changed after the snapshots\n'
    assert ok(['cat', pj(live, 'sub/.snapshot', sub['name'], 'inner.txt')]).stdout == b'inner\n'
    assert ok(['cat', pj(live, 'sub/inner.txt')]).stdout == b'inner, changed\n'
    assert ok(['stat', '-c', '%a', pj(old, 'page.bin')]).out.strip() == '755'
    r = run(['stat', pj(live, 'empty.txt')])
    assert r.rc != 0 and 'No such file' in r.stderr, r.describe()

    # Restore the whole tree with cp -a: identical to the original, times and modes included.
    restored = workdir / 'restored'
    ok(['cp', '-a', old, restored], timeout=120)
    r = run(['diff', '-r', '--no-dereference', original, restored])
    assert r.rc == 0 and not r.stdout, r.describe()
    paths = relative_paths(original)
    want = {p: comparable(v) for p, v in stat_lines(original, paths).items() if p != '.'}
    got = {p: comparable(v) for p, v in stat_lines(restored, paths).items() if p != '.'}
    assert got == want, [(p, want[p], got[p]) for p in want if want[p] != got[p]]
    # And a subdirectory from its own snapshot.
    ok(['cp', '-a', pj(live, 'sub/.snapshot', sub['name']), workdir / 'sub-restored'])
    r = run(['diff', '-r', '--no-dereference', original / 'sub', workdir / 'sub-restored'])
    assert r.rc == 0 and not r.stdout, r.describe()
    shutil.rmtree(restored)

    # find walks snapshots and the whole mount without loops; .snapshot stays out of plain walks.
    r = run(['find', snapdir], timeout=120)
    assert r.rc == 0 and LOOP not in r.stderr and not r.stderr, r.describe()
    walked = sorted(p[len(old) + 1:] for p in lines(r) if p.startswith(old + '/'))
    assert walked == paths
    for top in (mount.path('.snapshot'), str(mount.mountpoint)):
        r = run(['find', top], timeout=120)
        assert r.rc == 0 and LOOP not in r.stderr and not r.stderr, r.describe()
    assert not [p for p in lines(r) if '.snapshot' in p.split('/')], \
        'find of the mount entered a .snapshot'

    # Hidden from listings, live or old.
    for d in (live, str(mount.mountpoint), old, pj(live, 'sub')):
        names = lines(ok(['ls', '-a', d]))
        assert '.snapshot' not in names and '.' in names, (d, names)

    # Inode numbers: distinct between the live file and each snapshot's, and stable.
    def ino(p: str) -> int:
        return int(ok(['stat', '-c', '%i', p]).out)
    inodes = {
        'live small.txt': ino(pj(live, 'small.txt')),
        'old small.txt': ino(pj(old, 'small.txt')),
        'live sub/inner.txt': ino(pj(live, 'sub/inner.txt')),
        'old sub/inner.txt': ino(pj(old, 'sub/inner.txt')),
        'sub snapshot inner.txt': ino(pj(live, 'sub/.snapshot', sub['name'], 'inner.txt')),
        'live snaptree': ino(live),
        'snaptree/.snapshot': ino(snapdir),
        'old snaptree': ino(old),
    }
    assert len(set(inodes.values())) == len(inodes), inodes
    assert ino(pj(old, 'small.txt')) == inodes['old small.txt']


def test_snapshots_are_read_only(mount, snapshotted):
    original, whole, _, _ = snapshotted
    snapdir = mount.path('snaptree', '.snapshot')
    old = pj(snapdir, whole['name'])

    # Every change inside a snapshot, or to .snapshot itself, fails with EROFS.
    attempts = change_attempts(old, 'small.txt', 'emptydir')
    attempts['mkdir in .snapshot'] = ['mkdir', pj(snapdir, 'made')]
    attempts['rmdir in .snapshot'] = ['rmdir', pj(snapdir, whole['name'])]
    wrong = not_read_only(attempts, mount)
    assert ok(['cat', pj(old, 'small.txt')]).stdout == (original / 'small.txt').read_bytes()
    assert lines(ok(['ls', snapdir])) == [whole['name']]
    assert not wrong, 'changes in a snapshot that did not fail with EROFS:\n  ' + '\n  '.join(wrong)
