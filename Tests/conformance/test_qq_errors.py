"""Error classes and statuses (section 0.7): qq prints `Error <status>: <error_class>: ...` and
exits 1; every error body is JSON with error_class/description/module (checked in conftest/schema
for every response)."""

import pytest

from conftest import join, ref


# -- missing paths: 404 fs_no_such_entry_error ---------------------------------------------------

@pytest.mark.parametrize('cmd', [
    ['fs_file_get_attr', '--path', '{d}/missing'],
    ['fs_read', '--path', '{d}/missing', '--stdout'],
    ['fs_read_dir', '--path', '{d}/missing'],
    ['fs_write', '--path', '{d}/missing', '--stdin'],
    ['fs_file_set_attr', '--path', '{d}/missing', '--mode', '0644'],
    ['fs_delete', '--path', '{d}/missing'],
    ['fs_punch_hole', '--path', '{d}/missing', '--offset', '0', '--size', '1'],
    ['fs_list_named_streams', '--path', '{d}/missing'],
])
def test_missing_path_is_404(qq, tdir, cmd):
    args = [a.format(d=tdir) for a in cmd]
    qq.fail(*args, status=404, error_class='fs_no_such_entry_error', input=b'x')


def test_missing_path_raw(api, tdir):
    r = api.request('GET', f'/v1/files/{ref(join(tdir, "missing"))}/info/attributes')
    assert r.status == 404 and r.error_class == 'fs_no_such_entry_error', r.describe()
    r = api.request('GET', '/v1/files/999999999999/info/attributes')
    assert r.status == 404, r.describe()


def test_missing_intermediate_directory_is_404(qq, tdir):
    # fs_no_such_path_error exists too ("a directory part of the path does not exist"), but the
    # SDK's fs_copy and read_entire_directory_and_ignore_not_found only treat
    # fs_no_such_entry_error as "not found", so a 404 of either class is accepted here.
    status, cls, _ = qq.fail('fs_file_get_attr', '--path', join(tdir, 'no/such/file'))
    assert status == 404 and cls in ('fs_no_such_entry_error', 'fs_no_such_path_error'), cls


def test_create_in_missing_parent_is_404(qq, tdir):
    qq.fail('fs_create_file', '--path', join(tdir, 'nodir'), '--name', 'f', status=404)


def test_missing_id_is_404(qq):
    qq.fail('fs_file_get_attr', '--id', '987654321987', status=404,
            error_class='fs_no_such_entry_error')


# -- duplicate create: 409 fs_entry_exists_error -------------------------------------------------

def test_duplicate_create_file_is_409(qq, api, tdir):
    qq.ok('fs_create_file', '--path', tdir, '--name', 'dup')
    qq.fail('fs_create_file', '--path', tdir, '--name', 'dup', status=409,
            error_class='fs_entry_exists_error')


def test_duplicate_create_dir_over_file_is_409(qq, api, tdir):
    api.create(tdir, 'dup')
    qq.fail('fs_create_dir', '--path', tdir, '--name', 'dup', status=409,
            error_class='fs_entry_exists_error')
    qq.fail('fs_create_symlink', '--path', tdir, '--name', 'dup', '--target', 'x', status=409,
            error_class='fs_entry_exists_error')
    assert api.attrs(join(tdir, 'dup'))['type'] == 'FS_FILE_TYPE_FILE'


def test_write_create_existing_is_409(qq, api, tdir):
    api.make_file(tdir, 'exists', b'keep')
    qq.fail('fs_write', '--path', join(tdir, 'exists'), '--create', '--stdin', input=b'new',
            status=409, error_class='fs_entry_exists_error')
    assert api.read(join(tdir, 'exists')) == b'keep'


def test_hard_link_onto_existing_is_409(qq, api, tdir):
    api.create(tdir, 'a')
    api.create(tdir, 'b')
    qq.fail('fs_create_link', '--path', tdir, '--target', join(tdir, 'a'), '--name', 'b',
            status=409, error_class='fs_entry_exists_error')


# -- invalid names ---------------------------------------------------------------------------

@pytest.mark.parametrize('name', ['.', '..'])
def test_invalid_name_dot_dotdot(qq, api, tdir, name):
    qq.fail('fs_create_file', '--path', tdir, '--name', name, error_class='fs_invalid_name_error')
    qq.fail('fs_create_dir', '--path', tdir, '--name', name, error_class='fs_invalid_name_error')
    assert api.list_names(tdir) == []


def test_invalid_name_empty(qq, api, tdir):
    qq.fail('fs_create_dir', '--path', tdir, '--name', '', error_class='fs_invalid_name_error')
    r = api.request('POST', f'/v1/files/{ref(tdir)}/entries/',
                    {'name': '', 'action': 'CREATE_FILE'})
    assert 400 <= r.status < 500 and r.error_class == 'fs_invalid_name_error', r.describe()
    assert api.list_names(tdir) == []


def test_invalid_name_with_slash(qq, api, tdir):
    api.mkdir(tdir, 'a')
    for action in ('CREATE_FILE', 'CREATE_DIRECTORY'):
        r = api.request('POST', f'/v1/files/{ref(tdir)}/entries/', {'name': 'a/b', 'action': action})
        assert 400 <= r.status < 500 and r.error_class == 'fs_invalid_name_error', r.describe()
    # qq passes the name through too (create_directory does not touch it).
    qq.fail('fs_create_dir', '--path', tdir, '--name', 'a/b', error_class='fs_invalid_name_error')
    assert api.list_names(join(tdir, 'a')) == []
    assert api.list_names(tdir) == ['a']


def test_invalid_name_on_rename(qq, api, tdir):
    api.create(tdir, 'f')
    qq.fail('fs_rename', '--path', tdir, '--source', join(tdir, 'f'), '--name', '..',
            error_class='fs_invalid_name_error')
    assert api.exists(join(tdir, 'f'))


def test_name_256_bytes_is_name_size_error(qq, api, tdir):
    qq.fail('fs_create_file', '--path', tdir, '--name', 'n' * 256,
            error_class='fs_name_size_error')
    # 256 bytes of UTF-8 in 128 characters.
    qq.fail('fs_create_dir', '--path', tdir, '--name', 'é' * 128,
            error_class='fs_name_size_error')
    assert api.list_names(tdir) == []


# -- malformed requests ------------------------------------------------------------------------

@pytest.mark.parametrize('body', [b'{', b'not json at all', b'{"name": "x",}', b'\xff\xfe'])
def test_malformed_json_is_400_decode_error(api, tdir, body):
    r = api.request('POST', f'/v1/files/{ref(tdir)}/entries/', body,
                    content_type='application/json')
    assert r.status == 400 and r.error_class == 'decode_error', r.describe()


def test_malformed_json_on_patch_attributes(api, tdir):
    api.create(tdir, 'f')
    r = api.request('PATCH', f'/v1/files/{ref(join(tdir, "f"))}/info/attributes', b'{"mode":',
                    content_type='application/json')
    assert r.status == 400 and r.error_class == 'decode_error', r.describe()


def test_malformed_json_on_login(api):
    r = api.request('POST', '/v1/session/login', b'{"username": "admin"', auth=False,
                    content_type='application/json')
    assert r.status == 400 and r.error_class == 'decode_error', r.describe()


# -- no token ----------------------------------------------------------------------------------

@pytest.mark.parametrize('method,path', [
    ('GET', '/v1/files/%2F/info/attributes'),
    ('GET', '/v1/files/%2F/entries/'),
    ('GET', '/v1/files/2/data'),
    ('POST', '/v1/files/%2F/entries/'),
    ('GET', '/v1/session/who-am-i'),
    ('GET', '/v1/file-system'),
])
def test_no_token_is_401(api, method, path):
    body = {'name': 'should-not-exist', 'action': 'CREATE_FILE'} if method == 'POST' else None
    r = api.request(method, path, body, auth=False)
    assert r.status == 401, r.describe()
    assert not api.exists('/should-not-exist')


# -- If-Match / ETag: 412 ----------------------------------------------------------------------

def test_stale_if_match_is_412(api, tdir):
    f = join(tdir, 'etag.txt')
    mode0 = api.make_file(tdir, 'etag.txt', b'v1')['mode']
    new_mode = '0600' if mode0 != '0600' else '0640'
    e1 = api.ok('GET', f'/v1/files/{ref(f)}/info/attributes').etag
    assert e1
    w = api.ok('PUT', f'/v1/files/{ref(f)}/data', b'v2 longer', chunked=True)
    assert w.etag and w.etag != e1, 'the ETag must change when the data changes'
    # Stale ETag on PATCH attributes, PUT data, PATCH data, punch-hole.
    for method, path, body in (
        ('PATCH', f'/v1/files/{ref(f)}/info/attributes', {'mode': new_mode}),
        ('PUT', f'/v1/files/{ref(f)}/data', b'clobber'),
        ('PATCH', f'/v1/files/{ref(f)}/data?offset=0', b'X'),
        ('POST', f'/v1/files/{ref(f)}/punch-hole', {'offset': '0', 'size': '1'}),
    ):
        r = api.request(method, path, body, headers={'If-Match': e1})
        assert r.status == 412, r.describe()
    assert api.read(f) == b'v2 longer'
    assert api.attrs(f)['mode'] == mode0
    # The current ETag works.
    e2 = api.ok('GET', f'/v1/files/{ref(f)}/info/attributes').etag
    r = api.request('PATCH', f'/v1/files/{ref(f)}/info/attributes', {'mode': new_mode},
                    headers={'If-Match': e2})
    assert r.status == 200 and r.json['mode'] == new_mode, r.describe()


def test_stale_if_match_on_stream_create(api, tdir):
    f = join(tdir, 'e2')
    api.create(tdir, 'e2')
    stale = api.ok('GET', f'/v1/files/{ref(f)}/info/attributes').etag
    api.write(f, b'changed')
    r = api.request('POST', f'/v1/files/{ref(f)}/streams/', {'stream_name': 's'},
                    headers={'If-Match': stale})
    assert r.status == 412, r.describe()


def test_etag_stable_without_changes(api, tdir):
    f = join(tdir, 'stable')
    api.make_file(tdir, 'stable', b'x')
    e1 = api.ok('GET', f'/v1/files/{ref(f)}/info/attributes').etag
    e2 = api.ok('GET', f'/v1/files/{ref(f)}/info/attributes').etag
    assert e1 == e2


# -- other documented classes ------------------------------------------------------------------

def test_read_dir_of_file_fails(qq, api, tdir):
    # Status and class are [UNVERIFIED]; fs_not_a_directory_error is the documented class.
    api.create(tdir, 'plain')
    qq.fail('fs_read_dir', '--path', join(tdir, 'plain'), error_class='fs_not_a_directory_error')


def test_create_under_a_file_fails(qq, api, tdir):
    api.create(tdir, 'plain')
    qq.fail('fs_create_file', '--path', join(tdir, 'plain'), '--name', 'x',
            error_class='fs_not_a_directory_error')


def test_hard_link_to_directory_fails(qq, api, tdir):
    api.mkdir(tdir, 'd')
    status, cls, _ = qq.fail('fs_create_link', '--path', tdir, '--target', join(tdir, 'd'),
                             '--name', 'dlink')
    assert 400 <= status < 500, status
    assert not api.exists(join(tdir, 'dlink'))


def test_rename_directory_into_itself_fails(qq, api, tdir):
    api.mkdir(tdir, 'p')
    api.mkdir(join(tdir, 'p'), 'c')
    status, cls, _ = qq.fail('fs_rename', '--path', join(tdir, 'p/c'), '--source', join(tdir, 'p'),
                             '--name', 'loop')
    assert 400 <= status < 500, status
    assert api.exists(join(tdir, 'p/c'))


def test_unknown_endpoint_is_json_404(api):
    r = api.request('GET', '/v1/no-such-endpoint')
    assert r.status == 404, r.describe()


def test_error_while_sending_large_chunked_body(qq, api, tdir, tmp_path):
    # The server may answer before it has read the whole chunked body; qq must still see a clean
    # `Error 404: ...`, not a connection error, and the next request must work.
    src = tmp_path / 'big.bin'
    src.write_bytes(b'z' * (4 * 1024 * 1024))
    qq.fail('fs_write', '--path', join(tdir, 'missing.bin'), '--file', src, status=404,
            error_class='fs_no_such_entry_error', timeout=120)
    qq.ok('fs_file_get_attr', '--path', tdir)
