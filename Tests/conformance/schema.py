"""Validate sandbox responses against Qumulo's own OpenAPI document.

`validate_response(method, path, status, body)` takes a *concrete* request path, e.g.
`/v1/files/%2Fa%20dir%2Ff/info/attributes?snapshot=3`, finds the matching path template in
openapi.json (`/v1/files/{ref}/info/attributes`), and validates the parsed JSON body with
`jsonschema` against that operation's response schema for the status (falling back to the 200
schema). Error bodies (status >= 400) must be JSON objects with string `error_class`,
`description` and `module` (qumulo-api.md section 0.7).

Matching is done on the raw, still percent-encoded path segments, so `{ref}` matches `%2Fa%2Fb`
as one segment (qumulo-api.md section 0.4). A trailing slash is tolerated on both sides.

The document lives outside the repository by default; set QUMULO_OPENAPI to point elsewhere.
"""

from __future__ import annotations

import copy
import functools
import json
import os
import re
from pathlib import Path
from typing import Any, Optional
from urllib.parse import urlsplit

import jsonschema

_HERE = Path(__file__).resolve().parent
_REPO = _HERE.parents[1]

_CANDIDATES = [
    os.environ.get('QUMULO_OPENAPI'),
    _HERE / 'openapi.json',
    _REPO / 'docs' / 'qumulo-api' / 'openapi.json',
    _REPO / 'qumulo-api' / 'openapi.json',
    # Where CI and a developer's checkout have it: shared/ beside the repository.
    _REPO.parent / 'shared' / 'qumulo-api' / 'openapi.json',
]


class SchemaError(AssertionError):
    """A response did not match Qumulo's published schema."""


def openapi_path() -> Path:
    for c in _CANDIDATES:
        if c and Path(c).is_file():
            return Path(c)
    raise FileNotFoundError(
        'openapi.json not found; set QUMULO_OPENAPI. Looked in: '
        + ', '.join(str(c) for c in _CANDIDATES if c)
    )


@functools.lru_cache(maxsize=1)
def _document() -> dict:
    with open(openapi_path()) as f:
        return json.load(f)


# --- Known errors in the published schemas -------------------------------------------------------
# The guide's schemas are generated from the product's types and are wrong in a few places where
# the SDK (qq) is the ground truth. Each override says why.

_B64_STRING = {'type': 'string', 'description': 'base64 (override: SDK decodes with b64decode)'}


def _override_user_metadata_value(schema: dict) -> None:
    # openapi.json says `value` is an array of numbers (a byte vector). On the wire it is a base64
    # string: rest/fs.py get_user_metadata does base64.b64decode(response['value']) and
    # list_user_metadata does the same for each entry; set_user_metadata sends b64encode(...).
    props = schema.get('properties', {})
    if 'value' in props:
        props['value'] = dict(_B64_STRING)
    entries = props.get('entries')
    if entries and 'items' in entries:
        entries['items'].setdefault('properties', {})['value'] = dict(_B64_STRING)


# The extraction lost OpenAPI's `nullable`. A property may be null when its own description says so
# ("... or null if ...") or when it is listed here with the reason.
_NULLABLE_FIELDS = {
    # who-am-i: a local user such as admin has no home directory; Qumulo answers null rather than
    # a path, and qq only prints the object, so null is accepted.
    'home_directory',
}
_NULL_RE = re.compile(r'\bnull\b', re.I)


def _allow_documented_nulls(schema: Any) -> None:
    if isinstance(schema, dict):
        for name, prop in (schema.get('properties') or {}).items():
            if isinstance(prop, dict) and 'type' in prop and (
                    name in _NULLABLE_FIELDS or _NULL_RE.search(prop.get('description') or '')):
                t = prop['type']
                prop['type'] = (t if isinstance(t, list) else [t]) + ['null']
                if 'enum' in prop:
                    prop['enum'] = list(prop['enum']) + [None]
        for v in schema.values():
            _allow_documented_nulls(v)
    elif isinstance(schema, list):
        for v in schema:
            _allow_documented_nulls(v)


_OVERRIDES = {
    ('get', '/v1/files/{ref}/user-metadata/'): _override_user_metadata_value,
    ('get', '/v1/files/{ref}/user-metadata/{type}/'): _override_user_metadata_value,
    ('get', '/v1/files/{ref}/user-metadata/{type}/{key}'): _override_user_metadata_value,
}


# --- Path template matching ----------------------------------------------------------------------

def _segments(path: str) -> list[str]:
    path = urlsplit(path).path if ('?' in path or '#' in path) else path
    segs = path.split('/')
    # Leading '' from the absolute path, and trailing '' from a trailing slash: tolerate both.
    if segs and segs[0] == '':
        segs = segs[1:]
    if segs and segs[-1] == '':
        segs = segs[:-1]
    return segs


def _is_param(seg: str) -> bool:
    return seg.startswith('{') and seg.endswith('}')


@functools.lru_cache(maxsize=1)
def _templates() -> list[tuple[str, list[str]]]:
    return [(t, _segments(t)) for t in _document()['paths']]


def match_template(method: str, path: str) -> Optional[str]:
    """Return the openapi path template that `path` (raw, percent-encoded) matches for `method`.

    When several templates match (e.g. `/v1/files/resolve` and `/v1/files/{ref}`), the one with
    the most literal segments wins, then the one whose first parameter comes latest.
    """
    method = method.lower()
    segs = _segments(path)
    best = None
    best_key = None
    for template, tsegs in _templates():
        if len(tsegs) != len(segs):
            continue
        ok = True
        for t, s in zip(tsegs, segs):
            if _is_param(t):
                if s == '':
                    ok = False
                    break
            elif t != s:
                ok = False
                break
        if not ok:
            continue
        if method not in _document()['paths'][template]:
            continue
        literals = sum(1 for t in tsegs if not _is_param(t))
        first_param = next((i for i, t in enumerate(tsegs) if _is_param(t)), len(tsegs))
        key = (literals, first_param)
        if best_key is None or key > best_key:
            best, best_key = template, key
    return best


def response_schema(method: str, template: str, status: int) -> Optional[dict]:
    """The JSON schema for (method, template, status); falls back to the 200 schema."""
    op = _document()['paths'][template][method.lower()]
    responses = op.get('responses', {})
    resp = responses.get(str(status)) or responses.get('200') or {}
    schema = resp.get('content', {}).get('application/json', {}).get('schema')
    if schema is None:
        return None
    schema = copy.deepcopy(schema)
    _allow_documented_nulls(schema)
    override = _OVERRIDES.get((method.lower(), template))
    if override:
        override(schema)
    return schema


@functools.lru_cache(maxsize=None)
def _validator(method: str, template: str, status: int) -> Optional[jsonschema.Draft7Validator]:
    schema = response_schema(method, template, status)
    return None if schema is None else jsonschema.Draft7Validator(schema)


def validate_error_body(status: int, body: Any, where: str = '') -> None:
    if not isinstance(body, dict):
        raise SchemaError(f'{where}: error body for HTTP {status} is not a JSON object: {body!r}')
    for field in ('error_class', 'description', 'module'):
        if not isinstance(body.get(field), str):
            raise SchemaError(
                f'{where}: error body for HTTP {status} lacks a string {field!r}: {body!r}'
            )


def _format_error(e: jsonschema.ValidationError) -> str:
    loc = '/'.join(str(p) for p in e.absolute_path) or '<root>'
    return f'at {loc}: {e.message}'


def validate_with_template(method: str, template: str, status: int, body: Any,
                           where: str = '') -> None:
    where = where or f'{method.upper()} {template} -> {status}'
    if status >= 400:
        validate_error_body(status, body, where)
        return
    validator = _validator(method.lower(), template, status)
    if validator is None:
        return
    errors = sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))
    if errors:
        msgs = '\n  '.join(_format_error(e) for e in errors[:10])
        raise SchemaError(
            f'{where}: response does not match openapi schema of {method.upper()} {template}:\n'
            f'  {msgs}\nbody: {json.dumps(body)[:2000]}'
        )


# Paths that qq calls but openapi.json does not describe; their bodies are checked only for being
# JSON (and error bodies for their shape).
UNDESCRIBED: set[tuple[str, str]] = set()


def validate_response(method: str, path: str, status: int, body: Any) -> Optional[str]:
    """Validate one response. Returns the matched template (None if openapi.json has none)."""
    where = f'{method.upper()} {path} -> {status}'
    template = match_template(method, path)
    if template is None:
        UNDESCRIBED.add((method.upper(), urlsplit(path).path))
        if status >= 400:
            validate_error_body(status, body, where)
        return None
    validate_with_template(method, template, status, body, where)
    return template
