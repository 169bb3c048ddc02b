"""File data: fs_write (PUT / PATCH ?offset, chunked), fs_read (offset/length, past EOF),
fs_punch_hole, fs_copy (copy-chunk)."""

import hashlib
import os

from conftest import check_attrs, join, ref


def pattern(n: int, seed: int = 0) -> bytes:
    """Deterministic, position-dependent bytes so misplaced ranges are detectable."""
    block = bytes((i * 7 + seed) % 251 for i in range(251))
    return (block * (n // 251 + 1))[:n]


def test_write_create_stdin_roundtrip(qq, api, tdir):
    f = join(tdir, 'stdin.txt')
    data = b'hello from stdin\n\x00\xff binary too'
    r = qq.ok('fs_write', '--path', f, '--create', '--stdin', input=data)
    a = r.json
    check_attrs(a, type_='FS_FILE_TYPE_FILE')
    assert a['size'] == str(len(data)), a
    assert qq.ok('fs_read', '--path', f, '--stdout').stdout == data
    assert api.read(f) == data


def test_write_create_file_roundtrip(qq, api, tdir, tmp_path):
    src = tmp_path / 'small.bin'
    src.write_bytes(b'0123456789' * 100)
    f = join(tdir, 'from_file.bin')
    a = qq.ok('fs_write', '--path', f, '--create', '--file', src).json
    assert a['size'] == '1000', a
    out = tmp_path / 'out.bin'
    qq.ok('fs_read', '--path', f, '--file', out)
    assert out.read_bytes() == src.read_bytes()


def test_write_multi_mib_file_chunked(qq, api, tdir, tmp_path):
    # qq sends the whole file in one request with Transfer-Encoding: chunked, 128 KiB chunks.
    n = 5 * 1024 * 1024 + 12345
    data = os.urandom(n)
    src = tmp_path / 'big.bin'
    src.write_bytes(data)
    f = join(tdir, 'big.bin')
    a = qq.ok('fs_write', '--path', f, '--create', '--file', src, timeout=120).json
    assert a['size'] == str(n), a
    out = tmp_path / 'big.out'
    qq.ok('fs_read', '--path', f, '--file', out, timeout=120)
    got = out.read_bytes()
    assert len(got) == n
    assert hashlib.sha256(got).hexdigest() == hashlib.sha256(data).hexdigest()
    # A range in the middle, read raw.
    assert api.read(f, offset=3 * 1024 * 1024 + 17, length=4096) == \
        data[3 * 1024 * 1024 + 17:3 * 1024 * 1024 + 17 + 4096]
    assert api.attrs(f)['size'] == str(n)


def test_write_replaces_and_truncates(qq, api, tdir):
    f = join(tdir, 'replace.txt')
    qq.ok('fs_write', '--path', f, '--create', '--stdin', input=b'hello world, a long line')
    a = qq.ok('fs_write', '--path', f, '--stdin', input=b'bye').json
    assert a['size'] == '3', a
    assert api.read(f) == b'bye'


def test_write_empty_stdin(qq, api, tdir):
    f = join(tdir, 'empty.txt')
    qq.ok('fs_write', '--path', f, '--create', '--stdin', input=b'something')
    a = qq.ok('fs_write', '--path', f, '--stdin', input=b'').json
    assert a['size'] == '0', a
    assert api.read(f) == b''


def test_write_by_id(qq, api, tdir):
    f = join(tdir, 'byid.txt')
    fid = api.create(tdir, 'byid.txt')['id']
    a = qq.ok('fs_write', '--id', fid, '--stdin', input=b'via id').json
    assert a['id'] == fid and a['size'] == '6', a
    assert qq.ok('fs_read', '--id', fid, '--stdout').stdout == b'via id'
    assert api.read(f) == b'via id'


def test_write_offset_overwrites_in_place(qq, api, tdir):
    f = join(tdir, 'patch.txt')
    api.make_file(tdir, 'patch.txt', b'hello world')
    a = qq.ok('fs_write', '--path', f, '--offset', '0', '--stdin', input=b'J').json
    assert a['size'] == '11', a
    a = qq.ok('fs_write', '--path', f, '--offset', '6', '--stdin', input=b'W').json
    assert a['size'] == '11', a
    assert api.read(f) == b'Jello World'


def test_write_offset_appends_at_eof(qq, api, tdir):
    f = join(tdir, 'append.txt')
    api.make_file(tdir, 'append.txt', b'abc')
    a = qq.ok('fs_write', '--path', f, '--offset', '3', '--stdin', input=b'def').json
    assert a['size'] == '6', a
    assert api.read(f) == b'abcdef'


def test_write_offset_past_eof_zero_extends(qq, api, tdir):
    f = join(tdir, 'sparse.txt')
    api.make_file(tdir, 'sparse.txt', b'hello')
    a = qq.ok('fs_write', '--path', f, '--offset', '10', '--stdin', input=b'XY').json
    assert a['size'] == '12', a
    assert qq.ok('fs_read', '--path', f, '--stdout').stdout == b'hello' + b'\0' * 5 + b'XY'


def test_write_offset_far_past_eof(qq, api, tdir):
    f = join(tdir, 'far.bin')
    api.create(tdir, 'far.bin')
    off = 3 * 1024 * 1024 + 5
    a = qq.ok('fs_write', '--path', f, '--offset', off, '--stdin', input=b'tail').json
    assert a['size'] == str(off + 4), a
    assert api.read(f, offset=0, length=16) == b'\0' * 16
    assert api.read(f, offset=off - 4, length=100) == b'\0' * 4 + b'tail'


def test_write_offset_on_empty_file_at_zero(qq, api, tdir):
    f = join(tdir, 'z.txt')
    api.create(tdir, 'z.txt')
    a = qq.ok('fs_write', '--path', f, '--offset', '0', '--stdin', input=b'first').json
    assert a['size'] == '5'
    assert api.read(f) == b'first'


def test_read_offset_and_length(qq, api, tdir):
    f = join(tdir, 'digits.txt')
    api.make_file(tdir, 'digits.txt', b'0123456789')

    def rd(*extra):
        return qq.ok('fs_read', '--path', f, '--stdout', *extra).stdout

    assert rd() == b'0123456789'
    assert rd('--offset', '2', '--length', '3') == b'234'
    assert rd('--length', '4') == b'0123'
    assert rd('--offset', '5') == b'56789'
    assert rd('--offset', '0', '--length', '10') == b'0123456789'
    assert rd('--offset', '9', '--length', '1') == b'9'


def test_read_past_eof(qq, api, tdir):
    # qumulo-api.md 2.7: a read that runs past EOF returns what exists; an offset past EOF
    # succeeds with an empty body.
    f = join(tdir, 'short.txt')
    api.make_file(tdir, 'short.txt', b'0123456789')
    assert qq.ok('fs_read', '--path', f, '--stdout', '--offset', '8', '--length', '10').stdout \
        == b'89'
    assert qq.ok('fs_read', '--path', f, '--stdout', '--offset', '10').stdout == b''
    assert qq.ok('fs_read', '--path', f, '--stdout', '--offset', '100', '--length', '5').stdout \
        == b''
    r = api.request('GET', f'/v1/files/{ref(f)}/data?offset=1000000')
    assert r.status == 200 and r.body == b'', r.describe()


def test_read_empty_file(qq, api, tdir):
    f = join(tdir, 'empty')
    api.create(tdir, 'empty')
    assert qq.ok('fs_read', '--path', f, '--stdout').stdout == b''


def test_read_data_etag_present(api, tdir):
    f = join(tdir, 'etag.txt')
    api.make_file(tdir, 'etag.txt', b'abc')
    r = api.ok('GET', f'/v1/files/{ref(f)}/data')
    assert r.body == b'abc'
    assert r.etag, f'GET data should carry the file ETag: {r.describe()}'


def test_punch_hole_aligned(qq, api, tdir):
    f = join(tdir, 'hole.bin')
    data = pattern(3 * 4096, seed=1)
    api.make_file(tdir, 'hole.bin', data)
    a = qq.ok('fs_punch_hole', '--path', f, '--offset', '4096', '--size', '4096').json
    check_attrs(a, type_='FS_FILE_TYPE_FILE')
    assert a['size'] == str(len(data)), 'punch-hole must not change the size'
    got = api.read(f)
    assert len(got) == len(data)
    assert got[:4096] == data[:4096]
    assert got[4096:8192] == b'\0' * 4096
    assert got[8192:] == data[8192:]


def test_punch_hole_unaligned(qq, api, tdir):
    f = join(tdir, 'hole2.bin')
    data = pattern(1000, seed=2)
    api.make_file(tdir, 'hole2.bin', data)
    a = qq.ok('fs_punch_hole', '--path', f, '--offset', '10', '--size', '100').json
    assert a['size'] == '1000', a
    got = qq.ok('fs_read', '--path', f, '--stdout').stdout
    assert got == data[:10] + b'\0' * 100 + data[110:]


def test_punch_hole_raw_returns_etag(api, tdir):
    f = join(tdir, 'hole3.bin')
    api.make_file(tdir, 'hole3.bin', b'x' * 100)
    r = api.ok('POST', f'/v1/files/{ref(f)}/punch-hole', {'offset': '0', 'size': '50'})
    assert r.etag, r.describe()
    assert r.json['size'] == '100'
    assert api.read(f) == b'\0' * 50 + b'x' * 50


def test_copy_data_only(qq, api, tdir):
    src = join(tdir, 'src.bin')
    dst = join(tdir, 'dst.bin')
    data = pattern(300 * 1024 + 7, seed=3)
    api.make_file(tdir, 'src.bin', data)
    qq.ok('fs_copy', src, dst, '--quiet', '--no-attributes', '--no-named-streams')
    assert api.read(dst) == data
    a = api.attrs(dst)
    assert a['size'] == str(len(data))
    assert a['id'] != api.attrs(src)['id']
    assert api.read(src) == data


def test_copy_full_with_attributes_and_streams(qq, api, tdir):
    # Default fs_copy: GET attributes, GET v2 ACL, GET streams/, POST entries, copy-chunk loop,
    # POST streams/ + copy-chunk per stream, PATCH attributes, PUT v2 ACL (qumulo-api.md 6.2).
    src = join(tdir, 'src.txt')
    dst = join(tdir, 'dst.txt')
    api.make_file(tdir, 'src.txt', b'main data')
    s = api.ok('POST', f'/v1/files/{ref(src)}/streams/', {'stream_name': 'extra'}).json
    api.ok('PUT', f'/v1/files/{ref(src)}/streams/{s["id"]}/data', b'stream data', chunked=True)
    api.ok('PATCH', f'/v1/files/{ref(src)}/info/attributes',
           {'modification_time': '2020-02-03T04:05:06.123456789Z'})
    qq.ok('fs_copy', src, dst, '--quiet')
    assert api.read(dst) == b'main data'
    streams = api.ok('GET', f'/v1/files/{ref(dst)}/streams/').json
    names = {x['name']: x for x in streams}
    assert 'extra' in names, streams
    got = api.ok('GET', f'/v1/files/{ref(dst)}/streams/{names["extra"]["id"]}/data').body
    assert got == b'stream data'
    assert api.attrs(dst)['modification_time'] == '2020-02-03T04:05:06.123456789Z'


def test_copy_overwrite(qq, api, tdir):
    src = join(tdir, 'a')
    dst = join(tdir, 'b')
    api.make_file(tdir, 'a', b'new contents')
    api.make_file(tdir, 'b', b'old')
    r = qq.run('fs_copy', src, dst, '--quiet', '--no-attributes', '--no-named-streams')
    assert r.rc == 1 and 'exists' in r.stderr, r.describe()
    assert api.read(dst) == b'old'
    qq.ok('fs_copy', src, dst, '--quiet', '--overwrite', '--no-attributes', '--no-named-streams')
    assert api.read(dst) == b'new contents'


def test_copy_chunk_raw_protocol(api, tdir):
    # qumulo-api.md 2.8: every response carries the target's ETag; the body is empty when done,
    # otherwise it is the request body advanced, to be POSTed back as-is.
    src = join(tdir, 'cs')
    dst = join(tdir, 'cd')
    data = pattern(2 * 1024 * 1024 + 3, seed=4)
    api.make_file(tdir, 'cs', data)
    src_attr = api.ok('GET', f'/v1/files/{ref(src)}/info/attributes')
    dst_attr = api.ok('POST', f'/v1/files/{ref(tdir)}/entries/',
                      {'name': 'cd', 'action': 'CREATE_FILE'})
    assert dst_attr.etag, 'create must return an ETag'
    body = {'source_id': src_attr.json['id'], 'source_stream_id': '0',
            'source_etag': src_attr.etag}
    etag = dst_attr.etag
    for _ in range(10000):
        r = api.ok('POST', f'/v1/files/{dst_attr.json["id"]}/copy-chunk', body,
                   headers={'If-Match': etag})
        assert r.etag, f'copy-chunk response without ETag: {r.describe()}'
        etag = r.etag
        if not r.body.strip():
            break
        body = r.json
    else:
        raise AssertionError('copy-chunk never finished')
    assert api.read(dst) == data


def test_write_offset_multi_mib_file(qq, api, tdir, tmp_path):
    # A large chunked PATCH ?offset= into the middle of an existing file, past its end.
    f = join(tdir, 'mid.bin')
    base = pattern(2 * 1024 * 1024, seed=5)
    api.make_file(tdir, 'mid.bin', base)
    patch = os.urandom(3 * 1024 * 1024)
    src = tmp_path / 'patch.bin'
    src.write_bytes(patch)
    off = 1024 * 1024 + 1
    a = qq.ok('fs_write', '--path', f, '--offset', off, '--file', src, timeout=120).json
    assert a['size'] == str(off + len(patch)), a
    got = api.read(f)
    assert got[:off] == base[:off]
    assert got[off:] == patch


def test_punch_hole_past_eof_keeps_size(qq, api, tdir):
    f = join(tdir, 'h4')
    data = pattern(100, seed=6)
    api.make_file(tdir, 'h4', data)
    a = qq.ok('fs_punch_hole', '--path', f, '--offset', '50', '--size', '1000').json
    assert a['size'] == '100', 'punch-hole must not change the size'
    assert api.read(f) == data[:50] + b'\0' * 50


def test_data_revision_and_etag_change_on_write(api, tdir):
    f = join(tdir, 'rev')
    a0 = api.make_file(tdir, 'rev', b'one')
    e0 = api.ok('GET', f'/v1/files/{ref(f)}/info/attributes').etag
    a1 = api.write(f, b'two', offset=1)
    e1 = api.ok('GET', f'/v1/files/{ref(f)}/info/attributes').etag
    assert a1['data_revision'] != a0['data_revision'], (a0['data_revision'], a1['data_revision'])
    assert e1 != e0


def test_datablocks_cover_written_data(api, tdir):
    bs = api.ok('GET', '/v1/file-system').json['block_size_bytes']
    a = api.make_file(tdir, 'blocks', pattern(10000, seed=7))
    assert int(a['datablocks']) * bs >= 10000, (bs, a['datablocks'])
    assert int(a['blocks']) >= int(a['datablocks']), a
