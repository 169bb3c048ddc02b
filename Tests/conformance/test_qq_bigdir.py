"""A 10,000-entry directory: every entry listed exactly once by `qq fs_read_dir`, and the end-to-end
time printed (not asserted)."""

import time
from concurrent.futures import ThreadPoolExecutor

from qumulo.rest_client import RestClient

import schema
from conftest import USER, check_attrs

N = 10_000
THREADS = 4


def _create_many(sandbox, parent: str, names: list[str]) -> None:
    client = RestClient('127.0.0.1', sandbox.port, timeout=60)
    client.login(USER, sandbox.password)
    for n in names:
        attrs = client.fs.create_file(name=n, dir_path=parent)
        schema.validate_with_template('POST', '/v1/files/{ref}/entries/', 200, attrs,
                                      f'SDK create_file {parent}/{n}')
    client.close()


def test_read_dir_10000_entries(sandbox, api, qq, capsys):
    api.mkdir('/', 'big')
    names = [f'entry-{i:05d}.dat' for i in range(N)]
    t0 = time.monotonic()
    chunks = [names[i::THREADS] for i in range(THREADS)]
    with ThreadPoolExecutor(THREADS) as ex:
        for fut in [ex.submit(_create_many, sandbox, '/big', c) for c in chunks]:
            fut.result()
    created_s = time.monotonic() - t0
    assert api.attrs('/big')['child_count'] == N

    r = qq.ok('fs_read_dir', '--path', '/big', timeout=300, validate=False)
    elapsed = r.elapsed
    pages = r.docs
    # Validate every page after the timing (schema checks are not part of the measured time).
    from conftest import validate_qq_output
    validate_qq_output(r.args, pages)

    listed = [f['name'] for p in pages for f in p['files']]
    assert len(listed) == N, f'{len(listed)} entries listed, expected {N}'
    assert len(set(listed)) == N, 'some entries were listed more than once'
    assert set(listed) == set(names)
    assert pages[-1]['paging']['next'] == ''
    for p in pages[:3]:
        for f in p['files'][:5]:
            check_attrs(f, type_='FS_FILE_TYPE_FILE')

    sizes = [len(p['files']) for p in pages]
    with capsys.disabled():
        print(f'\n[timing] created {N} files in {created_s:.1f} s ({THREADS} SDK threads); '
              f'`qq fs_read_dir --path /big` took {elapsed:.2f} s end to end '
              f'({len(pages)} pages, largest {max(sizes)} entries, '
              f'{len(r.stdout) / 1e6:.1f} MB of JSON)')
