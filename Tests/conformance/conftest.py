"""Fixtures for the qfuse-sandbox conformance suite.

The suite drives the real `qfuse-sandbox` binary with Qumulo's own `qq` CLI and Python SDK
(PyPI qumulo-api 7.10.2.1) and with raw HTTPS requests, and checks every JSON response against
Qumulo's OpenAPI document (see schema.py). The processes and clients live in harness.py, shared with
Tests/mount; this file only wraps them in fixtures. Tests import names from here (`from conftest import
...`), which re-exports harness's.

Environment: see harness.py (QFUSE_SANDBOX_BIN, QQ_BIN, QUMULO_OPENAPI).
"""

from __future__ import annotations

import itertools
import re
import sys
from pathlib import Path
from typing import Iterable

import pytest

import schema
from harness import (  # noqa: F401  (re-exported for the tests)
    ATTR_DECIMAL_FIELDS, ATTR_FIELDS, ATTR_TIME_FIELDS, DECIMAL_RE, HERE, HTTP_TIMEOUT_S, MODE_RE,
    PASSWORD, QQ, QQ_BIN, QQ_ERROR_RE, QQ_TIMEOUT_S, READY_RE, REPO, ROOT_ID, SANDBOX_BIN,
    START_TIMEOUT_S, STOP_TIMEOUT_S, TIME_RE, USER, Api, QQResult, Response, Sandbox,
    all_sandboxes, check_attrs, join, parse_json_docs, raw_tls, read_response, ref, rfc3339_ns,
    validate_qq_output,
)


# ---------------------------------------------------------------------------------------------
# Fixtures
# ---------------------------------------------------------------------------------------------

@pytest.fixture(scope='session')
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp('conformance')


@pytest.fixture(scope='session')
def sandbox(workdir) -> Iterable[Sandbox]:
    with Sandbox(workdir / 'root', workdir / 'logs') as sb:
        yield sb


@pytest.fixture(scope='session')
def api(sandbox) -> Api:
    a = Api(sandbox)
    a.login()
    return a


@pytest.fixture(scope='session')
def qq(sandbox, workdir) -> QQ:
    q = QQ(sandbox, workdir / 'qq')
    q.login()
    return q


@pytest.fixture(autouse=True)
def _sandbox_still_running(request):
    """If an earlier test crashed the shared sandbox, restart it on a fresh root so the crash is
    reported once (by the test that caused it) instead of failing every later test."""
    if 'sandbox' not in request.fixturenames:
        yield
        return
    sb: Sandbox = request.getfixturevalue('sandbox')
    if not sb.alive():
        tail = sb.stderr_tail()
        rc = sb.proc.returncode if sb.proc is not None else None
        sb.stop()
        sys.stderr.write(f'\n[conformance] shared sandbox died (rc={rc}); restarting. '
                         f'stderr tail:\n{tail}\n')
        sb.root = sb.root.with_name(sb.root.name + f'-r{sb.generation}')
        sb.start()
        if 'api' in request.fixturenames:
            request.getfixturevalue('api').login()
        if 'qq' in request.fixturenames:
            request.getfixturevalue('qq').login()
    yield


_counter = itertools.count(1)


@pytest.fixture
def tdir(request, api) -> str:
    """A fresh, empty directory for this test, e.g. `/t012_test_rename_clobber`."""
    name = re.sub(r'[^A-Za-z0-9_.-]+', '_', request.node.name)[:80]
    name = f't{next(_counter):03d}_{name}'
    api.mkdir('/', name)
    return '/' + name


def pytest_sessionfinish(session, exitstatus):
    # Belt and braces: never leave a sandbox running.
    for sb in all_sandboxes():
        try:
            sb.stop()
        except Exception:
            pass
    if schema.UNDESCRIBED:
        sys.stderr.write('\n[conformance] responses from paths openapi.json does not describe '
                         '(checked only for JSON / error shape): '
                         + ', '.join(f'{m} {p}' for m, p in sorted(schema.UNDESCRIBED)) + '\n')
