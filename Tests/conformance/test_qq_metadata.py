"""User metadata (generic and S3) and named streams (sections 2.9, 2.10)."""

import base64
import json

from conftest import join, ref


# -- user metadata -----------------------------------------------------------------------------

def test_user_metadata_generic_roundtrip(qq, api, tdir):
    f = join(tdir, 'um')
    api.create(tdir, 'um')
    r = qq.ok('fs_set_user_metadata', '--path', f, '--key', 'color', '--value', 'blue')
    assert r.out == '', r.describe()
    assert qq.ok('fs_get_user_metadata', '--path', f, '--key', 'color').out == 'blue\n'
    # Upsert.
    qq.ok('fs_set_user_metadata', '--path', f, '--key', 'color', '--value', 'green')
    assert qq.ok('fs_get_user_metadata', '--path', f, '--key', 'color').out == 'green\n'
    # Raw: the value travels as base64 in JSON (section 2.10).
    raw = api.ok('GET', f'/v1/files/{ref(f)}/user-metadata/generic/color').json
    assert raw['value'] == base64.b64encode(b'green').decode(), raw


def test_user_metadata_binary_values(qq, api, tdir):
    f = join(tdir, 'bin')
    fid = api.create(tdir, 'bin')['id']
    qq.ok('fs_set_user_metadata', '--id', fid, '--key', 'hex', '--hex-value', '00ff10')
    assert qq.ok('fs_get_user_metadata', '--id', fid, '--key', 'hex', '--hex').out == '00ff10\n'
    qq.ok('fs_set_user_metadata', '--path', f, '--key', 'b64', '--base64-value', 'AAECAw==')
    assert qq.ok('fs_get_user_metadata', '--path', f, '--key', 'b64', '--base64').out \
        == 'AAECAw==\n'
    # Empty values are allowed by the SDK; the server may reject them with
    # fs_user_metadata_empty_insertion_error, so that case is not tested.


def test_user_metadata_list_and_delete(qq, api, tdir):
    f = join(tdir, 'list')
    api.create(tdir, 'list')
    for k, v in (('a', '1'), ('b', '2'), ('key with space', 'v a l')):
        qq.ok('fs_set_user_metadata', '--path', f, '--key', k, '--value', v)
    vals = json.loads(qq.ok('fs_list_user_metadata', '--path', f, '--json').out)
    assert sorted((x['key'], x['value']) for x in vals) == \
        [('a', '1'), ('b', '2'), ('key with space', 'v a l')], vals
    table = qq.ok('fs_list_user_metadata', '--path', f).out
    assert 'key with space' in table and 'v a l' in table, table

    r = qq.ok('fs_delete_user_metadata', '--path', f, '--key', 'a')
    assert 'Metadata key deleted successfully.' in r.out
    vals = json.loads(qq.ok('fs_list_user_metadata', '--path', f, '--json').out)
    assert sorted(x['key'] for x in vals) == ['b', 'key with space'], vals
    # Getting a deleted key is an error (status and class are undocumented: 404 expected).
    status, _cls, _ = qq.fail('fs_get_user_metadata', '--path', f, '--key', 'a')
    assert status == 404, status


def test_user_metadata_raw_list_shape(api, tdir):
    f = join(tdir, 'raw')
    api.create(tdir, 'raw')
    api.ok('PUT', f'/v1/files/{ref(f)}/user-metadata/generic/g1', {'value': 'Zw=='})
    api.ok('PUT', f'/v1/files/{ref(f)}/user-metadata/s3/s1', {'value': 'cw=='})
    allm = api.ok('GET', f'/v1/files/{ref(f)}/user-metadata/?limit=100').json
    got = sorted((e['type'], e['key'], e['value']) for e in allm['entries'])
    assert got == [('GENERIC', 'g1', 'Zw=='), ('S3', 's1', 'cw==')], allm
    assert allm['paging']['next'] in ('', None), allm['paging']
    gen = api.ok('GET', f'/v1/files/{ref(f)}/user-metadata/generic/?limit=100').json
    assert [(e['type'], e['key']) for e in gen['entries']] == [('GENERIC', 'g1')], gen


def test_user_metadata_paging(api, qq, tdir):
    f = join(tdir, 'page')
    api.create(tdir, 'page')
    for i in range(5):
        api.ok('PUT', f'/v1/files/{ref(f)}/user-metadata/generic/k{i}',
               {'value': base64.b64encode(f'v{i}'.encode()).decode()})
    keys = []
    path = f'/v1/files/{ref(f)}/user-metadata/generic/?limit=2'
    for _ in range(10):
        page = api.ok('GET', path).json
        assert len(page['entries']) <= 2, page
        keys += [e['key'] for e in page['entries']]
        nxt = page['paging']['next']
        if nxt in ('', None):
            break
        path = nxt
    assert sorted(keys) == [f'k{i}' for i in range(5)], keys


def test_user_metadata_s3_namespace_is_separate(qq, api, tdir):
    f = join(tdir, 's3')
    api.create(tdir, 's3')
    qq.ok('fs_set_user_metadata', '--path', f, '--key', 'k', '--value', 'generic-value')
    qq.ok('fs_set_user_metadata', '--path', f, '--s3', '--key', 'k', '--value', 's3-value')
    assert qq.ok('fs_get_user_metadata', '--path', f, '--key', 'k').out == 'generic-value\n'
    assert qq.ok('fs_get_user_metadata', '--path', f, '--s3', '--key', 'k').out == 's3-value\n'
    s3 = json.loads(qq.ok('fs_list_user_metadata', '--path', f, '--s3', '--json').out)
    assert s3 == [{'key': 'k', 'value': 's3-value'}], s3
    qq.ok('fs_delete_user_metadata', '--path', f, '--s3', '--key', 'k')
    assert json.loads(qq.ok('fs_list_user_metadata', '--path', f, '--s3', '--json').out) == []
    assert qq.ok('fs_get_user_metadata', '--path', f, '--key', 'k').out == 'generic-value\n'


def test_user_metadata_on_directory(qq, api, tdir):
    qq.ok('fs_set_user_metadata', '--path', tdir, '--key', 'dirkey', '--value', 'dv')
    assert qq.ok('fs_get_user_metadata', '--path', tdir, '--key', 'dirkey').out == 'dv\n'


def test_user_metadata_revision_changes(api, tdir):
    f = join(tdir, 'rev')
    a0 = api.create(tdir, 'rev')
    api.ok('PUT', f'/v1/files/{ref(f)}/user-metadata/generic/x', {'value': 'eA=='})
    a1 = api.attrs(f)
    assert a1['user_metadata_revision'] != a0['user_metadata_revision'], (a0, a1)


# -- named streams -----------------------------------------------------------------------------

def test_named_streams_lifecycle(qq, api, tdir):
    f = join(tdir, 'ads')
    api.make_file(tdir, 'ads', b'default stream')
    # The default stream ("0") is not listed: qq fs_copy creates one target stream per listed
    # stream, by name, after copying the default stream itself.
    assert qq.ok('fs_list_named_streams', '--path', f).json == []

    # Create through `qq raw` (chunked JSON body), as qq has no command for it.
    r = qq.ok('raw', 'POST', f'/v1/files/{ref(f)}/streams/', input=b'{"stream_name": "s1"}')
    s = r.json
    assert s['name'] == 's1' and isinstance(s['id'], str), s
    assert s['id'] != '0', 'stream id 0 is the default stream'
    sid = s['id']

    # Write and read through qq's stream options (qq resolves --stream-name via GET streams/).
    # (What the write returns is checked in test_stream_write_returns_stream_attributes.)
    qq.ok('fs_write', '--path', f, '--stream-name', 's1', '--stdin', input=b'alt data')
    assert qq.ok('fs_read', '--path', f, '--stream-name', 's1', '--stdout').stdout == b'alt data'
    assert qq.ok('fs_read', '--path', f, '--stream-id', sid, '--stdout').stdout == b'alt data'
    qq.ok('fs_write', '--path', f, '--stream-id', sid, '--offset', '3', '--stdin', input=b'!')
    assert api.ok('GET', f'/v1/files/{ref(f)}/streams/{sid}/data').body == b'alt!data'
    # The default stream is untouched.
    assert api.read(f) == b'default stream'

    streams = qq.ok('fs_list_named_streams', '--path', f).json
    assert [(x['name'], x['id'], x['size']) for x in streams] == [('s1', sid, '8')], streams

    # Stream attributes.
    sa = qq.ok('fs_file_get_attr', '--path', f, '--stream-name', 's1').json
    assert sa['size'] == '8' and sa['id'] == sid, sa

    # Rename through raw HTTPS.
    rr = api.ok('POST', f'/v1/files/{ref(f)}/streams/{sid}/rename', {'stream_name': 's2'})
    streams = api.ok('GET', f'/v1/files/{ref(f)}/streams/').json
    assert [x['name'] for x in streams] == ['s2'], streams
    assert qq.ok('fs_read', '--path', f, '--stream-name', 's2', '--stdout').stdout == b'alt!data'

    r = qq.ok('fs_remove_stream', '--path', f, '--stream-name', 's2')
    assert 'Successfully removed stream s2' in r.out
    assert qq.ok('fs_list_named_streams', '--path', f).json == []
    assert api.read(f) == b'default stream'


def test_stream_write_returns_stream_attributes(qq, api, tdir):
    # openapi.json: PUT/PATCH .../streams/{stream_id}/data (and stream punch-hole) answer with the
    # stream's attributes {name, id, size, datablocks, data_revision}, not the file's.
    f = join(tdir, 'sw')
    api.make_file(tdir, 'sw', b'fourteen bytes')
    sid = api.ok('POST', f'/v1/files/{ref(f)}/streams/', {'stream_name': 's'}).json['id']
    w = qq.ok('fs_write', '--path', f, '--stream-name', 's', '--stdin', input=b'alt data').json
    assert (w.get('id'), w.get('name'), w.get('size')) == (sid, 's', '8'), w
    w = qq.ok('fs_write', '--path', f, '--stream-id', sid, '--offset', '10', '--stdin',
              input=b'XY').json
    assert (w.get('id'), w.get('size')) == (sid, '12'), w
    r = api.ok('PUT', f'/v1/files/{ref(f)}/streams/{sid}/data', b'abc', chunked=True)
    assert r.etag, r.describe()
    assert (r.json.get('id'), r.json.get('size')) == (sid, '3'), r.describe()
    p = qq.ok('fs_punch_hole', '--path', f, '--stream-id', sid, '--offset', '0', '--size', '1').json
    assert (p.get('id'), p.get('size')) == (sid, '3'), p
    assert api.attrs(f)['size'] == '14'


def test_named_streams_multiple_and_by_id(qq, api, tdir):
    f = join(tdir, 'multi')
    fid = api.create(tdir, 'multi')['id']
    ids = {}
    for n in ('one', 'two', 'three'):
        r = api.ok('POST', f'/v1/files/{fid}/streams/', {'stream_name': n})
        assert r.etag, f'stream create must return an ETag: {r.describe()}'
        ids[n] = r.json['id']
    assert len(set(ids.values())) == 3
    listed = qq.ok('fs_list_named_streams', '--id', fid).json
    assert sorted(x['name'] for x in listed) == ['one', 'three', 'two']
    qq.ok('fs_remove_stream', '--id', fid, '--stream-id', ids['two'])
    listed = qq.ok('fs_list_named_streams', '--path', f).json
    assert sorted(x['name'] for x in listed) == ['one', 'three']


def test_named_stream_duplicate_create_is_409(api, tdir):
    f = join(tdir, 'dup')
    api.create(tdir, 'dup')
    api.ok('POST', f'/v1/files/{ref(f)}/streams/', {'stream_name': 's'})
    r = api.request('POST', f'/v1/files/{ref(f)}/streams/', {'stream_name': 's'})
    assert r.status == 409 and r.error_class == 'fs_entry_exists_error', r.describe()


def test_remove_missing_stream_name(qq, api, tdir):
    f = join(tdir, 'nostream')
    api.create(tdir, 'nostream')
    # qq itself raises this one after listing the streams (translate_stream_args_to_id).
    qq.fail('fs_remove_stream', '--path', f, '--stream-name', 'nope', status=404,
            error_class='fs_no_such_entry_error')


def test_stream_punch_hole(qq, api, tdir):
    f = join(tdir, 'sph')
    api.create(tdir, 'sph')
    sid = api.ok('POST', f'/v1/files/{ref(f)}/streams/', {'stream_name': 'p'}).json['id']
    api.ok('PUT', f'/v1/files/{ref(f)}/streams/{sid}/data', b'abcdefgh', chunked=True)
    qq.ok('fs_punch_hole', '--path', f, '--stream-name', 'p', '--offset', '2', '--size', '3')
    assert api.ok('GET', f'/v1/files/{ref(f)}/streams/{sid}/data').body == b'ab\0\0\0fgh'
