"""A full cluster: qfuse-sandbox --capacity, seen through qq. Each test has a sandbox of its own, so
the usage it sees is only its own."""

from typing import Iterable

import pytest

from conftest import DECIMAL_RE, QQ, Api, Sandbox

CAPACITY = 1 << 20
KiB = 1 << 10


@pytest.fixture
def full_sandbox(tmp_path) -> Iterable[Sandbox]:
    # The suffix form, as a person would type it.
    with Sandbox(tmp_path / 'root', tmp_path / 'logs', args=['--capacity', '1M']) as sb:
        yield sb


@pytest.fixture
def qq_full(full_sandbox, tmp_path) -> QQ:
    q = QQ(full_sandbox, tmp_path / 'qq')
    q.login()
    return q


@pytest.fixture
def api_full(full_sandbox) -> Api:
    a = Api(full_sandbox)
    a.login()
    return a


def test_fs_write_beyond_capacity_fails_with_no_space(qq_full, api_full, tmp_path):
    kept = bytes(range(256)) * (768 * KiB // 256)
    qq_full.ok('fs_write', '--path', '/f', '--create', '--stdin', input=kept)

    qq_full.fail('fs_write', '--path', '/f', '--offset', str(len(kept)), '--stdin',
                 input=b'x' * (512 * KiB), status=507, error_class='fs_no_space_error')
    assert api_full.attrs('/f')['size'] == str(len(kept))
    assert api_full.read('/f') == kept, 'a refused write leaves no part of itself behind'

    src = tmp_path / 'half.bin'
    src.write_bytes(b'y' * (512 * KiB))
    qq_full.fail('fs_write', '--path', '/g', '--create', '--file', src,
                 status=507, error_class='fs_no_space_error')
    # qq creates the file, then PUTs the data: the refused PUT leaves it empty.
    assert api_full.attrs('/g')['size'] == '0'

    qq_full.ok('fs_delete', '--path', '/f')
    assert qq_full.ok('fs_write', '--path', '/g', '--file', src).json['size'] == str(512 * KiB)


def test_fs_get_stats_reports_the_capacity(qq_full):
    qq_full.ok('fs_write', '--path', '/f', '--create', '--stdin', input=b'z' * (300 * KiB))
    s = qq_full.ok('fs_get_stats', '--json').json
    assert s['total_size_bytes'] == str(CAPACITY), s
    assert s['free_size_bytes'] == str(CAPACITY - 300 * KiB), s
    # qq adds used_size_bytes = total - free.
    assert DECIMAL_RE.match(str(s['used_size_bytes'])) and int(s['used_size_bytes']) == 300 * KiB, s
