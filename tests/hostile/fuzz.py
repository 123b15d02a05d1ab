"""What the hostile-input tests share: hostile values, requests built from them, and the check
that a request never fails with a 500 and, when refused, leaves the database exactly as it was.

Each generated request runs inside a savepoint that is rolled back afterwards, so every example
starts from the same database (the world is built once per test, not once per example) and a
refused request can be compared with that one fingerprint, taken once.
"""

import copy
import io
import json
import os
import re
import time
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urlencode

from django.core.cache import cache
from django.db import connection, transaction
from hypothesis import HealthCheck, Phase, given, note, settings
from hypothesis import strategies as st
from PIL import Image

from ..builders import close_response, tiny_pdf

# Answers a request may get. Anything else (a 500 above all) fails the test.
ACCEPTED_STATUSES = {200, 204, 301, 302, 303, 304, 400, 403, 404, 405, 409, 413, 422, 429}

# Few examples each: the suite walks ~60 endpoints and must stay well under a minute and a half.
EXAMPLES = 15
FEW = 3


def run_settings(examples: int = EXAMPLES):
    """Reproducible (derandomized, no example database left in the checkout) and bounded."""
    return settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        print_blob=False,
        phases=(Phase.explicit, Phase.generate, Phase.shrink),
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.large_base_example,
        ],
    )


# Hostile values --------------------------------------------------------------------------------

NASTY = [
    "",
    " ",
    "\x00",
    "V-1234\x005678",
    "\x00" * 64,
    "-1",
    "0",
    "-0",
    "1e309",
    "-1e309",
    "NaN",
    "nan",
    "inf",
    "-Infinity",
    "9" * 30,
    "-" + "9" * 30,
    "9" * 5000,  # more digits than Python's int() reads by default
    "3.5",
    "0.001",
    "1,5",
    "1.500,00",
    "1_000",
    "0x1F",
    "١٢٣٤٥٦٧٨",  # Arabic-Indic digits: int() reads them
    "\uff11\uff12\uff13\uff14\uff15\uff16\uff17\uff18",  # fullwidth digits
    "²³",
    "2024-02-30",
    "0000-00-00",
    "9999-12-31",
    "99999-01-01",
    "-2024-01-01",
    "2024-13-45T25:61:61",
    "2024-01-01T00:00:00+99:00",
    "1970-01-01T00:00:00Z",
    "V-",
    "V-0",
    "V-999999999999",
    "E-12345678",
    "v12.345.678",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "../../etc/passwd",
    "%00",
    "%",
    "\\",
    "\r\n\r\n",
    "\u202e",  # right-to-left override
    "\ufeff",
    "\u200b\u200d",
    "\U0001d54d-\uff11\uff12\uff13\uff14\uff15\uff16\uff17",  # a double-struck V
    "🙂" * 10,
    "true",
    "None",
    "null",
    "[]",
    '{"a": 1}',
]

# Random unicode (every plane, controls and NUL included; hypothesis leaves out lone surrogates,
# which cannot be sent as UTF-8 anyway).
any_text = st.text(max_size=40)
# 100,000 characters of one kind: ASCII, a two-byte letter, NUL, an emoji, digits.
huge_text = st.sampled_from(["x", "é", "\x00", "🙂", "9", "<"]).map(lambda c: c * 100_000)
numbers = st.one_of(
    st.integers(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
).map(str)
# One draw in eight is a huge string: each is slow to send and to render back in a page.
scalar = st.one_of(
    st.sampled_from(NASTY),
    any_text,
    numbers,
    st.sampled_from(NASTY),
    any_text,
    numbers,
    any_text,
    huge_text,
)


@dataclass(frozen=True)
class Upload:
    """A file to send, under any name (``multipart`` writes it into the body by hand)."""

    name: str
    content: bytes
    content_type: str = "application/octet-stream"


def png(width=8, height=8) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (10, 120, 10)).save(out, "PNG")
    return out.getvalue()


def _file_contents():
    good_png = png()
    return st.one_of(
        st.sampled_from(
            [
                b"",
                tiny_pdf(),
                good_png,
                b"%PDF-1.4\n",  # a PDF header with no end
                b"%PDF-" + b"\x00" * 64 + b"%%EOF",
                b"\x89PNG\r\n\x1a\n" + b"\x00" * 40,  # a PNG signature over garbage
                b"\xff\xd8\xff" + b"\x00" * 40,
                good_png[:40],  # a PNG cut short
                b"MZ\x90\x00",  # a Windows program
                b"PK\x03\x04" + b"\x00" * 26,  # a zip
                b"GIF89a\x01\x00\x01\x00",
                b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>",
                "código;nombre\nC-1;Escuela\n".encode("latin-1"),
            ]
        ),
        st.binary(max_size=64),
        st.binary(max_size=16).map(lambda tail: good_png[:33] + tail),
    )


uploads = st.builds(
    Upload,
    name=st.one_of(
        st.sampled_from(["acta.pdf", "foto.png", "foto.jpg", "../../x.pdf", "a" * 300 + ".pdf"]),
        any_text,
    ),
    content=_file_contents(),
    content_type=st.sampled_from(
        ["application/pdf", "image/png", "image/jpeg", "text/csv", "application/octet-stream"]
    ),
)


def value():
    """What one form field may be sent as: a hostile scalar, several values, or a file."""
    return st.one_of(
        scalar,
        scalar,
        scalar,
        st.lists(scalar, min_size=2, max_size=3),
        uploads,
    )


def file_value():
    """What a file field may be sent as: a hostile file, several, or plain text."""
    return st.one_of(uploads, uploads, st.lists(uploads, min_size=2, max_size=6), scalar)


extras = st.dictionaries(
    st.one_of(st.sampled_from(["id", "pk", "csrfmiddlewaretoken", "__proto__", "a[b]"]), any_text),
    value(),
    max_size=3,
)


def form(base: dict, *, files=()):
    """A form's data: the valid ``base`` with any of its fields replaced by a hostile value or
    left out, plus a few fields nobody asked for."""
    fields = sorted({*base, *files})
    replaced = st.fixed_dictionaries(
        {},
        optional={name: (file_value() if name in files else value()) for name in fields},
    )
    dropped = st.sets(st.sampled_from(fields)) if fields else st.just(set())

    def build(changes, left_out, added):
        data = {name: field for name, field in base.items() if name not in left_out}
        data.update(changes)
        for name, field in added.items():
            data.setdefault(name, field)
        return data

    return st.builds(build, replaced, dropped, extras)


# How the data travels: a browser's multipart or urlencoded form, JSON, or bytes that are none of
# them; with or without htmx's header and a JSON Accept.
ENCODINGS = ["multipart", "multipart", "multipart", "urlencoded", "json", "garbage"]
headers = st.fixed_dictionaries(
    {},
    optional={
        "HX-Request": st.just("true"),
        "Accept": st.sampled_from(["application/json", "text/html", "*/*", "\x7f"]),
    },
)


# Sending ---------------------------------------------------------------------------------------


BOUNDARY = "hostile-boundary-7MA4YWxkTrZu0gW"


def _quoted(text: str) -> str:
    """A field or file name as browsers put it in a multipart header (HTML's form encoding)."""
    return text.replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")


def multipart(data: dict) -> bytes:
    """The body a browser would send for ``data``, by hand: a file may have any name, an empty
    one included (what a file input left empty sends), which Django's test client refuses."""
    parts = []
    for name, field in data.items():
        for item in field if isinstance(field, list) else [field]:
            if isinstance(item, Upload):
                head = (
                    f'Content-Disposition: form-data; name="{_quoted(name)}"; '
                    f'filename="{_quoted(item.name)}"\r\nContent-Type: {item.content_type}'
                )
                content = item.content
            else:
                head = f'Content-Disposition: form-data; name="{_quoted(name)}"'
                content = str(item).encode()
            parts.append(f"--{BOUNDARY}\r\n{head}\r\n\r\n".encode() + content + b"\r\n")
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


def _plain(data: dict) -> dict:
    """The data without files (urlencoded and JSON bodies cannot carry them)."""
    out = {}
    for name, field in data.items():
        if isinstance(field, Upload):
            out[name] = field.name
        elif isinstance(field, list):
            out[name] = [item.name if isinstance(item, Upload) else item for item in field]
        else:
            out[name] = field
    return out


def send(client, method: str, url: str, data: dict | None, *, encoding="multipart", extra=None):
    headers = dict(extra or {})
    if method == "get":
        return client.get(url, _plain(data or {}), headers=headers)
    data = data or {}
    if encoding == "multipart":
        return client.post(
            url, multipart(data), f"multipart/form-data; boundary={BOUNDARY}", headers=headers
        )
    if encoding == "urlencoded":
        body = urlencode(_plain(data), doseq=True)
        return client.post(
            url, body, content_type="application/x-www-form-urlencoded", headers=headers
        )
    if encoding == "json":
        return client.post(url, json.dumps(_plain(data)), "application/json", headers=headers)
    # Bytes that claim to be a multipart form with a boundary that never comes.
    return client.post(
        url,
        b"--nope\r\n\x00\xff" + repr(_plain(data)).encode()[:2000],
        content_type="multipart/form-data; boundary=xyz",
        headers=headers,
    )


# What the database holds -----------------------------------------------------------------------

# Rows every request may touch: the signed-in session (staff sessions slide their expiry).
UNWATCHED = {"django_session"}


def fingerprint() -> dict[str, str]:
    """Table name → a digest of its whole content (every row, every column)."""
    tables = sorted(set(connection.introspection.table_names()) - UNWATCHED)
    # Table names come from the database's own catalogue, not from any input.
    digest = "md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), ''))"
    parts = [
        f"SELECT {_literal(name)}, {digest} FROM {connection.ops.quote_name(name)} t"  # noqa: S608
        for name in tables
    ]
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts))
        return dict(cursor.fetchall())


def _literal(name: str) -> str:
    return "'" + name.replace("'", "''") + "'"


def changed_tables(before: dict[str, str]) -> list[str]:
    after = fingerprint()
    return sorted(name for name in after if after[name] != before.get(name))


def _touched() -> dict[str, int]:
    """Rows this transaction inserted, updated or deleted so far, by table (PostgreSQL's own
    count, cheap; savepoints included, even those rolled back)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, n_tup_ins + n_tup_upd + n_tup_del FROM pg_stat_xact_user_tables"
        )
        return dict(cursor.fetchall())


_example_start: dict[str, int] = {}


def wrote(before: dict[str, str]) -> list[str]:
    """The tables whose content differs from ``before`` (the fingerprint taken when the test
    began). PostgreSQL's counts say first whether this example touched any row at all; only then
    are the tables compared (a write undone by a savepoint touches rows but changes nothing)."""
    touched = _touched()
    if all(
        count == _example_start.get(name, 0)
        for name, count in touched.items()
        if name not in UNWATCHED
    ):
        return []
    return changed_tables(before)


@contextmanager
def rolled_back(client):
    """Run one example and undo it: its rows, the cache (rate-limit counters, cached sessions)
    and the client's cookies."""
    from voting.selectors import forget_rounds_in_voting

    saved = copy.deepcopy(client.cookies)
    cache.clear()
    forget_rounds_in_voting()
    try:
        with transaction.atomic():
            _example_start.clear()
            _example_start.update(_touched())
            yield
            transaction.set_rollback(True)
    finally:
        client.cookies = saved
        cache.clear()
        forget_rounds_in_voting()


def _debug(*words) -> None:
    """HOSTILE_DEBUG=<file>: append what each request got, to see what the examples reach."""
    path = os.environ.get("HOSTILE_DEBUG")
    if path:
        with open(path, "a") as out:
            print(*words, file=out)


def check(response, *, name: str, before: dict[str, str], read_only=False) -> None:
    """Never a 500 (nor any other surprise); a refusal changed nothing at all (nor did anything
    at all, when ``read_only``)."""
    if response.streaming:
        b"".join(response.streaming_content)
        close_response(response)
    _debug(name, response.status_code)
    assert response.status_code in ACCEPTED_STATUSES, f"{name}: answered {response.status_code}"
    if response.status_code >= 400 or read_only:
        changed = wrote(before)
        assert changed == [], f"{name}: answered {response.status_code} but wrote {changed}"


# Every field of every form also gets each of these, one field at a time, before the random
# examples: the kinds of hostile value that break code most often, tried everywhere.
CRITICAL = [
    "\x00",
    "9" * 30,
    "x" * 100_000,
    ["1", "2"],
    Upload("x.pdf", b"MZ\x90\x00"),  # a program where text is expected
]
CRITICAL_FILES = [
    Upload("", b""),  # what an empty file input sends
    Upload("acta.pdf", b"MZ\x90\x00"),  # a program named as a PDF
    [Upload("acta.pdf", b"%PDF-"), Upload("acta.pdf", b"%PDF-")],
    "\x00",
]


# A field whose valid value is a number or a date also gets these.
CRITICAL_NUMBERS = ["-1", "1e309", "NaN", "3.5"]
CRITICAL_DATES = [
    "2024-02-30",
    "0000-01-01",
    "2024-13-45T25:61:61",
    "9999-12-31T23:59:59-23:59",
]


def _criticals_for(name: str, field, files) -> list:
    if name in files:
        return CRITICAL_FILES
    extra = []
    if isinstance(field, str) and re.fullmatch(r"-?\d+(\.\d+)?", field):
        extra = CRITICAL_NUMBERS
    elif isinstance(field, str) and re.match(r"\d{4}-\d{2}-\d{2}", field):
        extra = CRITICAL_DATES
    return CRITICAL + extra


def sweep(base: dict, *, files=()) -> list[dict]:
    """``base`` with one field at a time replaced by each critical value, or left out."""
    variants = []
    for name in sorted({*base, *files}):
        variants.append({key: field for key, field in base.items() if key != name})
        for critical in _criticals_for(name, base.get(name), files):
            variants.append({**base, name: critical})
    return variants


def fuzz(
    client,
    name: str,
    method: str,
    url: str,
    base: dict,
    *,
    files=(),
    examples=EXAMPLES,
    json_client=False,
) -> None:
    """Send ``base`` swept field by field (``sweep``) and ``examples`` requests drawn from it
    (``form``), and check each; a read (GET) must write nothing whatever it answers. With
    ``json_client``, the sweep asks for JSON and a refused form must answer JSON."""
    read_only = method == "get"
    before = fingerprint()
    started = time.monotonic()
    asks = {"Accept": "application/json"} if json_client else {}
    for fields in sweep(base, files=files):
        with rolled_back(client):
            response = send(client, method, url, fields, extra=asks)
            check(response, name=f"{name} {_short(fields)}", before=before, read_only=read_only)
            if json_client and response.status_code in (409, 413, 422):
                assert response["Content-Type"] == "application/json", name
    encodings = ["query"] if method == "get" else ENCODINGS

    @run_settings(examples)
    @given(fields=form(base, files=files), encoding=st.sampled_from(encodings), extra=headers)
    def one(fields, encoding, extra):
        note(f"{name}: {method.upper()} {url} ({encoding}) {extra}")
        with rolled_back(client):
            response = send(client, method, url, fields, encoding=encoding, extra=extra)
            check(response, name=name, before=before, read_only=read_only)

    one()
    _debug("TIME", name, method, round(time.monotonic() - started, 2))


def _short(fields: dict) -> str:
    return repr({key: (repr(field)[:40]) for key, field in fields.items()})[:300]
