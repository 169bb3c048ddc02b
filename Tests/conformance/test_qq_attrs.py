"""fs_file_get_attr / fs_file_set_attr: wire formats (section 0.3) and setattr semantics
(section 2.3)."""

from conftest import ATTR_DECIMAL_FIELDS, check_attrs, join, ref, rfc3339_ns


def test_get_attr_by_path_and_id_file(qq, api, tdir):
    api.make_file(tdir, 'f.txt', b'12345')
    f = join(tdir, 'f.txt')
    a = qq.ok('fs_file_get_attr', '--path', f).json
    check_attrs(a, type_='FS_FILE_TYPE_FILE', path=f)
    assert a['size'] == '5' and a['num_links'] == 1 and a['child_count'] == 0, a
    b = qq.ok('fs_file_get_attr', '--id', a['id']).json
    check_attrs(b, type_='FS_FILE_TYPE_FILE', path=f)
    assert b['id'] == a['id'] and b['size'] == '5'
    for k in ATTR_DECIMAL_FIELDS:
        assert isinstance(a[k], str), k


def test_get_attr_directory(qq, api, tdir):
    api.mkdir(tdir, 'd')
    api.create(join(tdir, 'd'), 'a')
    api.create(join(tdir, 'd'), 'b')
    a = qq.ok('fs_file_get_attr', '--path', join(tdir, 'd')).json
    check_attrs(a, type_='FS_FILE_TYPE_DIRECTORY', path=join(tdir, 'd') + '/')
    assert a['path'].endswith('/')
    assert a['child_count'] == 2, a
    # A trailing slash on the requested path names the same directory.
    b = qq.ok('fs_file_get_attr', '--path', join(tdir, 'd') + '/').json
    assert b['id'] == a['id']


def test_get_attr_returns_etag(api, tdir):
    api.create(tdir, 'f')
    r = api.ok('GET', f'/v1/files/{ref(join(tdir, "f"))}/info/attributes')
    assert r.etag, r.describe()


def test_get_attr_retrieve_file_lock_query_bool(api, tdir):
    # The SDK sends retrieve-file-lock=True (capital T); booleans parse case-insensitively.
    api.create(tdir, 'f')
    r = api.request('GET', f'/v1/files/{ref(join(tdir, "f"))}/info/attributes'
                           f'?retrieve-file-lock=True')
    assert r.status == 200, r.describe()


def test_times_are_rfc3339_nanoseconds_and_plausible(api, tdir):
    import time
    a = api.make_file(tdir, 't', b'x')
    now = time.time()
    for k in ('access_time', 'modification_time', 'change_time', 'creation_time'):
        secs, _ns = rfc3339_ns(a[k])
        assert abs(secs - now) < 600, f'{k}={a[k]} is not near now'


def test_write_updates_mtime_and_size(api, tdir):
    import time
    f = join(tdir, 'm')
    a0 = api.make_file(tdir, 'm', b'1')
    time.sleep(0.05)
    a1 = api.write(f, b'22')
    assert rfc3339_ns(a1['modification_time']) > rfc3339_ns(a0['modification_time']), (a0, a1)
    assert a1['size'] == '2'


def test_set_attr_mode(qq, api, tdir):
    f = join(tdir, 'm.txt')
    api.create(tdir, 'm.txt')
    a = qq.ok('fs_file_set_attr', '--path', f, '--mode', '0600').json
    assert a['mode'] == '0600', a
    assert api.attrs(f)['mode'] == '0600'
    a = qq.ok('fs_file_set_attr', '--path', f, '--mode', '0755').json
    assert a['mode'] == '0755'
    # Special bits stay in mode; the file type does not leak into it.
    a = qq.ok('fs_file_set_attr', '--path', f, '--mode', '4755').json
    assert a['mode'] == '4755', a
    assert a['type'] == 'FS_FILE_TYPE_FILE'


def test_set_attr_mode_directory(qq, api, tdir):
    api.mkdir(tdir, 'd')
    a = qq.ok('fs_file_set_attr', '--path', join(tdir, 'd'), '--mode', '0700').json
    check_attrs(a, type_='FS_FILE_TYPE_DIRECTORY')
    assert a['mode'] == '0700'


def test_set_attr_size_truncate(qq, api, tdir):
    f = join(tdir, 's.txt')
    api.make_file(tdir, 's.txt', b'hello world')
    a = qq.ok('fs_file_set_attr', '--path', f, '--size', '3').json
    assert a['size'] == '3', a
    assert api.read(f) == b'hel'
    a = qq.ok('fs_file_set_attr', '--path', f, '--size', '0').json
    assert a['size'] == '0'
    assert api.read(f) == b''


def test_set_attr_size_extend_zero_fills(qq, api, tdir):
    f = join(tdir, 'e.txt')
    api.make_file(tdir, 'e.txt', b'hello')
    a = qq.ok('fs_file_set_attr', '--path', f, '--size', '10').json
    assert a['size'] == '10', a
    assert api.read(f) == b'hello' + b'\0' * 5
    # Truncate then extend: the cut bytes must not come back.
    qq.ok('fs_file_set_attr', '--path', f, '--size', '2')
    qq.ok('fs_file_set_attr', '--path', f, '--size', '6')
    assert api.read(f) == b'he\0\0\0\0'


def test_set_attr_owner_uid_group_gid(qq, api, tdir):
    f = join(tdir, 'o.txt')
    api.create(tdir, 'o.txt')
    a = qq.ok('fs_file_set_attr', '--path', f, '--owner-uid', '1000').json
    assert a['owner_details'] == {'id_type': 'NFS_UID', 'id_value': '1000'}, a
    a = qq.ok('fs_file_set_attr', '--path', f, '--group-gid', '1001').json
    assert a['group_details'] == {'id_type': 'NFS_GID', 'id_value': '1001'}, a
    assert a['owner_details'] == {'id_type': 'NFS_UID', 'id_value': '1000'}, a
    b = api.attrs(f)
    assert b['owner_details'] == {'id_type': 'NFS_UID', 'id_value': '1000'}, b
    assert b['group_details'] == {'id_type': 'NFS_GID', 'id_value': '1001'}, b


def test_set_attr_owner_uid_auth_id_encoding(qq, api, tdir):
    # SDK lib/identity_util.py: NFS uid u is auth_id (3 << 32) + u, gid g is (4 << 32) + g.
    f = join(tdir, 'o2.txt')
    api.create(tdir, 'o2.txt')
    a = qq.ok('fs_file_set_attr', '--path', f, '--owner-uid', '1000', '--group-gid', '100').json
    assert a['owner'] == str((3 << 32) + 1000), a
    assert a['group'] == str((4 << 32) + 100), a


def test_set_attr_owner_by_auth_id(qq, api, tdir):
    # `--owner AUTHID` sends {"owner": "<auth_id>"}; an NFS uid auth_id maps back to NFS_UID.
    f = join(tdir, 'o3.txt')
    api.create(tdir, 'o3.txt')
    a = qq.ok('fs_file_set_attr', '--path', f, '--owner', str((3 << 32) + 42)).json
    assert a['owner'] == str((3 << 32) + 42), a
    assert a['owner_details'] == {'id_type': 'NFS_UID', 'id_value': '42'}, a


def test_set_attr_times(qq, api, tdir):
    f = join(tdir, 't.txt')
    api.create(tdir, 't.txt')
    a = qq.ok('fs_file_set_attr', '--path', f, '--modification-time', '2024-01-01T00:00:00Z').json
    # Sent without a fraction, returned with nanoseconds (section 0.3).
    assert a['modification_time'] == '2024-01-01T00:00:00.000000000Z', a
    a = qq.ok('fs_file_set_attr', '--path', f,
              '--access-time', '2023-05-06T07:08:09.123456789Z',
              '--creation-time', '2001-02-03T04:05:06.5Z').json
    assert a['access_time'] == '2023-05-06T07:08:09.123456789Z', a
    assert a['creation_time'] == '2001-02-03T04:05:06.500000000Z', a
    assert a['modification_time'] == '2024-01-01T00:00:00.000000000Z', a
    b = api.attrs(f)
    for k in ('access_time', 'creation_time', 'modification_time'):
        assert b[k] == a[k], (k, a, b)


def test_set_attr_change_time_accepted(qq, api, tdir):
    f = join(tdir, 'c.txt')
    api.create(tdir, 'c.txt')
    a = qq.ok('fs_file_set_attr', '--path', f, '--change-time', '2022-02-02T02:02:02Z').json
    check_attrs(a)


def test_set_attr_by_id_and_multiple_fields(qq, api, tdir):
    fid = api.make_file(tdir, 'multi', b'0123456789')['id']
    a = qq.ok('fs_file_set_attr', '--id', fid, '--mode', '0640', '--size', '4',
              '--modification-time', '2019-09-09T09:09:09.000000001Z').json
    assert (a['mode'], a['size'], a['modification_time']) == \
        ('0640', '4', '2019-09-09T09:09:09.000000001Z'), a
    assert api.read(fid) == b'0123'


def test_set_attr_returns_etag_and_changes_it(api, tdir):
    f = join(tdir, 'etag')
    api.create(tdir, 'etag')
    e0 = api.ok('GET', f'/v1/files/{ref(f)}/info/attributes').etag
    r = api.ok('PATCH', f'/v1/files/{ref(f)}/info/attributes', {'mode': '0711'})
    assert r.etag, r.describe()
    assert r.etag != e0, 'ETag must change when the attributes change'


def test_set_attr_requires_an_option(qq, api, tdir):
    api.create(tdir, 'x')
    r = qq.run('fs_file_set_attr', '--path', join(tdir, 'x'))
    assert r.rc == 1 and 'Must specify at least one option' in r.stderr, r.describe()
