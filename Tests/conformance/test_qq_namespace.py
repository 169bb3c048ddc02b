"""Namespace operations: fs_create_dir/file/symlink/link/unix_file, fs_read_dir paging,
fs_rename, fs_delete, fs_unlink, fs_resolve_paths, and percent-encoded refs."""

from urllib.parse import parse_qs, urlsplit

import pytest

from conftest import ROOT_ID, check_attrs, join, ref


# -- create ------------------------------------------------------------------------------------

def test_create_dir(qq, api, tdir):
    a = qq.ok('fs_create_dir', '--path', tdir, '--name', 'sub').json
    check_attrs(a, type_='FS_FILE_TYPE_DIRECTORY', path=join(tdir, 'sub') + '/')
    # `name` may be "" when an object is not addressed through a listing (section 2.1).
    assert a['name'] in ('sub', ''), a
    assert a['child_count'] == 0, a
    assert api.attrs(join(tdir, 'sub'))['id'] == a['id']


def test_create_dir_by_parent_id(qq, api, tdir):
    pid = api.attrs(tdir)['id']
    a = qq.ok('fs_create_dir', '--id', pid, '--name', 'byid').json
    check_attrs(a, type_='FS_FILE_TYPE_DIRECTORY', path=join(tdir, 'byid') + '/')


def test_create_file(qq, api, tdir):
    a = qq.ok('fs_create_file', '--path', tdir, '--name', 'f.txt').json
    check_attrs(a, type_='FS_FILE_TYPE_FILE', path=join(tdir, 'f.txt'))
    assert a['name'] in ('f.txt', ''), a
    assert a['size'] == '0' and a['num_links'] == 1, a
    assert api.read(join(tdir, 'f.txt')) == b''
    # The parent now has one child.
    assert api.attrs(tdir)['child_count'] == 1


def test_create_returns_etag(api, tdir):
    r = api.ok('POST', f'/v1/files/{ref(tdir)}/entries/', {'name': 'e', 'action': 'CREATE_FILE'})
    assert r.etag, r.describe()


def test_create_in_root(qq, api, tdir):
    name = tdir.strip('/') + '_rootfile'
    a = qq.ok('fs_create_file', '--path', '/', '--name', name).json
    check_attrs(a, path='/' + name)
    api.ok('DELETE', f'/v1/files/{ref("/" + name)}')


def test_special_characters_in_names(qq, api, tdir):
    # qumulo-api.md 0.4: the SDK percent-encodes every byte outside the unreserved set, including
    # '/' as %2F; the server must decode the {ref} segment exactly once.
    names = ['a dir', 'f+x?.txt', 'pct%41%2F.txt', 'héllo wörld', 'semi;colon&amp=1#hash',
             'quote\'s "double"']
    for n in names:
        qq.ok('fs_create_file', '--path', tdir, '--name', n)
        p = join(tdir, n)
        a = qq.ok('fs_file_get_attr', '--path', p).json
        assert a['path'] == p, (n, a)
        qq.ok('fs_write', '--path', p, '--stdin', input=n.encode())
        assert qq.ok('fs_read', '--path', p, '--stdout').stdout == n.encode()
    assert sorted(api.list_names(tdir)) == sorted(names)
    # A directory with a space, and a file inside it.
    qq.ok('fs_create_dir', '--path', tdir, '--name', 'sp ace')
    qq.ok('fs_create_file', '--path', join(tdir, 'sp ace'), '--name', 'in side')
    assert api.attrs(join(join(tdir, 'sp ace'), 'in side'))['path'] == tdir + '/sp ace/in side'
    # Unlink by name also percent-encodes the entry name.
    qq.ok('fs_unlink', '--path', tdir, '--name', 'f+x?.txt')
    assert not api.exists(join(tdir, 'f+x?.txt'))


def test_name_255_bytes_ok(qq, api, tdir):
    name = 'n' * 255
    a = qq.ok('fs_create_file', '--path', tdir, '--name', name).json
    assert a['path'] == join(tdir, name), a
    # 255 bytes of UTF-8 (2-byte characters + 1).
    uname = 'é' * 127 + 'x'
    assert len(uname.encode()) == 255
    qq.ok('fs_create_file', '--path', tdir, '--name', uname)


# -- read_dir ----------------------------------------------------------------------------------

def test_read_dir_paging_page_size_1(qq, api, tdir):
    names = ['alpha', 'bravo', 'charlie', 'delta.txt', 'echo dir']
    for n in names[:4]:
        api.create(tdir, n)
    api.mkdir(tdir, names[4])
    dir_id = api.attrs(tdir)['id']

    r = qq.ok('fs_read_dir', '--path', tdir, '--page-size', '1')
    pages = r.docs
    assert pages, r.describe()
    seen = []
    for i, page in enumerate(pages):
        assert page['path'] == tdir + '/', page
        assert page['id'] == dir_id, page
        assert len(page['files']) <= 1, f'page {i} exceeds limit=1: {page}'
        for f in page['files']:
            check_attrs(f, path=join(tdir, f['name']))
            seen.append(f['name'])
        nxt = page['paging']['next']
        if i < len(pages) - 1:
            assert isinstance(nxt, str) and nxt.startswith('/'), \
                f'paging.next must be a server-relative URI: {nxt!r}'
            q = parse_qs(urlsplit(nxt).query)
            assert q.get('limit') == ['1'], f'paging.next must keep limit=1: {nxt!r}'
    assert pages[-1]['paging']['next'] == '', \
        f'the last page must have "next": "" (qq loops while next != ""): {pages[-1]["paging"]}'
    assert sorted(seen) == sorted(names), f'every entry exactly once: {seen}'


def test_read_dir_default_and_by_id(qq, api, tdir):
    for i in range(3):
        api.create(tdir, f'f{i}')
    dir_id = api.attrs(tdir)['id']
    for args in (('--path', tdir), ('--id', dir_id)):
        pages = qq.ok('fs_read_dir', *args).docs
        files = [f for p in pages for f in p['files']]
        assert sorted(f['name'] for f in files) == ['f0', 'f1', 'f2']
        assert pages[-1]['paging']['next'] == ''
        for f in files:
            check_attrs(f, type_='FS_FILE_TYPE_FILE')


def test_read_dir_empty(qq, tdir):
    pages = qq.ok('fs_read_dir', '--path', tdir).docs
    assert len(pages) == 1, pages
    assert pages[0]['files'] == [] and pages[0]['paging']['next'] == '', pages


def test_read_dir_root(qq, api, tdir):
    pages = qq.ok('fs_read_dir', '--path', '/', '--page-size', '1000').docs
    assert pages[0]['path'] == '/' and pages[0]['id'] == ROOT_ID, pages[0]
    names = [f['name'] for p in pages for f in p['files']]
    assert tdir.strip('/') in names
    assert '.' not in names and '..' not in names


def test_read_dir_raw_entries_without_trailing_slash(api, tdir):
    api.create(tdir, 'x')
    # qumulo-api.md 0.4: a tolerant server accepts both `entries/` and `entries`.
    r = api.ok('GET', f'/v1/files/{ref(tdir)}/entries?limit=10')
    assert [f['name'] for f in r.json['files']] == ['x']


def test_read_dir_paging_next_keeps_query_raw(api, tdir):
    for i in range(4):
        api.create(tdir, f'n{i}')
    r = api.ok('GET', f'/v1/files/{ref(tdir)}/entries/?limit=2')
    assert len(r.json['files']) <= 2
    nxt = r.json['paging']['next']
    assert nxt.startswith('/') and parse_qs(urlsplit(nxt).query).get('limit') == ['2'], nxt
    names = [f['name'] for f in r.json['files']]
    while nxt:
        page = api.ok('GET', nxt).json
        names += [f['name'] for f in page['files']]
        nxt = page['paging']['next']
    assert sorted(names) == ['n0', 'n1', 'n2', 'n3']


# -- rename ------------------------------------------------------------------------------------

def test_rename_same_dir(qq, api, tdir):
    api.make_file(tdir, 'old', b'payload')
    fid = api.attrs(join(tdir, 'old'))['id']
    a = qq.ok('fs_rename', '--path', tdir, '--source', join(tdir, 'old'), '--name', 'new').json
    check_attrs(a, path=join(tdir, 'new'))
    assert a['id'] == fid, a
    assert not api.exists(join(tdir, 'old'))
    assert api.read(join(tdir, 'new')) == b'payload'
    assert sorted(api.list_names(tdir)) == ['new']


def test_rename_across_directories(qq, api, tdir):
    api.mkdir(tdir, 'a')
    api.mkdir(tdir, 'b')
    api.make_file(join(tdir, 'a'), 'x', b'xx')
    fid = api.attrs(join(tdir, 'a/x'))['id']
    a = qq.ok('fs_rename', '--path', join(tdir, 'b'), '--source', join(tdir, 'a/x'),
              '--name', 'y').json
    assert a['id'] == fid and a['path'] == join(tdir, 'b/y'), a
    assert api.list_names(join(tdir, 'a')) == []
    assert api.list_names(join(tdir, 'b')) == ['y']
    assert api.read(join(tdir, 'b/y')) == b'xx'
    assert api.attrs(join(tdir, 'a'))['child_count'] == 0
    assert api.attrs(join(tdir, 'b'))['child_count'] == 1


def test_rename_directory_with_subtree(qq, api, tdir):
    api.mkdir(tdir, 'd1')
    api.mkdir(join(tdir, 'd1'), 'sub')
    api.make_file(join(tdir, 'd1/sub'), 'f', b'deep')
    api.mkdir(tdir, 'd2')
    ids = {p: api.attrs(join(tdir, p))['id'] for p in ('d1', 'd1/sub', 'd1/sub/f')}
    a = qq.ok('fs_rename', '--path', join(tdir, 'd2'), '--source', join(tdir, 'd1'),
              '--name', 'moved').json
    check_attrs(a, type_='FS_FILE_TYPE_DIRECTORY', path=join(tdir, 'd2/moved') + '/')
    assert a['id'] == ids['d1']
    assert not api.exists(join(tdir, 'd1'))
    sub = api.attrs(join(tdir, 'd2/moved/sub'))
    assert sub['id'] == ids['d1/sub'] and sub['path'] == join(tdir, 'd2/moved/sub') + '/'
    f = api.attrs(join(tdir, 'd2/moved/sub/f'))
    assert f['id'] == ids['d1/sub/f'] and f['path'] == join(tdir, 'd2/moved/sub/f')
    assert api.read(join(tdir, 'd2/moved/sub/f')) == b'deep'
    # Paths resolved by id follow the move.
    res = api.ok('POST', '/v1/files/resolve', [ids['d1/sub/f']]).json
    assert res[0]['path'] == join(tdir, 'd2/moved/sub/f'), res


def test_rename_onto_existing_without_clobber_is_409(qq, api, tdir):
    api.make_file(tdir, 'src', b'source')
    api.make_file(tdir, 'dst', b'destination')
    qq.fail('fs_rename', '--path', tdir, '--source', join(tdir, 'src'), '--name', 'dst',
            status=409, error_class='fs_entry_exists_error')
    assert api.read(join(tdir, 'src')) == b'source'
    assert api.read(join(tdir, 'dst')) == b'destination'


def test_rename_onto_existing_with_clobber(qq, api, tdir):
    api.make_file(tdir, 'src', b'source')
    api.make_file(tdir, 'dst', b'destination')
    sid = api.attrs(join(tdir, 'src'))['id']
    a = qq.ok('fs_rename', '--path', tdir, '--source', join(tdir, 'src'), '--name', 'dst',
              '--clobber').json
    assert a['id'] == sid, a
    assert not api.exists(join(tdir, 'src'))
    assert api.read(join(tdir, 'dst')) == b'source'
    assert api.list_names(tdir) == ['dst']


def test_rename_missing_source_is_404(qq, tdir):
    qq.fail('fs_rename', '--path', tdir, '--source', join(tdir, 'nope'), '--name', 'x',
            status=404)


# -- symlinks, hard links, unix files ----------------------------------------------------------

def test_create_symlink_and_read_target(qq, api, tdir):
    api.make_file(tdir, 'target.txt', b'the target')
    a = qq.ok('fs_create_symlink', '--path', tdir, '--target', 'target.txt',
              '--name', 'link').json
    check_attrs(a, type_='FS_FILE_TYPE_SYMLINK', path=join(tdir, 'link'))
    # GET data on a symlink returns the target text (readlink); use the id (section 2.7).
    assert qq.ok('fs_read', '--id', a['id'], '--stdout').stdout == b'target.txt'
    assert api.read(a['id']) == b'target.txt'
    listed = {f['name']: f for f in api.ok('GET', f'/v1/files/{ref(tdir)}/entries/').json['files']}
    assert listed['link']['type'] == 'FS_FILE_TYPE_SYMLINK'


def test_create_symlink_absolute_and_dangling(qq, api, tdir):
    a = qq.ok('fs_create_symlink', '--path', tdir, '--target', '/does/not/exist',
              '--name', 'dangling').json
    assert a['type'] == 'FS_FILE_TYPE_SYMLINK'
    assert api.read(a['id']) == b'/does/not/exist'


def test_create_symlink_target_type(qq, api, tdir):
    api.mkdir(tdir, 'dir')
    a = qq.ok('fs_create_symlink', '--path', tdir, '--target', 'dir', '--name', 'dlink',
              '--target-type', 'FS_FILE_TYPE_DIRECTORY').json
    assert a['symlink_target_type'] == 'FS_FILE_TYPE_DIRECTORY', a
    assert api.attrs(a['id'])['symlink_target_type'] == 'FS_FILE_TYPE_DIRECTORY'


def test_create_hard_link(qq, api, tdir):
    api.make_file(tdir, 'orig', b'shared')
    oid = api.attrs(join(tdir, 'orig'))['id']
    a = qq.ok('fs_create_link', '--path', tdir, '--target', join(tdir, 'orig'),
              '--name', 'alias').json
    assert a['id'] == oid, a
    assert a['num_links'] == 2, a
    assert api.attrs(join(tdir, 'orig'))['num_links'] == 2
    assert api.read(join(tdir, 'alias')) == b'shared'
    # Writes through one name are visible through the other.
    api.write(join(tdir, 'alias'), b'changed')
    assert api.read(join(tdir, 'orig')) == b'changed'
    # Removing one name keeps the object.
    qq.ok('fs_unlink', '--path', tdir, '--name', 'orig')
    al = api.attrs(join(tdir, 'alias'))
    assert al['num_links'] == 1 and al['id'] == oid, al
    assert api.read(join(tdir, 'alias')) == b'changed'


def test_create_hard_link_across_directories(qq, api, tdir):
    api.mkdir(tdir, 'other')
    api.make_file(tdir, 'f', b'1')
    a = qq.ok('fs_create_link', '--path', join(tdir, 'other'), '--target', join(tdir, 'f'),
              '--name', 'g').json
    assert a['num_links'] == 2
    assert api.attrs(join(tdir, 'other/g'))['id'] == api.attrs(join(tdir, 'f'))['id']


@pytest.mark.parametrize('ftype,mm', [
    ('FS_FILE_TYPE_UNIX_PIPE', None),
    ('FS_FILE_TYPE_UNIX_SOCKET', None),
    ('FS_FILE_TYPE_UNIX_CHARACTER_DEVICE', (1, 3)),
    ('FS_FILE_TYPE_UNIX_BLOCK_DEVICE', (8, 17)),
])
def test_create_unix_file(qq, api, tdir, ftype, mm):
    args = ['fs_create_unix_file', '--path', tdir, '--name', 'node', '--type', ftype]
    if mm:
        args += ['--major-minor-numbers', f'{mm[0]},{mm[1]}']
    a = qq.ok(*args).json
    check_attrs(a, type_=ftype, path=join(tdir, 'node'))
    b = api.attrs(join(tdir, 'node'))
    assert b['type'] == ftype
    if mm:
        assert a['major_minor_numbers'] == {'major': mm[0], 'minor': mm[1]}, a
        assert b['major_minor_numbers'] == {'major': mm[0], 'minor': mm[1]}, b


# -- delete / unlink ---------------------------------------------------------------------------

def test_delete_empty_dir(qq, api, tdir):
    api.mkdir(tdir, 'empty')
    r = qq.ok('fs_delete', '--path', join(tdir, 'empty'))
    assert 'Filesystem object was deleted.' in r.out
    assert not api.exists(join(tdir, 'empty'))
    qq.fail('fs_file_get_attr', '--path', join(tdir, 'empty'), status=404,
            error_class='fs_no_such_entry_error')


def test_delete_non_empty_dir_fails(qq, api, tdir):
    api.mkdir(tdir, 'full')
    api.create(join(tdir, 'full'), 'child')
    qq.fail('fs_delete', '--path', join(tdir, 'full'), error_class='fs_directory_not_empty_error')
    assert api.exists(join(tdir, 'full/child'))


def test_delete_file_by_id(qq, api, tdir):
    fid = api.make_file(tdir, 'f', b'bye')['id']
    qq.ok('fs_delete', '--id', fid)
    assert not api.exists(join(tdir, 'f'))
    assert not api.exists(fid)


def test_delete_raw_returns_200(api, tdir):
    api.create(tdir, 'f')
    r = api.request('DELETE', f'/v1/files/{ref(join(tdir, "f"))}')
    assert r.status == 200, r.describe()


def test_delete_missing_is_404(qq, tdir):
    qq.fail('fs_delete', '--path', join(tdir, 'ghost'), status=404,
            error_class='fs_no_such_entry_error')


def test_unlink_file_and_empty_dir(qq, api, tdir):
    api.create(tdir, 'f')
    api.mkdir(tdir, 'd')
    r = qq.ok('fs_unlink', '--path', tdir, '--name', 'f')
    assert 'Directory entry was deleted.' in r.out
    qq.ok('fs_unlink', '--id', api.attrs(tdir)['id'], '--name', 'd')
    assert api.list_names(tdir) == []
    qq.fail('fs_unlink', '--path', tdir, '--name', 'f', status=404,
            error_class='fs_no_such_entry_error')


def test_unlink_non_empty_dir_fails(qq, api, tdir):
    api.mkdir(tdir, 'd')
    api.create(join(tdir, 'd'), 'x')
    qq.fail('fs_unlink', '--path', tdir, '--name', 'd', error_class='fs_directory_not_empty_error')


# -- resolve -----------------------------------------------------------------------------------

def test_resolve_paths(qq, api, tdir):
    api.mkdir(tdir, 'd')
    f1 = api.make_file(tdir, 'one', b'1')['id']
    f2 = api.make_file(join(tdir, 'd'), 'two', b'2')['id']
    res = qq.ok('fs_resolve_paths', '--ids', f1, f2, ROOT_ID).json
    got = {x['id']: x['path'] for x in res}
    assert got == {f1: join(tdir, 'one'), f2: join(tdir, 'd/two'), ROOT_ID: '/'}, res


def test_root_attributes(qq):
    a = qq.ok('fs_file_get_attr', '--path', '/').json
    check_attrs(a, type_='FS_FILE_TYPE_DIRECTORY', path='/')
    assert a['id'] == ROOT_ID, a
    b = qq.ok('fs_file_get_attr', '--id', ROOT_ID).json
    assert b['path'] == '/' and b['id'] == ROOT_ID


def test_parent_mtime_changes_on_create_rename_unlink(qq, api, tdir):
    # A FUSE client caches listings keyed by the directory's mtime, so every change to the
    # directory's entries must move it.
    import time
    from conftest import rfc3339_ns

    def mtime():
        return rfc3339_ns(api.attrs(tdir)['modification_time'])

    m0 = mtime()
    time.sleep(0.02)
    qq.ok('fs_create_file', '--path', tdir, '--name', 'a')
    m1 = mtime()
    assert m1 > m0, 'create must update the parent mtime'
    time.sleep(0.02)
    qq.ok('fs_rename', '--path', tdir, '--source', join(tdir, 'a'), '--name', 'b')
    m2 = mtime()
    assert m2 > m1, 'rename must update the parent mtime'
    time.sleep(0.02)
    qq.ok('fs_unlink', '--path', tdir, '--name', 'b')
    m3 = mtime()
    assert m3 > m2, 'unlink must update the parent mtime'
