"""The fault tier: out-of-range and malformed inputs against every route. Each must get a 4xx with Qumulo's
error body (error_class, description, module) and leave the server serving; none may change anything.

The table covers what once crashed the server (times beyond 2262 trapped on overflow, offsets of 2^63 and
more) or answered wrongly (a NUL cut a name short, sizes of 16 TiB and a broken chunked body got 500, any
string passed as an ACL right). qq commands that can send such input are checked the same way below.
"""

from __future__ import annotations

import pytest

from conftest import join, raw_tls, read_response, ref

BIG_TIMES = ['2262-04-12T00:00:00Z', '1677-09-20T00:00:00Z', '9999-12-31T23:59:59Z', '0000-01-01T00:00:00Z']
TIB16 = 1 << 44
U63 = 1 << 63
U64_MAX = (1 << 64) - 1


@pytest.fixture(scope='module')
def fx(api):
    """A directory with a file (with data and a named stream), a subdirectory, a snapshot and a key."""
    d = '/faults'
    if not api.exists(d):
        api.mkdir('/', 'faults')
        api.make_file(d, 'f', b'0123456789')
        api.make_file(d, 'secret.txt', b'secret')
        api.make_file(d, 'victim', b'keep me')
        api.mkdir(d, 'sub')
        api.ok('POST', f'/v1/files/{ref(join(d, "f"))}/streams/', {'stream_name': 'ads'})
    snap = api.ok('POST', '/v3/snapshots/', {'name_suffix': 'faults', 'source_file_id': api.attrs(d)['id']}).json
    return {'d': d, 'f': ref(join(d, 'f')), 'dref': ref(d), 'snap': snap['id'], 'fid': api.attrs(join(d, 'f'))['id']}


def acl_with(**change) -> dict:
    ace = {'type': 'ALLOWED', 'flags': [], 'trustee': {'domain': 'WORLD', 'auth_id': '8589934592'}, 'rights': ['READ']}
    acl = {'control': ['PRESENT'], 'posix_special_permissions': [], 'aces': [ace]}
    for key, value in change.items():
        (ace if key in ace else acl)[key] = value
    return acl


# (id, method, path with {f} {d} {snap} {fid} placeholders, JSON body or raw bytes, expected status or None
# for any 4xx, expected error_class or None)
CASES = [
    # times Int64 nanoseconds cannot hold: any of the four in PATCH attributes
    *[(f'attr-{field}-{t[:4]}', 'PATCH', '/v1/files/{f}/info/attributes', {field: t}, 400, 'invalid_request_error')
      for field in ('access_time', 'modification_time', 'change_time', 'creation_time') for t in BIG_TIMES],
    ('attr-time-feb30', 'PATCH', '/v1/files/{f}/info/attributes', {'access_time': '2024-02-30T00:00:00Z'}, 400,
     'decode_error'),
    ('attr-time-offset25h', 'PATCH', '/v1/files/{f}/info/attributes',
     {'access_time': '2024-01-01T00:00:00+25:00'}, 400, 'decode_error'),
    # ... and snapshot expirations, in every form that takes one
    *[(f'snap-v3-create-{t[:4]}', 'POST', '/v3/snapshots/', {'expiration': t, 'source_file_id': '2'}, 400,
       'invalid_request_error') for t in BIG_TIMES],
    ('snap-v1-create', 'POST', '/v1/snapshots/', {'name': 'x', 'expiration': '2300-01-01T00:00:00Z'}, 400,
     'invalid_request_error'),
    ('snap-v2-create', 'POST', '/v2/snapshots/', {'name': 'x', 'expiration': '2300-01-01T00:00:00Z'}, 400,
     'invalid_request_error'),
    ('snap-v2-ttl-overflow', 'POST', '/v2/snapshots/?expiration-time-to-live=99999999999999999years', {}, 400,
     'invalid_request_error'),
    ('snap-v2-ttl-beyond-2262', 'POST', '/v2/snapshots/?expiration-time-to-live=300years', {}, 400,
     'invalid_request_error'),
    ('snap-v3-patch', 'PATCH', '/v3/snapshots/{snap}', {'expiration': '2300-01-01T00:00:00Z'}, 400,
     'invalid_request_error'),
    ('snap-v3-put', 'PUT', '/v3/snapshots/{snap}', {'expiration': '1600-01-01T00:00:00Z'}, 400,
     'invalid_request_error'),
    # names and paths with NUL, '/' or bytes that are not UTF-8, wherever a name or path goes
    ('ref-nul', 'GET', '/v1/files/%2Ffaults%2Fsecret.txt%00junk/info/attributes', None, 400, 'fs_invalid_name_error'),
    ('ref-nul-data', 'GET', '/v1/files/%2Ffaults%2Fsecret.txt%00junk/data', None, 400, 'fs_invalid_name_error'),
    ('id-nul', 'GET', '/v1/files/{fid}%00/info/attributes', None, 400, 'fs_invalid_name_error'),
    ('ref-not-utf8', 'GET', '/v1/files/%2Ffaults%2F%FF/info/attributes', None, 400, None),
    ('ref-bad-escape', 'GET', '/v1/files/%2Ffaults%2F%G1/info/attributes', None, 400, None),
    ('unlink-nul', 'DELETE', '/v1/files/{dref}/entries/victim%00.bak', None, 400, 'fs_invalid_name_error'),
    ('unlink-slash', 'DELETE', '/v1/files/{dref}/entries/sub%2F..%2Fvictim', None, 400, 'fs_invalid_name_error'),
    ('unlink-not-utf8', 'DELETE', '/v1/files/{dref}/entries/%C3%28', None, 400, None),
    ('create-nul', 'POST', '/v1/files/{dref}/entries/', {'name': 'a\u0000b', 'action': 'CREATE_FILE'}, 400,
     'fs_invalid_name_error'),
    ('create-slash', 'POST', '/v1/files/{dref}/entries/', {'name': 'a/b', 'action': 'CREATE_FILE'}, 400,
     'fs_invalid_name_error'),
    ('rename-source-nul', 'POST', '/v1/files/{dref}/entries/',
     {'name': 'moved', 'action': 'RENAME', 'old_path': '/faults/victim\u0000.bak'}, 400, 'fs_invalid_name_error'),
    ('link-target-nul', 'POST', '/v1/files/{dref}/entries/',
     {'name': 'l', 'action': 'CREATE_LINK', 'old_path': '/faults/victim\u0000x'}, 400, 'fs_invalid_name_error'),
    ('copy-source-nul', 'POST', '/v1/files/{f}/copy-chunk', {'source_path': '/faults/secret.txt\u0000x'}, 400,
     'fs_invalid_name_error'),
    ('stream-name-nul', 'POST', '/v1/files/{f}/streams/', {'stream_name': 'x\u0000y'}, 400, 'fs_invalid_name_error'),
    ('metadata-key-nul', 'PUT', '/v1/files/{f}/user-metadata/generic/k%00x', {'value': ''}, 400,
     'fs_invalid_name_error'),
    ('metadata-key-not-utf8', 'GET', '/v1/files/{f}/user-metadata/generic/%FF', None, 400, None),
    ('key-ref-nul', 'GET', '/v1/file-system/security/keys/k%00x', None, 400, 'fs_invalid_name_error'),
    ('snapshot-suffix-nul', 'POST', '/v3/snapshots/', {'name_suffix': 'a\u0000b', 'source_file_id': '2'}, 400,
     'fs_invalid_name_error'),
    # sizes and offsets past the largest file (16 TiB less a block) or past 64 bits
    ('size-16tib', 'PATCH', '/v1/files/{f}/info/attributes', {'size': str(TIB16)}, 400, 'fs_invalid_size_error'),
    ('size-u64max', 'PATCH', '/v1/files/{f}/info/attributes', {'size': str(U64_MAX)}, 400, 'fs_invalid_size_error'),
    ('size-negative', 'PATCH', '/v1/files/{f}/info/attributes', {'size': '-1'}, 400, 'decode_error'),
    ('stream-size-16tib', 'PATCH', '/v1/files/{f}/streams/1/attributes', {'size': str(TIB16)}, 400,
     'fs_invalid_size_error'),
    ('stream-size-2^63', 'PATCH', '/v1/files/{f}/streams/1/attributes', {'size': str(U63)}, 400,
     'fs_invalid_size_error'),
    ('write-offset-16tib', 'PATCH', '/v1/files/{f}/data?offset=' + str(TIB16), b'x', 400, 'fs_invalid_offset_error'),
    ('write-end-past-max', 'PATCH', '/v1/files/{f}/data?offset=' + str(TIB16 - 4096 - 1), b'xy', 400,
     'fs_invalid_offset_error'),
    ('stream-write-offset-16tib', 'PATCH', '/v1/files/{f}/streams/1/data?offset=' + str(TIB16), b'x', 400,
     'fs_invalid_offset_error'),
    ('write-offset-2^63', 'PATCH', '/v1/files/{f}/data?offset=' + str(U63), b'x', 400, 'invalid_request_error'),
    ('write-offset-negative', 'PATCH', '/v1/files/{f}/data?offset=-1', b'x', 400, 'invalid_request_error'),
    ('copy-target-2^63', 'POST', '/v1/files/{f}/copy-chunk',
     {'source_path': '/faults/secret.txt', 'target_offset': str(U63)}, 400, 'fs_invalid_offset_error'),
    ('copy-target-u64max', 'POST', '/v1/files/{f}/copy-chunk',
     {'source_path': '/faults/secret.txt', 'target_offset': str(U64_MAX), 'length': str(U64_MAX)}, 400,
     'fs_invalid_offset_error'),
    ('copy-target-16tib', 'POST', '/v1/files/{f}/copy-chunk',
     {'source_path': '/faults/secret.txt', 'target_offset': str(TIB16)}, 400, 'fs_invalid_offset_error'),
    ('copy-source-stream-bogus', 'POST', '/v1/files/{f}/copy-chunk',
     {'source_path': '/faults/secret.txt', 'source_stream_id': 'x'}, 400, 'invalid_request_error'),
    ('copy-both-sources', 'POST', '/v1/files/{f}/copy-chunk', {'source_path': '/faults/f', 'source_id': '2'}, 400,
     'invalid_request_error'),
    ('punch-2^64', 'POST', '/v1/files/{f}/punch-hole', {'offset': str(U64_MAX), 'size': '1'}, 400,
     'invalid_request_error'),
    ('read-offset-2^63', 'GET', '/v1/files/{f}/data?offset=' + str(U63), None, 400, 'invalid_request_error'),
    ('read-length-junk', 'GET', '/v1/files/{f}/data?length=ten', None, 400, 'invalid_request_error'),
    # ACL names outside openapi.json's enumerations
    ('acl-right', 'PUT', '/v2/files/{f}/info/acl', acl_with(rights=['AAA']), 400, 'invalid_request_error'),
    ('acl-flag', 'PUT', '/v2/files/{f}/info/acl', acl_with(flags=['AAA']), 400, 'invalid_request_error'),
    ('acl-type', 'PUT', '/v2/files/{f}/info/acl', acl_with(type='AAA'), 400, 'invalid_request_error'),
    ('acl-control', 'PUT', '/v2/files/{f}/info/acl', acl_with(control=['AAA']), 400, 'invalid_request_error'),
    ('acl-special', 'PUT', '/v2/files/{f}/info/acl', acl_with(posix_special_permissions=['AAA']), 400,
     'invalid_request_error'),
    ('acl-domain', 'PUT', '/v2/files/{f}/info/acl',
     acl_with(trustee={'domain': 'AAA', 'auth_id': '1'}), 400, 'invalid_request_error'),
    # malformed parameters and bodies on the other routes
    ('list-limit-junk', 'GET', '/v1/files/{dref}/entries/?limit=many', None, 400, 'invalid_request_error'),
    ('list-after-junk', 'GET', '/v1/files/{dref}/entries/?after=%FF%FE', None, 400, 'invalid_request_error'),
    ('view-snapshot-junk', 'GET', '/v1/files/{f}/info/attributes?snapshot=99999999999999999999', None, 400,
     'invalid_request_error'),
    ('acl-v1-snapshot-missing', 'GET', '/v1/files/{f}/info/acl?snapshot=999999', None, 404, None),
    ('resolve-not-a-list', 'POST', '/v1/files/resolve', {'ids': 1}, 400, 'decode_error'),
    ('entries-bad-action', 'POST', '/v1/files/{dref}/entries/', {'name': 'x', 'action': 'EXPLODE'}, 400,
     'decode_error'),
    ('entries-not-json', 'POST', '/v1/files/{dref}/entries/', b'{', 400, 'decode_error'),
    ('attr-huge-body', 'PATCH', '/v1/files/{f}/info/attributes', {'mode': '0644', 'pad': 'x' * (1 << 21)}, 413,
     'http_payload_too_large_error'),
    ('stream-id-junk', 'GET', '/v1/files/{f}/streams/abc/attributes', None, 400, 'invalid_request_error'),
    ('stream-rename-default', 'POST', '/v1/files/{f}/streams/0/rename', {'stream_name': 'x'}, 400,
     'invalid_request_error'),
    ('metadata-type-junk', 'GET', '/v1/files/{f}/user-metadata/bogus/', None, 400, 'invalid_request_error'),
    ('metadata-value-not-base64', 'PUT', '/v1/files/{f}/user-metadata/generic/k', {'value': '***'}, 400, None),
    ('snap-id-junk', 'GET', '/v3/snapshots/abc', None, 404, None),
    ('snap-id-huge', 'DELETE', '/v3/snapshots/99999999999999999999', None, 404, None),
    ('snap-filter-junk', 'GET', '/v3/snapshots/?filter=bogus', None, 400, 'invalid_request_error'),
    ('snap-status-filter-junk', 'GET', '/v4/snapshots/status/?filter=bogus', None, 400, 'invalid_request_error'),
    ('snap-lock-no-key', 'POST', '/v3/snapshots/{snap}/lock', {'lock_key_ref': 'nokey'}, 404, None),
    ('snap-unlock-garbage', 'POST', '/v3/snapshots/{snap}/unlock', {'signature': '!!'}, None, None),
    ('diff-bad-ids', 'GET', '/v2/snapshots/abc/changes-since/-1', None, 404, None),
    ('diff-after-junk', 'GET', '/v2/snapshots/{snap}/changes-since/{snap}?after=zz', None, None, None),
    ('key-bad-public-key', 'POST', '/v1/file-system/security/keys/',
     {'name': 'k', 'public_key': 'AAAA', 'verification_signature': 'AAAA'}, 400, 'invalid_request_error'),
    ('key-missing', 'PATCH', '/v1/file-system/security/keys/nokey', {'comment': 'x'}, 404, None),
    ('login-not-json', 'POST', '/v1/session/login', b'\xff\xfe', 400, 'decode_error'),
    ('no-such-endpoint', 'GET', '/v1/files/{f}/bogus', None, 404, None),
]


def expect_fault(api, case, fx):
    _id, method, path, body, status, error_class = case
    path = path.format(**fx)
    r = api.request(method, path, body, validate=False)
    assert 400 <= r.status < 500, r.describe()
    if status is not None:
        assert r.status == status, r.describe()
    assert isinstance(r.json, dict) and r.json.get('description') and r.json.get('module'), r.describe()
    if error_class is not None:
        assert r.error_class == error_class, r.describe()
    return r


@pytest.mark.parametrize('case', CASES, ids=[c[0] for c in CASES])
def test_fault_is_4xx_with_error_body(api, sandbox, fx, case):
    expect_fault(api, case, fx)
    assert sandbox.alive(), 'the sandbox died'


def test_faults_changed_nothing_and_server_serves(api, sandbox, fx):
    for case in CASES:
        api.request(case[1], case[2].format(**fx), case[3], validate=False)
    assert sandbox.alive()
    assert api.ok('GET', '/v1/version').json['revision_id']
    assert api.read('/faults/f') == b'0123456789'
    assert api.read('/faults/victim') == b'keep me'
    names = api.list_names('/faults')
    assert sorted(names) == ['f', 'secret.txt', 'sub', 'victim'], names
    attrs = api.attrs('/faults/f')
    assert attrs['size'] == '10' and attrs['modification_time'].startswith('20'), attrs
    acl = api.ok('GET', f'/v2/files/{fx["f"]}/info/acl').json
    assert 'AAA' not in str(acl), acl


def test_nul_does_not_cut_a_name_short(api, fx):
    """`%2Ffaults%2Fsecret.txt%00junk` once read `/faults/secret.txt`; `victim%00.bak` once deleted `victim`."""
    r = api.request('GET', '/v1/files/%2Ffaults%2Fsecret.txt%00junk/data')
    assert (r.status, r.error_class) == (400, 'fs_invalid_name_error') and r.body != b'secret', r.describe()
    r = api.request('DELETE', f'/v1/files/{fx["dref"]}/entries/victim%00.bak')
    assert r.status == 400, r.describe()
    assert api.exists('/faults/victim')


def test_percent_decoding_happens_once(api, tdir):
    """A name that itself looks percent-encoded is found by its own encoding, not by decoding it again."""
    api.make_file(tdir, '%2F', b'literal')
    api.make_file(tdir, 'A', b'letter')
    assert api.ok('GET', f'/v1/files/{ref(tdir)}%2F%252F/data').body == b'literal'
    assert api.request('GET', f'/v1/files/{ref(tdir)}%2F%2541/info/attributes').status == 404
    api.ok('DELETE', f'/v1/files/{ref(tdir)}/entries/%252F')
    assert api.list_names(tdir) == ['A']


def test_malformed_chunk_size_is_400(api, sandbox, fx):
    s = raw_tls(sandbox)
    try:
        s.sendall((f'PUT /v1/files/{fx["f"]}/data HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {api.token}\r\n'
                   'Content-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n'
                   '5\r\nhello\r\nzz-not-hex\r\nworld\r\n0\r\n\r\n').encode())
        answer = read_response(s)
    finally:
        s.close()
    status_line = answer.split(b'\r\n', 1)[0]
    assert status_line.startswith(b'HTTP/1.1 400'), answer[:300]
    assert b'invalid_request_error' in answer, answer[:600]
    assert sandbox.alive() and api.read('/faults/f') == b'0123456789'


# -- the same faults through qq ------------------------------------------------------------------

@pytest.mark.parametrize('option', ['--modification-time', '--access-time', '--change-time', '--creation-time'])
def test_qq_set_attr_time_beyond_2262_is_400(qq, api, tdir, option):
    api.make_file(tdir, 'f', b'x')
    qq.fail('fs_file_set_attr', '--path', join(tdir, 'f'), option, '2300-01-01T00:00:00Z', status=400,
            error_class='invalid_request_error')


def test_qq_set_attr_size_16tib_is_400(qq, api, tdir):
    api.make_file(tdir, 'f', b'x')
    qq.fail('fs_file_set_attr', '--path', join(tdir, 'f'), '--size', str(TIB16), status=400,
            error_class='fs_invalid_size_error')
    assert api.attrs(join(tdir, 'f'))['size'] == '1'


def test_qq_write_at_16tib_is_400(qq, api, tdir):
    api.make_file(tdir, 'f', b'x')
    qq.fail('fs_write', '--path', join(tdir, 'f'), '--offset', str(TIB16), '--stdin', input=b'data', status=400,
            error_class='fs_invalid_offset_error')


@pytest.mark.parametrize('expiration', ['2300-01-01T00:00:00Z', '1600-01-01T00:00:00Z'])
def test_qq_snapshot_expiration_out_of_range_is_400(qq, api, tdir, expiration):
    qq.fail('snapshot_create_snapshot', '--path', tdir, '-e', expiration, status=400,
            error_class='invalid_request_error')
    s = qq.ok('snapshot_create_snapshot', '--path', tdir).json
    qq.fail('snapshot_modify_snapshot', '-i', s['id'], '-e', expiration, status=400,
            error_class='invalid_request_error')
