"""Processes and clients shared by the pytest suites: the qfuse-sandbox process, raw HTTPS, and qq.

A plain module without fixtures, so that any suite can import it: Tests/conformance (whose conftest.py wraps
these in fixtures) and Tests/mount (which puts this directory on sys.path).

Environment:
  QFUSE_SANDBOX_BIN   the sandbox binary (default <repo>/.build/debug/qfuse-sandbox)
  QQ_BIN              the qq CLI (default: `qq` next to the running Python, else <repo>/.venv/bin/qq)
  QUMULO_OPENAPI      openapi.json (see schema.py for the default search path)
"""

from __future__ import annotations

import calendar
import errno
import http.client
import json
import os
import re
import resource
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Sequence
from urllib.parse import quote

import pytest

import schema

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]

SANDBOX_BIN = Path(os.environ.get('QFUSE_SANDBOX_BIN') or REPO / '.build' / 'debug' / 'qfuse-sandbox')


def _find_qq() -> Path:
    if os.environ.get('QQ_BIN'):
        return Path(os.environ['QQ_BIN'])
    beside = Path(sys.executable).parent / 'qq'
    if beside.exists():
        return beside
    return REPO / '.venv' / 'bin' / 'qq'


QQ_BIN = _find_qq()

USER = 'admin'
PASSWORD = 'conformance-Pa55word'
ROOT_ID = '2'

START_TIMEOUT_S = 30
STOP_TIMEOUT_S = 10
QQ_TIMEOUT_S = 60
HTTP_TIMEOUT_S = 60

READY_RE = re.compile(r'qfuse-sandbox listening on https://(\[[^\]]+\]|[^\s:/]+):(\d+)')
QQ_ERROR_RE = re.compile(r'^Error (\d{3}): ([^:\s]+): ?(.*)$', re.M)

# Format rules from qumulo-api.md section 0.3.
DECIMAL_RE = re.compile(r'^(0|[1-9][0-9]*)$')
MODE_RE = re.compile(r'^[0-7]{4}$')
TIME_RE = re.compile(r'^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{9}Z$')

# Fields every attributes object carries (the docs' example, qumulo-api.md section 2.1).
ATTR_FIELDS = (
    'id', 'file_number', 'name', 'path', 'type', 'mode', 'owner', 'group', 'owner_details',
    'group_details', 'size', 'blocks', 'datablocks', 'metablocks', 'num_links', 'child_count',
    'access_time', 'modification_time', 'change_time', 'creation_time', 'extended_attributes',
    'data_revision', 'user_metadata_revision',
)
ATTR_DECIMAL_FIELDS = ('id', 'file_number', 'size', 'blocks', 'datablocks', 'metablocks',
                       'owner', 'group')
ATTR_TIME_FIELDS = ('access_time', 'modification_time', 'change_time', 'creation_time')


def ref(p: str | int) -> str:
    """The `{ref}` URL segment for an absolute path or a file id, encoded like the SDK does."""
    p = str(p)
    return quote(p, safe='') if p.startswith('/') else p


def join(parent: str, name: str) -> str:
    return parent.rstrip('/') + '/' + name


# ---------------------------------------------------------------------------------------------
# The sandbox process
# ---------------------------------------------------------------------------------------------

_ALL_SANDBOXES: list['Sandbox'] = []


def all_sandboxes() -> list['Sandbox']:
    """Every Sandbox made in this process, so a session's end can stop any still running."""
    return list(_ALL_SANDBOXES)


class Sandbox:
    """One qfuse-sandbox process serving `root`. Always stopped by PID (see stop())."""

    def __init__(self, root: Path, log_dir: Path, password: str = PASSWORD,
                 args: Sequence[str] = (), fd_limit: Optional[int] = None):
        self.root = Path(root)
        self.log_dir = Path(log_dir)
        self.password = password
        self.args = [str(a) for a in args]  # more command-line options, e.g. ['--capacity', '8388608']
        self.fd_limit = fd_limit  # the soft RLIMIT_NOFILE the process starts with, to test running out
        self.proc: Optional[subprocess.Popen] = None
        self.host = '127.0.0.1'
        self.port: Optional[int] = None
        self.stdout_lines: list[str] = []
        self.generation = 0
        self._ready = threading.Event()
        self._reader: Optional[threading.Thread] = None
        self._stderr_path: Optional[Path] = None
        self._stderr_file = None
        _ALL_SANDBOXES.append(self)

    # -- lifecycle --------------------------------------------------------------------------

    def start(self, port: int = 0) -> 'Sandbox':
        if not SANDBOX_BIN.exists():
            pytest.fail(
                f'qfuse-sandbox binary not found at {SANDBOX_BIN}. Build it (swift build) or set '
                f'QFUSE_SANDBOX_BIN to its path.',
                pytrace=False,
            )
        if not os.access(SANDBOX_BIN, os.X_OK):
            pytest.fail(f'qfuse-sandbox at {SANDBOX_BIN} is not executable', pytrace=False)
        assert self.proc is None or self.proc.poll() is not None, 'sandbox already running'
        self.root.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.generation += 1
        self._stderr_path = self.log_dir / f'sandbox-{os.getpid()}-{id(self)}-{self.generation}.stderr'
        self._stderr_file = open(self._stderr_path, 'wb')
        env = dict(os.environ)
        env['QFUSE_SANDBOX_PASSWORD'] = self.password
        self.stdout_lines = []
        self._ready = threading.Event()
        cmd = [str(SANDBOX_BIN), '--root', str(self.root), '--host', '127.0.0.1',
               '--port', str(port), *self.args]
        for attempt in range(30):
            try:
                self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                             stdout=subprocess.PIPE, stderr=self._stderr_file,
                                             env=env, preexec_fn=self._limit_fds if self.fd_limit else None)
                break
            except OSError as e:
                # The binary may be being rebuilt right now ("Text file busy"): wait a little.
                if e.errno != errno.ETXTBSY or attempt == 29:
                    raise
                time.sleep(2)
        self._reader = threading.Thread(target=self._read_stdout, args=(self.proc,), daemon=True)
        self._reader.start()

        deadline = time.monotonic() + START_TIMEOUT_S
        while not self._ready.wait(0.05):
            if self.proc.poll() is not None:
                self._reader.join(2)
                rc = self.proc.returncode
                self.proc = None
                pytest.fail(
                    f'qfuse-sandbox exited with status {rc} before it was ready.\n'
                    f'command: {" ".join(cmd)}\nstdout:\n{"".join(self.stdout_lines)}\n'
                    f'stderr:\n{self.stderr_tail()}',
                    pytrace=False,
                )
            if time.monotonic() > deadline:
                out = ''.join(self.stdout_lines)
                self.stop()
                pytest.fail(
                    f'qfuse-sandbox printed no "qfuse-sandbox listening on https://HOST:PORT" line '
                    f'within {START_TIMEOUT_S}s.\ncommand: {" ".join(cmd)}\nstdout:\n{out}\n'
                    f'stderr:\n{self.stderr_tail()}',
                    pytrace=False,
                )
        return self

    def _limit_fds(self) -> None:
        _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (self.fd_limit, hard))

    def _read_stdout(self, proc: subprocess.Popen) -> None:
        assert proc.stdout is not None
        for raw in iter(proc.stdout.readline, b''):
            line = raw.decode('utf-8', 'replace')
            self.stdout_lines.append(line)
            if not self._ready.is_set():
                m = READY_RE.search(line)
                if m:
                    self.port = int(m.group(2))
                    self._ready.set()
        proc.stdout.close()

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> Optional[int]:
        """Stop the process by PID: SIGTERM, then SIGKILL after STOP_TIMEOUT_S."""
        proc, self.proc = self.proc, None
        rc = None
        if proc is not None:
            if proc.poll() is None:
                try:
                    os.kill(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
                try:
                    rc = proc.wait(STOP_TIMEOUT_S)
                except subprocess.TimeoutExpired:
                    try:
                        os.kill(proc.pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                    rc = proc.wait(STOP_TIMEOUT_S)
            else:
                rc = proc.returncode
            if self._reader is not None:
                self._reader.join(5)
        if self._stderr_file is not None:
            self._stderr_file.close()
            self._stderr_file = None
        return rc

    def __enter__(self) -> 'Sandbox':
        """`with Sandbox(root, logs) as sb:` starts it, and stops it by PID however the block ends."""
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def stderr_tail(self, n: int = 4000) -> str:
        if self._stderr_path is None or not self._stderr_path.exists():
            return ''
        data = self._stderr_path.read_bytes()
        return data[-n:].decode('utf-8', 'replace')


def sandbox_help() -> str:
    """`qfuse-sandbox --help`, to tell whether this build has an option ('' if it cannot run)."""
    try:
        p = subprocess.run([str(SANDBOX_BIN), '--help'], stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return ''
    return p.stdout.decode('utf-8', 'replace')


# ---------------------------------------------------------------------------------------------
# Raw HTTPS
# ---------------------------------------------------------------------------------------------

@dataclass
class Response:
    method: str
    path: str
    status: int
    reason: str
    headers: http.client.HTTPMessage
    body: bytes
    json: Any = None
    request_body: Any = None

    @property
    def etag(self) -> Optional[str]:
        return self.headers.get('ETag')

    def header(self, name: str) -> Optional[str]:
        return self.headers.get(name)

    @property
    def error_class(self) -> Optional[str]:
        return self.json.get('error_class') if isinstance(self.json, dict) else None

    def describe(self) -> str:
        req = ''
        if self.request_body is not None:
            rb = self.request_body
            if isinstance(rb, (bytes, bytearray)):
                rb = rb[:200]
            req = f' body={rb!r}'
        shown = self.body[:600].decode('utf-8', 'replace')
        return f'{self.method} {self.path}{req} -> {self.status} {self.reason}: {shown}'


def raw_tls(sandbox: 'Sandbox', timeout: float = 10.0, source: str = '127.0.0.1') -> ssl.SSLSocket:
    """A TLS socket to the sandbox, for requests http.client cannot send (broken framing, Expect)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    sock = socket.create_connection((sandbox.host, sandbox.port), timeout=timeout, source_address=(source, 0))
    return ctx.wrap_socket(sock, server_hostname=sandbox.host)


def read_response(s: ssl.SSLSocket, deadline_s: float = 10.0) -> bytes:
    """Everything the server sends until it closes or goes quiet for a second after a complete answer."""
    data = b''
    end = time.monotonic() + deadline_s
    s.settimeout(1.0)
    while time.monotonic() < end:
        try:
            chunk = s.recv(65536)
        except (socket.timeout, TimeoutError):
            if b'\r\n\r\n' in data:
                break
            continue
        except (ConnectionResetError, ssl.SSLError):
            break
        if not chunk:
            break
        data += chunk
    return data


class Api:
    """Raw HTTPS client. Every JSON response is checked by schema.validate_response() unless
    `validate` is False (suites that only seed data need no openapi.json)."""

    def __init__(self, sandbox: Sandbox, validate: bool = True):
        self.sandbox = sandbox
        self.validate = validate
        self.token: Optional[str] = None
        self._ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        self._ctx.check_hostname = False
        self._ctx.verify_mode = ssl.CERT_NONE

    def connection(self, timeout: float = HTTP_TIMEOUT_S) -> http.client.HTTPSConnection:
        return http.client.HTTPSConnection(self.sandbox.host, self.sandbox.port,
                                           context=self._ctx, timeout=timeout)

    def request(self, method: str, path: str, body: Any = None, *,
                headers: Optional[dict] = None, auth: bool = True, token: Optional[str] = None,
                content_type: Optional[str] = None, chunked: bool = False,
                validate: Optional[bool] = None, timeout: float = HTTP_TIMEOUT_S) -> Response:
        hdrs = {'Accept-Encoding': 'identity', 'User-Agent': 'qfuse-conformance'}
        if isinstance(body, (bytes, bytearray)):
            payload = bytes(body)
            hdrs['Content-Type'] = content_type or 'application/octet-stream'
        elif body is None:
            payload = b''
            # The SDK sends a JSON content type and Content-Length: 0 even on GET/DELETE.
            hdrs['Content-Type'] = content_type or 'application/json'
        else:
            payload = json.dumps(body).encode()
            hdrs['Content-Type'] = content_type or 'application/json'
        tok = token if token is not None else self.token
        if auth and tok:
            hdrs['Authorization'] = f'Bearer {tok}'
        hdrs.update(headers or {})
        conn = self.connection(timeout)
        try:
            if chunked:
                hdrs['Transfer-Encoding'] = 'chunked'
                chunks = [payload[i:i + 128 * 1024] for i in range(0, len(payload), 128 * 1024)]
                conn.request(method, path, body=iter(chunks), headers=hdrs, encode_chunked=True)
            else:
                hdrs['Content-Length'] = str(len(payload))
                conn.putrequest(method, path, skip_accept_encoding=True)
                for k, v in hdrs.items():
                    conn.putheader(k, v)
                conn.endheaders(payload if payload else None)
            r = conn.getresponse()
            data = r.read()
            resp = Response(method, path, r.status, r.reason, r.headers, data,
                            request_body=body)
        finally:
            conn.close()

        ctype = (resp.headers.get('Content-Type') or '').lower()
        if resp.status >= 400:
            try:
                resp.json = json.loads(data.decode())
            except ValueError:
                raise schema.SchemaError(
                    f'error response is not JSON (the SDK fails with "Error loading data"): '
                    f'{resp.describe()}'
                )
        elif data and not ctype.startswith('application/octet-stream') \
                and not ctype.startswith('text/event'):
            try:
                resp.json = json.loads(data.decode())
            except ValueError:
                if 'json' in ctype:
                    raise schema.SchemaError(f'response claims JSON but is not: {resp.describe()}')
        if (self.validate if validate is None else validate) and resp.json is not None:
            schema.validate_response(method, path, resp.status, resp.json)
        return resp

    # -- conveniences (each asserts success) ------------------------------------------------

    def ok(self, method: str, path: str, body: Any = None, **kw) -> Response:
        r = self.request(method, path, body, **kw)
        assert 200 <= r.status < 300, r.describe()
        return r

    def login(self, user: str = USER, password: Optional[str] = None) -> str:
        r = self.ok('POST', '/v1/session/login',
                    {'username': user, 'password': password or self.sandbox.password}, auth=False)
        tok = r.json['bearer_token']
        self.token = tok
        return tok

    def attrs(self, r: str | int) -> dict:
        return self.ok('GET', f'/v1/files/{ref(r)}/info/attributes').json

    def create(self, parent: str | int, name: str, action: str = 'CREATE_FILE', **extra) -> dict:
        body = {'name': name, 'action': action, **extra}
        return self.ok('POST', f'/v1/files/{ref(parent)}/entries/', body).json

    def mkdir(self, parent: str | int, name: str) -> dict:
        return self.create(parent, name, 'CREATE_DIRECTORY')

    def write(self, r: str | int, data: bytes, offset: Optional[int] = None) -> dict:
        if offset is None:
            return self.ok('PUT', f'/v1/files/{ref(r)}/data', data, chunked=True).json
        return self.ok('PATCH', f'/v1/files/{ref(r)}/data?offset={offset}', data,
                       chunked=True).json

    def make_file(self, parent: str, name: str, data: bytes = b'') -> dict:
        self.create(parent, name)
        return self.write(join(parent, name), data)

    def read(self, r: str | int, offset: Optional[int] = None,
             length: Optional[int] = None) -> bytes:
        q = []
        if offset is not None:
            q.append(f'offset={offset}')
        if length is not None:
            q.append(f'length={length}')
        path = f'/v1/files/{ref(r)}/data' + ('?' + '&'.join(q) if q else '')
        return self.ok('GET', path).body

    def exists(self, r: str | int) -> bool:
        resp = self.request('GET', f'/v1/files/{ref(r)}/info/attributes')
        if resp.status == 404:
            return False
        assert resp.status == 200, resp.describe()
        return True

    def list_names(self, r: str | int) -> list[str]:
        names = []
        path = f'/v1/files/{ref(r)}/entries/'
        while True:
            page = self.ok('GET', path).json
            names += [f['name'] for f in page['files']]
            nxt = page['paging']['next']
            if nxt == '':
                return names
            assert isinstance(nxt, str) and nxt.startswith('/'), page['paging']
            path = nxt


# ---------------------------------------------------------------------------------------------
# qq
# ---------------------------------------------------------------------------------------------

def parse_json_docs(text: str) -> list[Any]:
    """All JSON documents printed one after another (fs_read_dir prints one per page), skipping
    non-JSON text in between (who_am_i prints prose lines between its documents)."""
    dec = json.JSONDecoder()
    docs = []
    i = 0
    n = len(text)
    while i < n:
        c = text[i]
        if c in '{[':
            try:
                obj, end = dec.raw_decode(text, i)
            except ValueError:
                i += 1
                continue
            docs.append(obj)
            i = end
        else:
            i += 1
    return docs


# For the qq commands that print the REST response, which operation printed each document.
_FS_PRINTED = {
    'fs_file_get_attr': ('GET', '/v1/files/{ref}/info/attributes',
                         '/v1/files/{ref}/streams/{stream_id}/attributes'),
    'fs_file_set_attr': ('PATCH', '/v1/files/{ref}/info/attributes',
                         '/v1/files/{ref}/streams/{stream_id}/attributes'),
    'fs_create_file': ('POST', '/v1/files/{ref}/entries/', None),
    'fs_create_dir': ('POST', '/v1/files/{ref}/entries/', None),
    'fs_create_symlink': ('POST', '/v1/files/{ref}/entries/', None),
    'fs_create_link': ('POST', '/v1/files/{ref}/entries/', None),
    'fs_create_unix_file': ('POST', '/v1/files/{ref}/entries/', None),
    'fs_rename': ('POST', '/v1/files/{ref}/entries/', None),
    'fs_read_dir': ('GET', '/v1/files/{ref}/entries/', None),
    'fs_punch_hole': ('POST', '/v1/files/{ref}/punch-hole',
                      '/v1/files/{ref}/streams/{stream_id}/punch-hole'),
    'fs_list_named_streams': ('GET', '/v1/files/{ref}/streams/', None),
    'fs_resolve_paths': ('POST', '/v1/files/resolve', None),
    'version': ('GET', '/v1/version', None),
}


def validate_qq_output(args: Sequence[str], docs: list[Any]) -> None:
    """Validate the JSON a qq command printed against the operation that produced it."""
    if not args:
        return
    cmd = args[0]
    where = f'qq {" ".join(args)[:200]}'
    stream = '--stream-id' in args or '--stream-name' in args
    if cmd in _FS_PRINTED:
        method, template, stream_template = _FS_PRINTED[cmd]
        if stream and stream_template:
            template = stream_template
        for d in docs:
            schema.validate_with_template(method, template, 200, d, where)
    elif cmd == 'fs_write':
        method = 'PATCH' if '--offset' in args else 'PUT'
        template = '/v1/files/{ref}/streams/{stream_id}/data' if stream else '/v1/files/{ref}/data'
        for d in docs:
            schema.validate_with_template(method, template, 200, d, where)
    elif cmd == 'fs_get_stats' and '--json' in args:
        for d in docs:
            schema.validate_with_template('GET', '/v1/file-system', 200, d, where)
    elif cmd == 'who_am_i':
        if len(docs) >= 1:
            schema.validate_with_template('GET', '/v1/session/who-am-i', 200, docs[0], where)
        if len(docs) >= 2:
            schema.validate_with_template('GET', '/v1/session/roles', 200, docs[1], where)
    elif cmd == 'raw' and len(args) >= 3:
        for d in docs:
            schema.validate_response(args[1], args[2], 200, d)


@dataclass
class QQResult:
    args: list[str]
    rc: int
    stdout: bytes
    stderr: str
    elapsed: float = 0.0

    @property
    def out(self) -> str:
        return self.stdout.decode('utf-8', 'replace')

    @property
    def docs(self) -> list[Any]:
        return parse_json_docs(self.out)

    @property
    def json(self) -> Any:
        docs = self.docs
        assert docs, f'qq {" ".join(self.args)} printed no JSON: {self.out!r}'
        return docs[0]

    def error(self) -> tuple[int, str, str]:
        m = QQ_ERROR_RE.search(self.stderr)
        assert m, (f'qq {" ".join(self.args)} (exit {self.rc}) did not print '
                   f'"Error <status>: <error_class>: ..."; stderr={self.stderr!r}')
        return int(m.group(1)), m.group(2), m.group(3)

    def describe(self) -> str:
        return (f'qq {" ".join(self.args)} -> exit {self.rc}\n'
                f'stdout: {self.out[:1500]!r}\nstderr: {self.stderr[-1500:]!r}')


class QQ:
    """Runs `qq --host 127.0.0.1 --port PORT --credentials-store FILE <args>` as a subprocess."""

    def __init__(self, sandbox: Sandbox, workdir: Path, validate: bool = True):
        self.sandbox = sandbox
        self.validate = validate
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.creds = self.workdir / 'credentials.json'
        # A private HOME/XDG_CONFIG_HOME so qq never reads or writes the user's credentials.
        self.env = dict(os.environ)
        self.env['HOME'] = str(self.workdir)
        self.env['XDG_CONFIG_HOME'] = str(self.workdir / 'xdg')
        self.env.pop('DEBUG_CLI', None)

    def argv(self, args: Sequence[str], creds: Optional[Path] = None) -> list[str]:
        return [str(QQ_BIN), '--host', self.sandbox.host, '--port', str(self.sandbox.port),
                '--credentials-store', str(creds or self.creds), *[str(a) for a in args]]

    def run(self, *args: Any, input: Optional[bytes | str] = None,
            timeout: float = QQ_TIMEOUT_S, creds: Optional[Path] = None) -> QQResult:
        if isinstance(input, str):
            input = input.encode()
        argv = self.argv([str(a) for a in args], creds)
        t0 = time.monotonic()
        try:
            p = subprocess.run(argv, input=input if input is not None else b'',
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               timeout=timeout, env=self.env, cwd=self.workdir)
        except subprocess.TimeoutExpired as e:
            pytest.fail(f'qq {" ".join(map(str, args))} did not finish within {timeout}s '
                        f'(stdout so far: {(e.stdout or b"")[:500]!r})', pytrace=False)
        return QQResult([str(a) for a in args], p.returncode, p.stdout,
                        p.stderr.decode('utf-8', 'replace'), time.monotonic() - t0)

    def ok(self, *args: Any, validate: Optional[bool] = None, **kw) -> QQResult:
        """Run qq, assert exit 0, and validate any JSON response it printed (unless validate, or
        the QQ's own default, is False)."""
        r = self.run(*args, **kw)
        assert r.rc == 0, r.describe()
        if self.validate if validate is None else validate:
            validate_qq_output(r.args, r.docs)
        return r

    def fail(self, *args: Any, status: Optional[int] = None, error_class: Optional[str] = None,
             **kw) -> tuple[int, str, str]:
        """Run qq, assert it exits 1 printing `Error <status>: <error_class>: <description>`."""
        r = self.run(*args, **kw)
        assert r.rc == 1, f'expected exit status 1\n{r.describe()}'
        got_status, got_class, desc = r.error()
        if status is not None:
            assert got_status == status, f'expected HTTP {status}\n{r.describe()}'
        if error_class is not None:
            assert got_class == error_class, f'expected {error_class}\n{r.describe()}'
        return got_status, got_class, desc

    def login(self, user: str = USER, password: Optional[str] = None) -> QQResult:
        r = self.run('login', '-u', user, '-p', password or self.sandbox.password)
        assert r.rc == 0, f'qq login failed\n{r.describe()}'
        return r


# ---------------------------------------------------------------------------------------------
# Attribute checks shared by the tests
# ---------------------------------------------------------------------------------------------

def check_attrs(a: dict, *, type_: Optional[str] = None, path: Optional[str] = None) -> None:
    """The attribute object follows the wire conventions of qumulo-api.md sections 0.3 and 2.1."""
    missing = [f for f in ATTR_FIELDS if f not in a]
    assert not missing, f'attributes lack {missing}: {a}'
    for f in ATTR_DECIMAL_FIELDS:
        assert isinstance(a[f], str) and DECIMAL_RE.match(a[f]), \
            f'{f} must be a decimal string, got {a[f]!r}'
    assert a['id'] == a['file_number'], a
    for f in ('num_links', 'child_count'):
        assert isinstance(a[f], int) and not isinstance(a[f], bool), \
            f'{f} must be a JSON integer, got {a[f]!r}'
    assert isinstance(a['mode'], str) and MODE_RE.match(a['mode']), \
        f'mode must be a 4-digit octal string, got {a["mode"]!r}'
    for f in ATTR_TIME_FIELDS:
        assert isinstance(a[f], str) and TIME_RE.match(a[f]), \
            f'{f} must be RFC 3339 UTC with 9 fractional digits, got {a[f]!r}'
    for f in ('owner_details', 'group_details'):
        d = a[f]
        assert isinstance(d, dict) and isinstance(d.get('id_type'), str) \
            and isinstance(d.get('id_value'), str), f'{f} malformed: {d!r}'
    assert isinstance(a['extended_attributes'], dict), a['extended_attributes']
    for v in a['extended_attributes'].values():
        assert isinstance(v, bool), a['extended_attributes']
    if a['type'] == 'FS_FILE_TYPE_DIRECTORY':
        assert a['path'].endswith('/'), f'a directory path must end with "/": {a["path"]!r}'
    else:
        assert not a['path'].endswith('/'), f'a non-directory path must not end with "/": {a}'
    if type_ is not None:
        assert a['type'] == type_, f'expected type {type_}, got {a["type"]}'
    if path is not None:
        want = path if a['type'] != 'FS_FILE_TYPE_DIRECTORY' else path.rstrip('/') + '/'
        assert a['path'] == want, f'expected path {want!r}, got {a["path"]!r}'


def rfc3339_ns(s: str) -> tuple:
    """Parse an RFC 3339 UTC timestamp into (seconds-since-epoch, nanoseconds) for comparison."""
    m = re.match(r'^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?Z$', s)
    assert m, f'not an RFC 3339 UTC timestamp: {s!r}'
    y, mo, d, h, mi, sec = (int(x) for x in m.groups()[:6])
    frac = (m.group(7) or '').ljust(9, '0')
    return calendar.timegm((y, mo, d, h, mi, sec)), int(frac or 0)
