"""Snapshots (qumulo-api.md section 3): snapshot_create/list/get/modify/delete, reads with
`?snapshot=`, tree and file diffs, fs_copy --source-snapshot, the key store and snapshot locks,
and the legacy v1/v2 snapshot endpoints.

Snapshots are global to the shared sandbox: every test works only on the ids it created (the
`snaps` fixture deletes them afterwards, unlocking them first when needed) and on files in `tdir`.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
import time
from typing import Any, Optional
from urllib.parse import parse_qs, urlsplit

import pytest

import schema
from conftest import ROOT_ID, TIME_RE, check_attrs, join, ref, rfc3339_ns

try:
    # Needed here to make keys, and by qq itself for --private-key-file (qumulo/lib/keys.py);
    # qumulo-api does not depend on it: `pip install cryptography` into the venv.
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
except ImportError:  # pragma: no cover
    ec = None
needs_crypto = pytest.mark.skipif(ec is None, reason='the cryptography package is not installed')

KIB = 1024
BLOCK = 64 * KIB          # the diff granularity (task brief / server)
RECLAIM_TIMEOUT_S = 10    # the server reclaims a deleted snapshot within about 1 s
NO_SUCH_SNAPSHOT = 987654321

# Templates of the operations whose responses the snapshot qq commands print.
T_SNAP = '/v3/snapshots/{id}'
T_STATUS = '/v3/snapshots/status/{id}'
T_STATUSES_V4 = '/v4/snapshots/status/'
T_TREE_DIFF = '/v2/snapshots/{newer_id}/changes-since/{older_id}'
T_FILE_DIFF = '/v2/snapshots/{newer_id}/changes-since/{older_id}/files/{ref}'
T_KEYS = '/v1/file-system/security/keys/'
T_KEY = '/v1/file-system/security/keys/{key_ref}'


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------

def printed(r, method: str, template: str) -> Any:
    """The single JSON document a qq command printed, validated against `method template`."""
    doc = r.json
    schema.validate_with_template(method, template, 200, doc, f'qq {" ".join(r.args)[:200]}')
    return doc


def rfc3339(t: dt.datetime) -> str:
    return t.astimezone(dt.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')


def now_plus(**delta) -> str:
    return rfc3339(dt.datetime.now(dt.timezone.utc) + dt.timedelta(**delta))


def same_time(a: str, b: str) -> bool:
    return rfc3339_ns(a) == rfc3339_ns(b)


def epoch(s: str) -> float:
    sec, ns = rfc3339_ns(s)
    return sec + ns / 1e9


def new_key() -> 'ec.EllipticCurvePrivateKey':
    return ec.generate_private_key(ec.SECP256R1())


def pem(key: 'ec.EllipticCurvePrivateKey') -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def public_b64(key: 'ec.EllipticCurvePrivateKey') -> str:
    return base64.b64encode(key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)).decode()


def sign(key: 'ec.EllipticCurvePrivateKey', text: str) -> str:
    return base64.b64encode(key.sign(text.encode(), ec.ECDSA(hashes.SHA256()))).decode()


def unique(tdir: str, what: str) -> str:
    # Key names must be unique in the shared sandbox and must not be all digits.
    return f'{what}_{tdir.strip("/")}_{time.monotonic_ns() % 10**9}'[:100]


def merged(regions: list[dict]) -> list[tuple[str, int, int]]:
    """File-diff regions as (type, offset, size), adjacent regions of one type merged (a server may
    split a region at any block boundary)."""
    out: list[list] = []
    for r in regions:
        t, off, size = r['type'], int(r['offset']), int(r['size'])
        if out and out[-1][0] == t and out[-1][1] + out[-1][2] == off:
            out[-1][2] += size
        else:
            out.append([t, off, size])
    return [tuple(x) for x in out]


def pattern(n: int, seed: int = 1) -> bytes:
    """Deterministic bytes with no zero byte (so no 64 KiB block of it reads as a hole)."""
    block = bytes(1 + (i * 7 + seed) % 250 for i in range(251))
    return (block * (n // 251 + 1))[:n]


class Snaps:
    """Creates snapshots and keys for one test and removes them afterwards."""

    def __init__(self, qq, api):
        self.qq = qq
        self.api = api
        self.ids: list[int] = []
        self.keys: dict[str, Any] = {}   # key name -> private key

    def create(self, *args: Any) -> dict:
        r = self.qq.ok('snapshot_create_snapshot', *args)
        s = printed(r, 'POST', '/v3/snapshots/')
        assert isinstance(s.get('id'), int) and not isinstance(s['id'], bool), s
        self.ids.append(s['id'])
        return s

    def track(self, sid: int) -> int:
        self.ids.append(sid)
        return sid

    def add_key(self, name: str, key_file) -> dict:
        r = self.qq.ok('fs_security_add_key', '--name', name, '--private-key-file', key_file,
                       '--json')
        return printed(r, 'POST', T_KEYS)

    def status(self, sid: int) -> dict:
        return self.api.ok('GET', f'/v3/snapshots/status/{sid}').json

    def wait_gone(self, sid: int, timeout: float = RECLAIM_TIMEOUT_S) -> None:
        """After DELETE: the snapshot is `in_delete` until reclaimed, then 404."""
        deadline = time.monotonic() + timeout
        while True:
            r = self.api.request('GET', f'/v3/snapshots/{sid}')
            if r.status == 404:
                assert r.error_class == 'snapshot_no_such_snapshot_error', r.describe()
                return
            assert r.status == 200, r.describe()
            assert r.json['in_delete'] is True, \
                f'a deleted snapshot must show in_delete until reclaimed: {r.describe()}'
            assert time.monotonic() < deadline, \
                f'snapshot {sid} still present {timeout}s after DELETE: {r.describe()}'
            time.sleep(0.1)

    def cleanup(self) -> None:
        api = self.api
        for sid in self.ids:
            try:
                st = api.request('GET', f'/v3/snapshots/status/{sid}', validate=False)
                if st.status != 200:
                    continue
                if st.json.get('lock_key'):
                    ch = api.request('GET', f'/v3/snapshots/{sid}/unlock-challenge',
                                     validate=False)
                    if ch.status == 200:
                        for key in self.keys.values():
                            u = api.request('POST', f'/v3/snapshots/{sid}/unlock',
                                            {'signature': sign(key, ch.json['challenge'])},
                                            validate=False)
                            if u.status < 300:
                                break
                api.request('DELETE', f'/v3/snapshots/{sid}', validate=False)
            except Exception:
                pass
        for name in self.keys:
            try:
                api.request('DELETE', f'/v1/file-system/security/keys/{name}', validate=False)
            except Exception:
                pass


@pytest.fixture
def snaps(qq, api):
    s = Snaps(qq, api)
    try:
        yield s
    finally:
        s.cleanup()


# ---------------------------------------------------------------------------------------------
# Create / get / list / modify / delete
# ---------------------------------------------------------------------------------------------

def check_v3_snapshot(s: dict, *, sid: Optional[int] = None, source: Optional[str] = None,
                      suffix: str = 'OnDemand') -> None:
    """qumulo-api.md 3.1: the v3 snapshot object."""
    for f in ('id', 'name', 'timestamp', 'source_file_id', 'policy_id', 'expiration', 'in_delete'):
        assert f in s, f'snapshot lacks {f!r}: {s}'
    if sid is not None:
        assert s['id'] == sid, s
    assert s['name'] == f'{s["id"]}_{suffix}', s
    assert TIME_RE.match(s['timestamp']), s
    assert s['policy_id'] is None, s
    assert s['in_delete'] is False, s
    if source is not None:
        assert s['source_file_id'] == source, s


def test_create_snapshot_of_path(qq, api, snaps, tdir):
    before = time.time()
    s = snaps.create('--path', tdir)
    after = time.time()
    src = api.attrs(tdir)['file_number']
    check_v3_snapshot(s, source=src)
    # No -e: qq sends "expiration": ""; v3 reports "never" as null (qumulo-api.md 3.1, 3.2).
    assert s['expiration'] is None, s
    assert before - 2 <= epoch(s['timestamp']) <= after + 2, (before, s, after)
    # GET /v3/snapshots/{id} answers the same object.
    got = api.ok('GET', f'/v3/snapshots/{s["id"]}').json
    assert got == s, (got, s)
    # --source-file-id is the same thing by id.
    s2 = snaps.create('--source-file-id', src)
    check_v3_snapshot(s2, source=src)
    assert s2['id'] > s['id'], (s, s2)


def test_create_snapshot_with_name(qq, api, snaps, tdir):
    s = snaps.create('--path', tdir, '-n', 'nightly')
    check_v3_snapshot(s, source=api.attrs(tdir)['id'], suffix='nightly')
    assert s['name'] == f'{s["id"]}_nightly'
    # Name only: the snapshot is of the root directory.
    r = snaps.create('-n', 'rootsnap')
    check_v3_snapshot(r, source=api.attrs('/')['id'], suffix='rootsnap')
    assert r['source_file_id'] == ROOT_ID, r


def test_create_snapshot_defaults_to_root(qq, api, snaps, tdir):
    s = snaps.create()
    check_v3_snapshot(s, source=api.attrs('/')['id'])
    st = printed(qq.ok('snapshot_get_status', '-i', s['id']), 'GET', T_STATUS)
    assert st['source_file_path'] in ('/', ''), st
    # The root snapshot covers this test's directory.
    assert api.ok('GET', f'/v1/files/{ref(tdir)}/info/attributes?snapshot={s["id"]}').json[
        'id'] == api.attrs(tdir)['id']


def test_create_snapshot_with_expiration(qq, api, snaps, tdir):
    exp = now_plus(days=1)
    s = snaps.create('--path', tdir, '-e', exp)
    check_v3_snapshot(s)
    assert isinstance(s['expiration'], str) and same_time(s['expiration'], exp), (exp, s)
    st = printed(qq.ok('snapshot_get_status', '-i', s['id']), 'GET', T_STATUS)
    assert same_time(st['expiration'], exp), (exp, st)


def test_get_status(qq, api, snaps, tdir):
    s = snaps.create('--path', tdir, '-n', 'st')
    st = printed(qq.ok('snapshot_get_status', '-i', s['id']), 'GET', T_STATUS)
    # qumulo-api.md 3.1: status = v3 object + source_file_path, policy_name, owners, lock_key.
    for f in ('id', 'name', 'timestamp', 'source_file_id', 'source_file_path', 'policy_id',
              'policy_name', 'expiration', 'owners', 'in_delete', 'lock_key'):
        assert f in st, f'status lacks {f!r}: {st}'
    for f in ('id', 'name', 'timestamp', 'source_file_id', 'policy_id', 'expiration', 'in_delete'):
        assert st[f] == s[f], (f, st, s)
    assert st['source_file_path'].rstrip('/') == tdir, st
    assert st['policy_name'] is None and st['lock_key'] is None, st
    assert st['owners'] == [], st
    # A missing snapshot (server's choice: 404 snapshot_no_such_snapshot_error).
    qq.fail('snapshot_get_status', '-i', NO_SUCH_SNAPSHOT, status=404,
            error_class='snapshot_no_such_snapshot_error')
    r = api.request('GET', f'/v3/snapshots/{NO_SUCH_SNAPSHOT}')
    assert r.status == 404 and r.error_class == 'snapshot_no_such_snapshot_error', r.describe()


def test_list_statuses_and_filters(qq, api, snaps, tdir):
    keep = snaps.create('--path', tdir, '-n', 'keep')
    gone = snaps.create('--path', tdir, '-n', 'gone')

    def listed(*flags) -> dict[int, dict]:
        doc = printed(qq.ok('snapshot_list_statuses', *flags), 'GET', T_STATUSES_V4)
        assert isinstance(doc.get('entries'), list), doc
        return {e['id']: e for e in doc['entries']}

    every = listed()
    assert keep['id'] in every and gone['id'] in every, every.keys()
    e = every[keep['id']]
    assert e['name'] == keep['name'] and e['source_file_id'] == keep['source_file_id'], e
    assert e['in_delete'] is False and e['lock_key'] is None, e
    assert keep['id'] in listed('--exclude-in-delete')
    assert keep['id'] not in listed('--only-in-delete')
    assert keep['id'] in listed('--exclude-locked')
    assert keep['id'] not in listed('--only-locked')

    # The v3 list (no paging) with its filter values.
    v3 = {x['id']: x for x in api.ok('GET', '/v3/snapshots/?filter=all').json['entries']}
    assert v3[keep['id']] == api.ok('GET', f'/v3/snapshots/{keep["id"]}').json
    assert gone['id'] in v3

    # Delete one: v3 DELETE answers 202; in_delete is true until the space is reclaimed.
    r = api.request('DELETE', f'/v3/snapshots/{gone["id"]}')
    assert r.status == 202, r.describe()
    g = api.ok('GET', f'/v3/snapshots/{gone["id"]}').json
    assert g['in_delete'] is True, f'just after DELETE the snapshot should be in_delete: {g}'
    only = {x['id']: x for x in
            api.ok('GET', '/v3/snapshots/?filter=only_in_delete').json['entries']}
    excl = {x['id']: x for x in
            api.ok('GET', '/v3/snapshots/?filter=exclude_in_delete').json['entries']}
    assert keep['id'] in excl and keep['id'] not in only
    assert gone['id'] not in excl, excl.get(gone['id'])
    # It may have been reclaimed already; if listed, it is listed as in_delete.
    if gone['id'] in only:
        assert only[gone['id']]['in_delete'] is True
    only4 = listed('--only-in-delete')
    assert all(x['in_delete'] for x in only4.values()), only4
    excl4 = listed('--exclude-in-delete')
    assert gone['id'] not in excl4 and keep['id'] in excl4
    assert not any(x['in_delete'] for x in excl4.values()), excl4

    snaps.wait_gone(gone['id'])
    assert gone['id'] not in listed()
    assert gone['id'] not in {x['id'] for x in
                              api.ok('GET', '/v3/snapshots/?filter=all').json['entries']}


def test_modify_snapshot_expiration(qq, api, snaps, tdir):
    s = snaps.create('--path', tdir)
    exp = now_plus(days=3)
    # Unlocked: qq GETs the status (lock_key null) and does not prompt.
    r = qq.ok('snapshot_modify_snapshot', '-i', s['id'], '-e', exp)
    m = printed(r, 'PATCH', T_SNAP)
    assert m['id'] == s['id'] and m['name'] == s['name'], m
    assert same_time(m['expiration'], exp), (exp, m)
    assert same_time(api.ok('GET', f'/v3/snapshots/{s["id"]}').json['expiration'], exp)
    assert same_time(printed(qq.ok('snapshot_get_status', '-i', s['id']), 'GET',
                             T_STATUS)['expiration'], exp)
    # With -f as well; a later time.
    exp2 = now_plus(days=5)
    m = printed(qq.ok('snapshot_modify_snapshot', '-i', s['id'], '-e', exp2, '-f'), 'PATCH',
                T_SNAP)
    assert same_time(m['expiration'], exp2), m
    # "" means never expires (qq help); v3 shows never as null.
    m = printed(qq.ok('snapshot_modify_snapshot', '-i', s['id'], '-e', '', '-f'), 'PATCH', T_SNAP)
    assert m['expiration'] is None, m
    assert api.ok('GET', f'/v3/snapshots/{s["id"]}').json['expiration'] is None
    # A missing snapshot.
    qq.fail('snapshot_modify_snapshot', '-i', NO_SUCH_SNAPSHOT, '-e', exp, '-f', status=404,
            error_class='snapshot_no_such_snapshot_error')


def test_delete_snapshot(qq, api, snaps, tdir):
    api.make_file(tdir, 'f', b'in the snapshot')
    s = snaps.create('--path', tdir)
    sid = s['id']
    assert api.read(join(tdir, 'f')) == b'in the snapshot'
    r = qq.ok('snapshot_delete_snapshot', '-i', sid)
    assert r.out.strip() == '', r.describe()
    snaps.wait_gone(sid)
    qq.fail('snapshot_get_status', '-i', sid, status=404,
            error_class='snapshot_no_such_snapshot_error')
    qq.fail('snapshot_delete_snapshot', '-i', sid, status=404,
            error_class='snapshot_no_such_snapshot_error')
    # Reads in a deleted snapshot fail with 404; the live file is untouched.
    f = join(tdir, 'f')
    st, cls, _ = qq.fail('fs_read', '--path', f, '--snapshot', sid, '--stdout')
    assert (st, cls) == (404, 'snapshot_no_such_snapshot_error'), (st, cls)
    st, cls, _ = qq.fail('fs_file_get_attr', '--path', f, '--snapshot', sid)
    assert (st, cls) == (404, 'snapshot_no_such_snapshot_error'), (st, cls)
    st, cls, _ = qq.fail('fs_read_dir', '--path', tdir, '--snapshot', sid)
    assert (st, cls) == (404, 'snapshot_no_such_snapshot_error'), (st, cls)
    assert api.read(f) == b'in the snapshot'


# ---------------------------------------------------------------------------------------------
# Reading in a snapshot
# ---------------------------------------------------------------------------------------------

SNAP_FIELDS = ('id', 'file_number', 'type', 'size', 'mode', 'owner', 'group',
               'modification_time', 'change_time', 'creation_time', 'num_links')


def test_reads_in_snapshot_see_old_tree(qq, api, snaps, tdir):
    files = {
        'overwrite.txt': b'original contents of overwrite',
        'truncate.txt': b'0123456789' * 10,
        'delete.txt': b'deleted later',
        'rename.txt': b'renamed later',
        'chmod.txt': b'mode changes',
        'same.txt': b'never changes',
    }
    for n, d in files.items():
        api.make_file(tdir, n, d)
    api.mkdir(tdir, 'sub')
    api.make_file(join(tdir, 'sub'), 'inner.txt', b'inner')
    api.ok('PATCH', f'/v1/files/{ref(join(tdir, "chmod.txt"))}/info/attributes', {'mode': '0644'})
    old = {n: api.attrs(join(tdir, n)) for n in files}
    sid = snaps.create('--path', tdir)['id']

    # Change the live tree in every way.
    qq.ok('fs_write', '--path', join(tdir, 'overwrite.txt'), '--stdin', input=b'NEW')
    qq.ok('fs_file_set_attr', '--path', join(tdir, 'truncate.txt'), '--size', '3')
    qq.ok('fs_delete', '--path', join(tdir, 'delete.txt'))
    qq.ok('fs_rename', '--path', tdir, '--source', join(tdir, 'rename.txt'), '--name', 'moved.txt')
    qq.ok('fs_file_set_attr', '--path', join(tdir, 'chmod.txt'), '--mode', '0600')
    qq.ok('fs_create_file', '--path', tdir, '--name', 'created_after.txt')
    qq.ok('fs_delete', '--path', join(tdir, 'sub/inner.txt'))

    # Live state really changed.
    assert api.read(join(tdir, 'overwrite.txt')) == b'NEW'
    assert api.read(join(tdir, 'truncate.txt')) == b'012'
    assert not api.exists(join(tdir, 'delete.txt'))
    assert api.attrs(join(tdir, 'chmod.txt'))['mode'] == '0600'

    # Data in the snapshot is the old data, by path (the old path for a renamed file) and by id.
    for n, d in files.items():
        p = join(tdir, n)
        got = qq.ok('fs_read', '--path', p, '--snapshot', sid, '--stdout').stdout
        assert got == d, (n, got)
        got = api.ok('GET', f'/v1/files/{old[n]["id"]}/data?snapshot={sid}').body
        assert got == d, (n, got)
    assert qq.ok('fs_read', '--path', join(tdir, 'truncate.txt'), '--snapshot', sid,
                 '--offset', 10, '--length', 25, '--stdout').stdout == files['truncate.txt'][10:35]
    assert api.ok('GET', f'/v1/files/{ref(join(tdir, "sub/inner.txt"))}/data?snapshot={sid}'
                  ).body == b'inner'

    # Attributes in the snapshot are the old ones; ids are the same live and in the snapshot.
    for n in files:
        p = join(tdir, n)
        a = qq.ok('fs_file_get_attr', '--path', p, '--snapshot', sid).json
        check_attrs(a, type_='FS_FILE_TYPE_FILE', path=p)
        for f in SNAP_FIELDS:
            assert a[f] == old[n][f], (n, f, a[f], old[n][f])
        b = api.ok('GET', f'/v1/files/{old[n]["id"]}/info/attributes?snapshot={sid}').json
        assert b['id'] == old[n]['id'] and b['size'] == old[n]['size'], (n, b)
    assert qq.ok('fs_read', '--id', old['delete.txt']['id'], '--snapshot', sid,
                 '--stdout').stdout == files['delete.txt']
    a = qq.ok('fs_file_get_attr', '--id', old['chmod.txt']['id'], '--snapshot', sid).json
    assert a['mode'] == '0644' and a['path'] == join(tdir, 'chmod.txt'), a
    live_moved = api.attrs(join(tdir, 'moved.txt'))
    assert live_moved['id'] == old['rename.txt']['id'], live_moved
    assert api.attrs(join(tdir, 'overwrite.txt'))['id'] == old['overwrite.txt']['id']
    assert api.attrs(join(tdir, 'truncate.txt'))['size'] == '3'

    # Names that only exist live are absent in the snapshot.
    for n in ('moved.txt', 'created_after.txt'):
        qq.fail('fs_file_get_attr', '--path', join(tdir, n), '--snapshot', sid, status=404,
                error_class='fs_no_such_entry_error')
    # And a deleted file is absent live, present in the snapshot.
    qq.fail('fs_read', '--path', join(tdir, 'delete.txt'), '--stdout', status=404,
            error_class='fs_no_such_entry_error')

    # The directory in the snapshot, one entry per page: `next` keeps `snapshot`.
    r = qq.ok('fs_read_dir', '--path', tdir, '--snapshot', sid, '--page-size', 1)
    pages = r.docs
    names = []
    for page in pages:
        assert len(page['files']) <= 1, page
        names += [f['name'] for f in page['files']]
        for f in page['files']:
            check_attrs(f, path=join(tdir, f['name']))
            if f['name'] in old:   # entries carry the snapshot's attributes
                for k in ('id', 'size', 'mode', 'modification_time'):
                    assert f[k] == old[f['name']][k], (f, old[f['name']])
        nxt = page['paging']['next']
        if nxt:
            q = parse_qs(urlsplit(nxt).query)
            assert q.get('snapshot') == [str(sid)], f'paging.next lost snapshot={sid}: {nxt!r}'
    assert pages[-1]['paging']['next'] == '', pages[-1]['paging']
    assert sorted(names) == sorted(list(files) + ['sub']), names
    assert len(pages) >= len(names), 'page size 1 must give one entry per page'
    live = qq.ok('fs_read_dir', '--path', tdir).json
    assert sorted(f['name'] for f in live['files']) == sorted(
        ['overwrite.txt', 'truncate.txt', 'moved.txt', 'chmod.txt', 'same.txt', 'sub',
         'created_after.txt'])
    sub = qq.ok('fs_read_dir', '--path', join(tdir, 'sub'), '--snapshot', sid).json
    assert [f['name'] for f in sub['files']] == ['inner.txt'], sub
    assert qq.ok('fs_read_dir', '--path', join(tdir, 'sub')).json['files'] == []


def test_snapshot_does_not_cover_outside_source(qq, api, snaps, tdir):
    api.mkdir(tdir, 'in')
    api.make_file(tdir, 'outside.txt', b'x')
    api.make_file(join(tdir, 'in'), 'inside.txt', b'y')
    sid = snaps.create('--path', join(tdir, 'in'))['id']
    assert qq.ok('fs_read', '--path', join(tdir, 'in/inside.txt'), '--snapshot', sid,
                 '--stdout').stdout == b'y'
    # qumulo-api.md 3.4 [INFERRED]: fs_file_not_covered_by_snapshot_error (status not documented).
    for args in (('fs_read', '--path', join(tdir, 'outside.txt'), '--stdout'),
                 ('fs_file_get_attr', '--path', tdir),
                 ('fs_file_get_attr', '--path', '/'),
                 ('fs_read_dir', '--path', tdir)):
        st, cls, _ = qq.fail(*args, '--snapshot', sid)
        assert cls == 'fs_file_not_covered_by_snapshot_error', (args, st, cls)
    oid = api.attrs(join(tdir, 'outside.txt'))['id']
    st, cls, _ = qq.fail('fs_file_get_attr', '--id', oid, '--snapshot', sid)
    assert cls == 'fs_file_not_covered_by_snapshot_error', (st, cls)
    # A snapshot id that never existed.
    st, cls, _ = qq.fail('fs_read', '--path', join(tdir, 'in/inside.txt'), '--snapshot',
                         NO_SUCH_SNAPSHOT, '--stdout')
    assert (st, cls) == (404, 'snapshot_no_such_snapshot_error'), (st, cls)


# ---------------------------------------------------------------------------------------------
# Diffs
# ---------------------------------------------------------------------------------------------

def test_snapshot_tree_diff(qq, api, snaps, tdir):
    for n in ('keep.txt', 'mod.txt', 'del.txt', 'ren_old.txt'):
        api.make_file(tdir, n, n.encode())
    api.mkdir(tdir, 'd')
    api.make_file(join(tdir, 'd'), 'deep.txt', b'deep')
    older = snaps.create('--path', tdir)['id']
    api.write(join(tdir, 'mod.txt'), b'modified')
    api.ok('DELETE', f'/v1/files/{ref(join(tdir, "del.txt"))}')
    qq.ok('fs_rename', '--path', tdir, '--source', join(tdir, 'ren_old.txt'), '--name',
          'ren_new.txt')
    api.make_file(tdir, 'new.txt', b'new')
    api.write(join(tdir, 'd/deep.txt'), b'deeper')
    newer = snaps.create('--path', tdir)['id']

    r = qq.ok('snapshot_diff', '--newer-snapshot', newer, '--older-snapshot', older)
    doc = printed(r, 'GET', T_TREE_DIFF)
    entries = doc['entries']
    got = {(e['op'], e['path']) for e in entries}
    for want in [('MODIFY', join(tdir, 'mod.txt')), ('DELETE', join(tdir, 'del.txt')),
                 ('DELETE', join(tdir, 'ren_old.txt')), ('CREATE', join(tdir, 'ren_new.txt')),
                 ('CREATE', join(tdir, 'new.txt')), ('MODIFY', join(tdir, 'd/deep.txt'))]:
        assert want in got, f'{want} missing from the diff: {entries}'
    paths = {e['path'].rstrip('/') for e in entries}
    assert join(tdir, 'keep.txt') not in paths, entries
    assert all(e['path'].startswith(tdir + '/') or e['path'].rstrip('/') == tdir
               for e in entries), entries
    assert len(entries) == len(got), f'duplicate entries: {entries}'

    # Paged: the same entries, one per page.
    r1 = qq.ok('snapshot_diff', '--newer-snapshot', newer, '--older-snapshot', older,
               '--page-size', 1)
    assert printed(r1, 'GET', T_TREE_DIFF)['entries'] == entries
    path = f'/v2/snapshots/{newer}/changes-since/{older}?limit=1'
    seen, hops = [], 0
    while path not in ('', None):
        page = api.ok('GET', path).json
        assert len(page['entries']) <= 1, page
        seen += page['entries']
        path = page['paging']['next']
        hops += 1
        assert hops <= len(entries) + 2, 'paging does not end'
    assert seen == entries
    assert hops >= len(entries)

    # Two snapshots with nothing changed in between: an empty diff.
    same = snaps.create('--path', tdir)['id']
    empty = printed(qq.ok('snapshot_diff', '--newer-snapshot', same, '--older-snapshot', newer),
                    'GET', T_TREE_DIFF)
    assert empty['entries'] == [], empty


def test_snapshot_file_diff(qq, api, snaps, tdir):
    f = join(tdir, 'big.bin')
    api.make_file(tdir, 'big.bin', pattern(4 * BLOCK))
    t = join(tdir, 'shrink.bin')
    api.make_file(tdir, 'shrink.bin', pattern(3 * BLOCK, seed=5))
    fid = api.attrs(f)['id']
    older = snaps.create('--path', tdir)['id']
    # Block 1: a few bytes overwritten. Block 3: punched (reads as a hole). Blocks 4-5: growth, a
    # hole then data.
    api.write(f, b'CHANGED', offset=BLOCK + 100)
    api.ok('POST', f'/v1/files/{ref(f)}/punch-hole', {'offset': str(3 * BLOCK),
                                                      'size': str(BLOCK)})
    api.write(f, pattern(BLOCK, seed=9), offset=5 * BLOCK)
    qq.ok('fs_file_set_attr', '--path', t, '--size', str(BLOCK))
    newer = snaps.create('--path', tdir)['id']

    want = [('FILE_REGION_DATA', BLOCK, BLOCK),
            ('FILE_REGION_HOLE', 3 * BLOCK, 2 * BLOCK),
            ('FILE_REGION_DATA', 5 * BLOCK, BLOCK)]
    r = qq.ok('snapshot_file_diff', '--newer-snapshot', newer, '--older-snapshot', older,
              '--path', f)
    doc = printed(r, 'GET', T_FILE_DIFF)
    assert merged(doc['entries']) == want, doc
    r = qq.ok('snapshot_file_diff', '--newer-snapshot', newer, '--older-snapshot', older,
              '--file-id', fid, '--page-size', 1)
    assert merged(printed(r, 'GET', T_FILE_DIFF)['entries']) == want
    # Paged raw: each page at most one region; the pages end.
    path = f'/v2/snapshots/{newer}/changes-since/{older}/files/{fid}?limit=1'
    regions, hops = [], 0
    while path not in ('', None):
        page = api.ok('GET', path).json
        assert len(page['entries']) <= 1, page
        regions += page['entries']
        path = page['paging']['next']
        hops += 1
        assert hops < 20, 'paging does not end'
    assert merged(regions) == want

    # The v3 file operations that turn the older contents into the newer. Qumulo does not publish
    # their exact shape [INFERRED]; the server's choice (MODIFY inside the old size, CREATE for
    # growth, DELETE for shrinking) is reasonable and accepted here.
    r = qq.ok('raw', 'GET', f'/v3/snapshots/{newer}/changes-since/{older}/files/{ref(f)}')
    ops = r.json
    assert ops['paging']['next'] is None, ops
    assert re.search(r'"next"\s*:\s*null', r.out), r.out[-300:]
    got = [(e['op'], int(e['offset']), int(e['size'])) for e in ops['entries']]
    mods = [x for x in got if x[0] == 'MODIFY']
    creates = [x for x in got if x[0] == 'CREATE']
    assert not [x for x in got if x[0] == 'DELETE'], got
    covered = set()
    for _, off, size in mods:
        assert off + size <= 4 * BLOCK, got
        covered |= set(range(off // BLOCK, (off + size - 1) // BLOCK + 1))
    assert covered == {1, 3}, got
    assert creates and creates[-1][1] + creates[-1][2] == 6 * BLOCK, got
    assert min(c[1] for c in creates) == 4 * BLOCK, got
    for e in ops['entries']:
        assert isinstance(e['offset'], str) and isinstance(e['size'], str), e

    r = qq.ok('raw', 'GET', f'/v3/snapshots/{newer}/changes-since/{older}/files/{ref(t)}')
    ops = r.json
    assert ops['paging']['next'] is None, ops
    got = [(e['op'], int(e['offset']), int(e['size'])) for e in ops['entries']]
    assert got == [('DELETE', BLOCK, 2 * BLOCK)], got
    # As the newer snapshot has them: nothing left of the shrunk file changed.
    doc = printed(qq.ok('snapshot_file_diff', '--newer-snapshot', newer, '--older-snapshot',
                        older, '--path', t), 'GET', T_FILE_DIFF)
    assert all(int(e['offset']) + int(e['size']) <= BLOCK for e in doc['entries']), doc

    # A file unchanged between two snapshots has no regions.
    same = snaps.create('--path', tdir)['id']
    doc = printed(qq.ok('snapshot_file_diff', '--newer-snapshot', same, '--older-snapshot',
                        newer, '--path', f), 'GET', T_FILE_DIFF)
    assert doc['entries'] == [], doc


# ---------------------------------------------------------------------------------------------
# fs_copy from a snapshot
# ---------------------------------------------------------------------------------------------

def test_fs_copy_from_snapshot_restores(qq, api, snaps, tdir):
    f = join(tdir, 'doc.txt')
    old_data = pattern(200 * KIB, seed=3)
    api.make_file(tdir, 'doc.txt', old_data)
    st = api.ok('POST', f'/v1/files/{ref(f)}/streams/', {'stream_name': 'alt'}).json
    api.ok('PUT', f'/v1/files/{ref(f)}/streams/{st["id"]}/data', b'old stream', chunked=True)
    sid = snaps.create('--path', tdir)['id']
    old = qq.ok('fs_file_get_attr', '--path', f, '--snapshot', sid).json
    api.write(f, b'ruined')
    api.ok('PUT', f'/v1/files/{ref(f)}/streams/{st["id"]}/data', b'new stream', chunked=True)

    def stream_data(p: str) -> dict[str, bytes]:
        out = {}
        for x in api.ok('GET', f'/v1/files/{ref(p)}/streams/').json:
            out[x['name']] = api.ok('GET', f'/v1/files/{ref(p)}/streams/{x["id"]}/data').body
        return out

    # Restore next to it.
    qq.ok('fs_copy', f, join(tdir, 'restored.txt'), '--source-snapshot', sid, '--quiet')
    assert api.read(join(tdir, 'restored.txt')) == old_data
    a = api.attrs(join(tdir, 'restored.txt'))
    assert a['size'] == str(len(old_data)), a
    assert a['modification_time'] == old['modification_time'], (a, old)
    # fs_copy lists and copies named streams from the snapshot too.
    assert stream_data(join(tdir, 'restored.txt')) == {'alt': b'old stream'}
    assert api.read(f) == b'ruined'

    # Restore in place (same path is allowed with a snapshot).
    qq.ok('fs_copy', f, f, '--source-snapshot', sid, '--overwrite', '--quiet')
    assert api.read(f) == old_data
    assert stream_data(f) == {'alt': b'old stream'}
    # The snapshot itself is unchanged.
    assert qq.ok('fs_read', '--path', f, '--snapshot', sid, '--stdout').stdout == old_data

    # A file that was deleted live.
    api.ok('DELETE', f'/v1/files/{ref(f)}')
    qq.ok('fs_copy', f, f, '--source-snapshot', sid, '--quiet')
    assert api.read(f) == old_data


# ---------------------------------------------------------------------------------------------
# Key store and locks
# ---------------------------------------------------------------------------------------------

@needs_crypto
def test_key_store(qq, api, snaps, tdir, tmp_path):
    key = new_key()
    kf = tmp_path / 'key.pem'
    kf.write_bytes(pem(key))
    name = unique(tdir, 'k')
    snaps.keys[name] = key
    k = snaps.add_key(name, kf)
    assert k['name'] == name and k['disabled'] is False and k['comment'] == '', k
    assert isinstance(k['id'], str) and k['id'], k
    assert k['public_key'] == public_b64(key), k
    # Listed, and readable by name and by id.
    lst = printed(qq.ok('fs_security_list_keys', '--json'), 'GET', T_KEYS)
    assert k in lst['entries'], lst
    for kr in (name, k['id']):
        assert printed(qq.ok('fs_security_get_key', '-k', kr, '--json'), 'GET', T_KEY) == k
    # The table form also works.
    assert name in qq.ok('fs_security_list_keys').out
    # A duplicate name is refused.
    r = qq.run('fs_security_add_key', '--name', name, '--private-key-file', kf, '--json')
    assert r.rc != 0, r.describe()
    # A verification signature over anything but the name is refused
    # (server's choice: 400 security_key_verification_error).
    other = unique(tdir, 'bad')
    qq.fail('fs_security_add_key', '--name', other, '--public-key', public_b64(key),
            '--verification-signature', sign(key, 'not the name'),
            status=400, error_class='security_key_verification_error')
    # Modify the comment; then delete.
    m = printed(qq.ok('fs_security_modify_key', '-k', name, '--comment', 'hello', '--json'),
                'PATCH', T_KEY)
    assert m['comment'] == 'hello' and m['id'] == k['id'], m
    qq.ok('fs_security_delete_key', '-k', name)
    assert name not in {e['name'] for e in api.ok('GET', T_KEYS).json['entries']}
    r = api.request('GET', f'/v1/file-system/security/keys/{name}')
    assert r.status == 404, r.describe()


@needs_crypto
def test_lock_and_unlock_snapshot(qq, api, snaps, tdir, tmp_path):
    key = new_key()
    kf = tmp_path / 'lock.pem'
    kf.write_bytes(pem(key))
    name = unique(tdir, 'lock')
    snaps.keys[name] = key
    k = snaps.add_key(name, kf)

    exp = now_plus(days=2)
    s = snaps.create('--path', tdir, '-e', exp)
    sid = s['id']
    other = snaps.create('--path', tdir)

    # Without -f qq shows the key (GET key) and asks; "yes" locks.
    r = qq.ok('snapshot_lock_snapshot', '-i', sid, '-k', name, input='yes\n')
    assert f'Snapshot {sid} is locked' in r.out, r.describe()
    st = printed(qq.ok('snapshot_get_status', '-i', sid), 'GET', T_STATUS)
    assert st['lock_key'] == k['id'], st
    locked = {e['id'] for e in printed(qq.ok('snapshot_list_statuses', '--only-locked'), 'GET',
                                       T_STATUSES_V4)['entries']}
    assert sid in locked and other['id'] not in locked, locked
    unlocked = {e['id'] for e in printed(qq.ok('snapshot_list_statuses', '--exclude-locked'),
                                         'GET', T_STATUSES_V4)['entries']}
    assert sid not in unlocked and other['id'] in unlocked, unlocked
    usage = json.loads(qq.ok('fs_security_get_key_usage', '-k', name, '--json').out)
    assert {'type': 'snapshot', 'id': str(sid)} in usage, usage

    # A locked snapshot cannot be deleted nor its expiration shortened (server's choice:
    # 403 snapshot_locked_error).
    qq.fail('snapshot_delete_snapshot', '-i', sid, status=403, error_class='snapshot_locked_error')
    qq.fail('snapshot_modify_snapshot', '-i', sid, '-e', now_plus(days=1), '-f', status=403,
            error_class='snapshot_locked_error')
    assert same_time(api.ok('GET', f'/v3/snapshots/{sid}').json['expiration'], exp)
    # Without -f qq sees lock_key and asks; "no" changes nothing.
    r = qq.ok('snapshot_modify_snapshot', '-i', sid, '-e', now_plus(days=9), input='no\n')
    assert 'Canceling' in r.out, r.describe()
    assert same_time(api.ok('GET', f'/v3/snapshots/{sid}').json['expiration'], exp)
    # Extending is allowed.
    later = now_plus(days=4)
    m = printed(qq.ok('snapshot_modify_snapshot', '-i', sid, '-e', later, '-f'), 'PATCH', T_SNAP)
    assert same_time(m['expiration'], later), m
    qq.fail('snapshot_modify_snapshot', '-i', sid, '-e', now_plus(days=3), '-f', status=403,
            error_class='snapshot_locked_error')
    # "" (never expires) is the longest extension: allowed.
    m = printed(qq.ok('snapshot_modify_snapshot', '-i', sid, '-e', '', '-f'), 'PATCH', T_SNAP)
    assert m['expiration'] is None, m
    qq.fail('snapshot_modify_snapshot', '-i', sid, '-e', later, '-f', status=403,
            error_class='snapshot_locked_error')
    # The key cannot be deleted while it locks a snapshot (server's choice: 409
    # security_key_in_use_error).
    qq.fail('fs_security_delete_key', '-k', name, status=409,
            error_class='security_key_in_use_error')
    # The unlocked sibling is unaffected.
    qq.ok('snapshot_delete_snapshot', '-i', other['id'])

    # Unlocking needs the challenge signed with the private key.
    ch = printed(qq.ok('snapshot_get_unlock_challenge', '-i', sid), 'GET',
                 '/v3/snapshots/{id}/unlock-challenge')
    assert isinstance(ch['challenge'], str) and ch['challenge'], ch
    wrong = new_key()
    qq.fail('snapshot_unlock_snapshot', '-i', sid, '-s', sign(wrong, ch['challenge']),
            status=400, error_class='security_key_verification_error')
    qq.fail('snapshot_unlock_snapshot', '-i', sid, '-s', sign(key, 'not the challenge'),
            status=400, error_class='security_key_verification_error')
    assert printed(qq.ok('snapshot_get_status', '-i', sid), 'GET', T_STATUS)['lock_key'] == k['id']
    r = qq.ok('snapshot_unlock_snapshot', '-i', sid, '-k', kf)
    assert f'Snapshot {sid} is unlocked' in r.out, r.describe()
    assert printed(qq.ok('snapshot_get_status', '-i', sid), 'GET', T_STATUS)['lock_key'] is None
    # Now it may be shortened and deleted, and the key is free.
    soon = now_plus(days=1)
    m = printed(qq.ok('snapshot_modify_snapshot', '-i', sid, '-e', soon), 'PATCH', T_SNAP)
    assert same_time(m['expiration'], soon), m
    qq.ok('snapshot_delete_snapshot', '-i', sid)
    snaps.wait_gone(sid)
    qq.ok('fs_security_delete_key', '-k', name)


@needs_crypto
def test_unlock_with_signature_from_challenge(qq, api, snaps, tdir, tmp_path):
    # The openssl flow from snapshot_get_unlock_challenge's help: sign the challenge yourself and
    # pass --signature.
    key = new_key()
    kf = tmp_path / 'k.pem'
    kf.write_bytes(pem(key))
    name = unique(tdir, 'sig')
    snaps.keys[name] = key
    k = snaps.add_key(name, kf)
    sid = snaps.create('--path', tdir)['id']
    qq.ok('snapshot_lock_snapshot', '-i', sid, '-k', k['id'], '-f')
    assert snaps.status(sid)['lock_key'] == k['id']
    ch = qq.ok('snapshot_get_unlock_challenge', '-i', sid).json['challenge']
    qq.ok('snapshot_unlock_snapshot', '-i', sid, '-s', sign(key, ch))
    assert snaps.status(sid)['lock_key'] is None
    r = api.request('DELETE', f'/v3/snapshots/{sid}')
    assert r.status == 202, r.describe()
    snaps.wait_gone(sid)


# ---------------------------------------------------------------------------------------------
# Legacy v1 / v2 endpoints
# ---------------------------------------------------------------------------------------------

def test_legacy_v2_create_and_v1_get(qq, api, snaps, tdir):
    before = time.time()
    r = qq.ok('raw', 'POST', '/v2/snapshots/?expiration-time-to-live=2days',
              input=json.dumps({'name': 'x'}))
    s = r.json
    sid = snaps.track(s['id'])
    assert isinstance(sid, int), s
    assert s['name'] == 'x', s
    assert s['directory_name'] == f'{sid}_x', s
    assert s['source_file_id'] == api.attrs('/')['id'], s
    assert s['in_delete'] is False, s
    assert s.get('created_by_policy') is False, s
    assert isinstance(s['expiration'], str) and s['expiration'], s
    two_days = 2 * 24 * 3600
    assert before + two_days - 60 <= epoch(s['expiration']) <= time.time() + two_days + 60, s
    assert TIME_RE.match(s['timestamp']), s

    v1 = api.ok('GET', f'/v1/snapshots/{sid}').json
    assert v1['id'] == sid and v1['name'] == 'x' and v1['directory_name'] == f'{sid}_x', v1
    assert v1['source_path'] == '/', v1
    assert 'source_file_id' not in v1, v1
    assert 'in_delete' not in v1, v1
    assert same_time(v1['expiration'], s['expiration']), v1
    v2 = api.ok('GET', f'/v2/snapshots/{sid}').json
    assert v2 == s, (v2, s)

    v3 = api.ok('GET', f'/v3/snapshots/{sid}').json
    assert v3['name'] == f'{sid}_x' and v3['source_file_id'] == s['source_file_id'], v3
    assert same_time(v3['expiration'], s['expiration']), v3
    listed = {e['id']: e for e in api.ok('GET', '/v3/snapshots/?filter=all').json['entries']}
    assert listed[sid] == v3, listed.get(sid)
    raw = qq.ok('raw', 'GET', '/v3/snapshots/?filter=all').json
    assert sid in {e['id'] for e in raw['entries']}

    # v2 of a directory, no expiration: "" means never in v2.
    src = api.attrs(tdir)['id']
    s2 = api.ok('POST', '/v2/snapshots/', {'name': 'y', 'expiration': '',
                                           'source_file_id': src}).json
    snaps.track(s2['id'])
    assert s2['source_file_id'] == src and s2['expiration'] == '', s2
    assert s2['directory_name'] == f'{s2["id"]}_y', s2
    v1 = api.ok('GET', f'/v1/snapshots/{s2["id"]}').json
    assert v1['source_path'].rstrip('/') == tdir, v1
    assert v1['expiration'] == '', v1
    # Deleted through v3 like any other.
    assert api.request('DELETE', f'/v3/snapshots/{s2["id"]}').status == 202
    snaps.wait_gone(s2['id'])
