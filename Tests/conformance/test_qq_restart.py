"""Persistence: stop the sandbox, start it again on the same root, and everything is still there
with the same ids. Uses its own sandbox instance (not the shared session one)."""

import os
import stat

import pytest

from conftest import ROOT_ID, Api, QQ, Sandbox


@pytest.fixture
def private_sandbox(tmp_path):
    with Sandbox(tmp_path / 'root', tmp_path / 'logs') as sb:
        yield sb


def test_restart_preserves_content_ids_and_login(private_sandbox, tmp_path):
    sb = private_sandbox
    q = QQ(sb, tmp_path / 'qq')
    q.login()
    api = Api(sb)
    api.login()

    big = os.urandom(2 * 1024 * 1024 + 77)
    big_src = tmp_path / 'big.bin'
    big_src.write_bytes(big)

    q.ok('fs_create_dir', '--path', '/', '--name', 'keep')
    q.ok('fs_create_dir', '--path', '/keep', '--name', 'sub dir')
    q.ok('fs_write', '--path', '/keep/a.txt', '--create', '--stdin', input=b'alpha')
    q.ok('fs_write', '--path', '/keep/sub dir/big.bin', '--create', '--file', big_src, timeout=120)
    q.ok('fs_write', '--path', '/keep/a.txt', '--offset', '8', '--stdin', input=b'!')
    q.ok('fs_create_symlink', '--path', '/keep', '--target', 'a.txt', '--name', 'sym')
    q.ok('fs_create_link', '--path', '/keep', '--target', '/keep/a.txt', '--name', 'hard')
    q.ok('fs_create_unix_file', '--path', '/keep', '--name', 'fifo',
         '--type', 'FS_FILE_TYPE_UNIX_PIPE')
    q.ok('fs_create_file', '--path', '/keep', '--name', 'empty')
    q.ok('fs_file_set_attr', '--path', '/keep/empty', '--mode', '0604',
         '--modification-time', '2021-06-07T08:09:10.111222333Z', '--owner-uid', '1234')
    q.ok('fs_set_user_metadata', '--path', '/keep/a.txt', '--key', 'tag', '--value', 'persist')
    sid = api.ok('POST', '/v1/files/%2Fkeep%2Fa.txt/streams/', {'stream_name': 'ads'}).json['id']
    api.ok('PUT', f'/v1/files/%2Fkeep%2Fa.txt/streams/{sid}/data', b'stream bytes', chunked=True)
    q.ok('fs_create_file', '--path', '/keep', '--name', 'doomed')
    q.ok('fs_delete', '--path', '/keep/doomed')
    q.ok('fs_rename', '--path', '/keep/sub dir', '--source', '/keep/empty', '--name', 'moved')

    paths = ['/', '/keep', '/keep/sub dir', '/keep/a.txt', '/keep/sub dir/big.bin', '/keep/sym',
             '/keep/hard', '/keep/fifo', '/keep/sub dir/moved']
    before = {p: api.attrs(p) for p in paths}
    names_before = sorted(api.list_names('/keep'))
    all_ids = {a['id'] for a in before.values()}

    sb.stop()
    sb.start()  # same root, new port

    # Login works after the restart (the old token may or may not survive; not specified).
    q.login()
    api.login()

    after = {p: api.attrs(p) for p in paths}
    for p in paths:
        b, a = before[p], after[p]
        keys = ['id', 'type', 'size', 'mode', 'num_links', 'owner_details',
                'modification_time', 'creation_time', 'child_count']
        if b['num_links'] == 1:
            keys.append('path')  # with several links the server picks one; it may differ
        for k in keys:
            assert a[k] == b[k], f'{p}: {k} changed across restart: {b[k]!r} -> {a[k]!r}'
    assert after['/']['id'] == ROOT_ID
    assert sorted(api.list_names('/keep')) == names_before
    assert 'doomed' not in names_before

    assert q.ok('fs_read', '--path', '/keep/a.txt', '--stdout').stdout == b'alpha\0\0\0!'
    assert q.ok('fs_read', '--path', '/keep/hard', '--stdout').stdout == b'alpha\0\0\0!'
    out = tmp_path / 'big.out'
    q.ok('fs_read', '--path', '/keep/sub dir/big.bin', '--file', out, timeout=120)
    assert out.read_bytes() == big
    assert api.read(after['/keep/sym']['id']) == b'a.txt'
    assert after['/keep/fifo']['type'] == 'FS_FILE_TYPE_UNIX_PIPE'
    moved = after['/keep/sub dir/moved']
    assert moved['mode'] == '0604'
    assert moved['modification_time'] == '2021-06-07T08:09:10.111222333Z'
    assert moved['owner_details'] == {'id_type': 'NFS_UID', 'id_value': '1234'}
    assert q.ok('fs_get_user_metadata', '--path', '/keep/a.txt', '--key', 'tag').out \
        == 'persist\n'
    streams = q.ok('fs_list_named_streams', '--path', '/keep/a.txt').json
    assert [(s['name'], s['id']) for s in streams] == [('ads', sid)], streams
    assert q.ok('fs_read', '--path', '/keep/a.txt', '--stream-name', 'ads', '--stdout').stdout \
        == b'stream bytes'
    res = q.ok('fs_resolve_paths', '--ids', before['/keep/sub dir/big.bin']['id']).json
    assert res[0]['path'] == '/keep/sub dir/big.bin'

    # New objects get fresh ids that never reuse an id from before the restart.
    new = q.ok('fs_create_file', '--path', '/keep', '--name', 'after-restart').json
    assert new['id'] not in all_ids, (new['id'], sorted(all_ids))
    q.ok('fs_write', '--path', '/keep/after-restart', '--stdin', input=b'new')
    assert api.read('/keep/after-restart') == b'new'


def test_restart_on_same_port(private_sandbox, tmp_path):
    sb = private_sandbox
    api = Api(sb)
    api.login()
    api.make_file('/', 'f', b'same port')
    port = sb.port
    sb.stop()
    sb.start(port=port)
    assert sb.port == port
    api.login()
    assert api.read('/f') == b'same port'


def test_restart_after_sigkill_keeps_acknowledged_writes(private_sandbox, tmp_path):
    # A write the server acknowledged (200) must survive an abrupt kill: the sandbox is the test
    # double for a cluster whose writes are durable once answered.
    import signal
    sb = private_sandbox
    api = Api(sb)
    api.login()
    api.mkdir('/', 'k')
    fid = api.make_file('/k', 'f', b'durable')['id']
    os.kill(sb.proc.pid, signal.SIGKILL)
    sb.proc.wait(10)
    sb.stop()
    sb.start()
    api.login()
    a = api.attrs('/k/f')
    assert a['id'] == fid
    assert api.read('/k/f') == b'durable'


def test_store_is_owner_only_whatever_the_umask(tmp_path):
    """Every directory of the store is 0700 and every file 0600, also for a root that existed with 0777."""
    root = tmp_path / 'root'
    root.mkdir()
    os.chmod(root, 0o777)
    old = os.umask(0)
    try:
        sb = Sandbox(root, tmp_path / 'logs').start()
    finally:
        os.umask(old)
    try:
        api = Api(sb)
        api.login()
        api.make_file('/', 'f', b'data')
        modes = {}
        for directory, _dirs, files in os.walk(root):
            modes[directory] = stat.S_IMODE(os.stat(directory).st_mode)
            for name in files:
                path = os.path.join(directory, name)
                modes[path] = stat.S_IMODE(os.stat(path).st_mode)
    finally:
        sb.stop()
    assert any(p.endswith('metadata.sqlite-wal') for p in modes), modes
    wrong = {p: oct(m) for p, m in modes.items() if m != (0o700 if os.path.isdir(p) else 0o600)}
    assert not wrong, wrong
