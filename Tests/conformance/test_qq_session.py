"""Session, version and file-system endpoints: login, who_am_i, version, fs_get_stats, and the
authentication and request-decoding errors (401, 400 decode_error); login throttling and password changes
(each on a sandbox of its own, so the shared one is never locked out)."""

import http.client
import json
import ssl
import time

import pytest

import schema
from conftest import DECIMAL_RE, PASSWORD, QQ, USER, Api, Sandbox, ref


def test_login_writes_credentials_store(sandbox, workdir):
    q = QQ(sandbox, workdir / 'qq-login')
    r = q.run('login', '-u', USER, '-p', PASSWORD)
    assert r.rc == 0, r.describe()
    creds = json.loads(q.creds.read_text())
    # lib/auth.py: {"bearer_token": ..., "version": 1}; session tokens start with "1:".
    assert creds['version'] == 1, creds
    assert isinstance(creds['bearer_token'], str) and creds['bearer_token'], creds
    # And the stored token works.
    q.ok('fs_file_get_attr', '--path', '/')


def test_login_raw_returns_bearer_token(api):
    r = api.ok('POST', '/v1/session/login', {'username': USER, 'password': PASSWORD}, auth=False)
    tok = r.json['bearer_token']
    assert isinstance(tok, str) and tok.startswith('1:'), r.describe()
    # The new token is usable.
    r2 = api.request('GET', '/v1/session/who-am-i', token=tok)
    assert r2.status == 200, r2.describe()


def test_login_wrong_password_is_401(sandbox, workdir, api):
    q = QQ(sandbox, workdir / 'qq-badlogin')
    status, _cls, _desc = q.fail('login', '-u', USER, '-p', 'not-the-password', status=401)
    assert not q.creds.exists(), 'a failed login must not write credentials'
    r = api.request('POST', '/v1/session/login', {'username': USER, 'password': 'nope'},
                    auth=False)
    assert r.status == 401, r.describe()


def test_login_unknown_user_is_401(api):
    r = api.request('POST', '/v1/session/login', {'username': 'nobody', 'password': PASSWORD},
                    auth=False)
    assert r.status == 401, r.describe()


def test_who_am_i(qq):
    r = qq.ok('who_am_i')
    docs = r.docs
    assert len(docs) >= 2, r.describe()
    me, roles = docs[0], docs[1]
    assert me['name'] == USER, me
    # qq does int(me['id']) to print the group lookups, so id must be a decimal auth_id string.
    assert isinstance(me['id'], str) and DECIMAL_RE.match(me['id']), me
    assert isinstance(roles, list), roles
    assert 'This user is granted the following roles:' in r.out


def test_who_am_i_raw(api):
    me = api.ok('GET', '/v1/session/who-am-i').json
    assert me['name'] == USER
    roles = api.ok('GET', '/v1/session/roles').json
    assert isinstance(roles, list) and all(isinstance(x, str) for x in roles), roles


def test_version(qq):
    v = qq.ok('version').json
    for k in ('revision_id', 'build_id', 'flavor', 'build_date'):
        assert isinstance(v.get(k), str), v


def test_version_needs_no_auth(api):
    # qumulo-api.md 1.1: /v1/version needs no authentication.
    r = api.request('GET', '/v1/version', auth=False)
    assert r.status == 200, r.describe()


def test_fs_get_stats_json(qq):
    s = qq.ok('fs_get_stats', '--json').json
    assert isinstance(s['block_size_bytes'], int) and s['block_size_bytes'] > 0, s
    for k in ('total_size_bytes', 'free_size_bytes', 'snapshot_size_bytes'):
        assert isinstance(s[k], str) and DECIMAL_RE.match(s[k]), (k, s)
    assert int(s['free_size_bytes']) <= int(s['total_size_bytes']), s
    # qq adds used_size_bytes = total - free.
    assert int(s['used_size_bytes']) >= 0, s


def test_fs_get_stats_text(qq):
    r = qq.ok('fs_get_stats')
    assert 'Total capacity:' in r.out and 'Free capacity:' in r.out, r.out


def test_no_token_is_401(api, sandbox, workdir):
    r = api.request('GET', '/v1/files/%2F/info/attributes', auth=False)
    assert r.status == 401, r.describe()
    schema.validate_error_body(r.status, r.json, r.describe())
    # qq with an empty credentials store sends no Authorization header.
    q = QQ(sandbox, workdir / 'qq-nologin')
    q.fail('fs_file_get_attr', '--path', '/', status=401)


def test_bad_token_is_401(api, qq):
    r = api.request('GET', '/v1/files/%2F/info/attributes', token='1:not-a-real-token')
    assert r.status == 401, r.describe()
    r = api.request('GET', '/v1/files/%2F/info/attributes',
                    headers={'Authorization': 'Basic YWRtaW46eA=='}, auth=False)
    assert r.status == 401, r.describe()
    bad = qq.workdir / 'bad-credentials.json'
    bad.write_text(json.dumps({'bearer_token': '1:garbage', 'version': 1}))
    qq.fail('fs_file_get_attr', '--path', '/', status=401, creds=bad)


def test_malformed_json_is_400_decode_error(api, qq, tdir):
    path = f'/v1/files/{ref(tdir)}/entries/'
    r = api.request('POST', path, b'{"name": "x", "action": ', content_type='application/json')
    assert r.status == 400, r.describe()
    assert r.error_class == 'decode_error', r.describe()
    # Same through qq raw (chunked body).
    qq.fail('raw', 'POST', path, input=b'{not json', status=400, error_class='decode_error')
    # Nothing was created.
    assert api.list_names(tdir) == []


def test_get_with_json_content_type_and_empty_body(api):
    # The SDK sends Content-Type: application/json and Content-Length: 0 on GET (section 0.2).
    r = api.request('GET', '/v1/files/%2F/info/attributes',
                    headers={'Content-Type': 'application/json', 'Content-Length': '0'})
    assert r.status == 200, r.describe()


@pytest.fixture
def private_sandbox(tmp_path):
    with Sandbox(tmp_path / 'root', tmp_path / 'logs') as sb:
        yield sb


def login_from(sb, password, source='127.0.0.1', user=USER):
    """One login from `source` (any 127/8 address reaches loopback): (status, Retry-After, error_class)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    conn = http.client.HTTPSConnection(sb.host, sb.port, context=ctx, timeout=30, source_address=(source, 0))
    try:
        conn.request('POST', '/v1/session/login', body=json.dumps({'username': user, 'password': password}),
                     headers={'Content-Type': 'application/json'})
        r = conn.getresponse()
        body = json.loads(r.read() or b'{}')
        return r.status, r.headers.get('Retry-After'), body.get('error_class')
    finally:
        conn.close()


def test_wrong_passwords_are_throttled_per_user_and_address(private_sandbox, tmp_path):
    sb = private_sandbox
    t0 = time.monotonic()
    statuses = [login_from(sb, 'guess')[0] for _ in range(40)]
    assert statuses[:3] == [401] * 3, statuses
    assert statuses.count(401) <= 5 and statuses.count(429) >= 35, statuses
    # Locked out, the right password is refused too; the answer says how long to wait.
    status, retry_after, error_class = login_from(sb, sb.password)
    assert (status, error_class) == (429, 'auth_login_throttled_error') and int(retry_after) >= 1
    QQ(sb, tmp_path / 'qq').fail('login', '-u', USER, '-p', sb.password, status=429,
                                 error_class='auth_login_throttled_error')
    # Another address, or another user from this one, is not locked out.
    assert login_from(sb, sb.password, source='127.0.0.2')[0] == 200
    assert login_from(sb, 'guess', user='other')[0] == 401
    time.sleep(int(retry_after) + 0.2)
    assert login_from(sb, sb.password)[0] == 200
    assert time.monotonic() - t0 < 30


def test_sessions_end_when_the_password_changes(private_sandbox, tmp_path):
    sb = private_sandbox
    q = QQ(sb, tmp_path / 'qq')
    q.login()
    api = Api(sb)
    api.login()
    # Through the API, as qq change_password does it: every session ends, the caller's too.
    r = q.run('change_password', '-o', sb.password, '-p', 'second-Pa55word')
    assert r.rc == 0 and 'changed' in r.out, r.describe()
    assert api.request('GET', '/v1/session/who-am-i').status == 401
    q.fail('who_am_i', status=401)
    assert login_from(sb, sb.password)[0] == 401
    api.login(password='second-Pa55word')
    q.login(password='second-Pa55word')
    q.fail('change_password', '-o', 'not-it', '-p', 'x', status=401, error_class='auth_login_failed_error')
    # A restart with another password ends the sessions made under the old one.
    sb.stop()
    sb.password = 'third-Pa55word'
    sb.start()
    assert api.request('GET', '/v1/session/who-am-i').status == 401
    api.login()
    # A restart with the same password keeps them.
    sb.stop()
    sb.start()
    assert api.request('GET', '/v1/session/who-am-i').status == 200
