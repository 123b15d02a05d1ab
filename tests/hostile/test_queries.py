"""Every page read with hostile query strings and hostile addresses: filters, searches, the
officer's cédula lookup, the receipt check, the results' and the money tracker's filters, the
pages' page numbers, the CSV and JSON downloads (with hostile conditional headers too), and the
codes and numbers inside the addresses themselves. Never a 500; nothing is ever written.
"""

from urllib.parse import quote

from django.test import Client
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from accounts import access
from accounts.access import (
    ANONYMOUS,
    COFUNDER_STAFF,
    CYCLE_ADMIN,
    MINISTRY_STAFF,
    POLLING_OFFICER,
    SPOKESPERSON_A_EXECUTIVE,
)

from ..builders.access import probes
from . import fuzz


def _client(user=None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def _reads(client, name, url, base, *, examples=fuzz.EXAMPLES):
    """GET ``url`` with hostile query strings built from ``base``; nothing may change."""
    fuzz.fuzz(client, name, "get", url, base, examples=examples)


def _first_allowed(name):
    roles = access.allowed_roles(name)
    return ANONYMOUS if ANONYMOUS in roles else sorted(roles)[0]


def test_filters_searches_and_lookups_refuse_hostile_queries(world):
    people = world["people"]
    walked = probes(world)
    searched = {
        "communes:directory": (
            ANONYMOUS,
            {
                "q": "Lídice",
                "state": "01",
                "municipality": "0101",
                "kind": "commune",
                "per_page": "20",
                "page": "1",
            },
        ),
        "communes:claims-queue": (SPOKESPERSON_A_EXECUTIVE, {"page": "1"}),
        "cycle:round-detail": (CYCLE_ADMIN, {"page": "1"}),
        "consultations:validation-queue": (
            MINISTRY_STAFF,
            {
                "state": "01",
                "municipality": "0101",
                "category": "water",
                "status": "submitted",
                "page": "1",
            },
        ),
        "voting:table": (POLLING_OFFICER, {"cedula": "V-10000001"}),
        "voting:sheet-queue": (MINISTRY_STAFF, {"page": "1", "conflicts": "1"}),
        "voting:round-tables": (CYCLE_ADMIN, {"q": "C-A", "page": "1"}),
        "funding:payments": (MINISTRY_STAFF, {"page": "1", "approved": "1"}),
        "funding:oversight": (MINISTRY_STAFF, {"page": "1"}),
        "funding:pledge": (COFUNDER_STAFF, {"q": "Lídice", "project": "1", "page": "1"}),
    }
    for name, (role, base) in searched.items():
        assert role in access.allowed_roles(name), name
        _reads(_client(people[role] if role != ANONYMOUS else None), name, walked[name][1], base)
    # Every other page of ours (and allauth's), with query strings nobody expects.
    for name, (method, url, _data) in walked.items():
        if method != "get" or name in searched or name.startswith("admin:"):
            continue
        role = _first_allowed(name)
        client = _client(people[role] if role != ANONYMOUS else None)
        _reads(client, name, url, {}, examples=fuzz.FEW)
    _numbers_beyond_any_database_integer(world)


def test_the_public_pages_of_a_published_round_refuse_hostile_queries(funded, agua, carlos):
    pk = funded.pk
    anonymous = _client()
    _reads(
        anonymous,
        "voting:receipt-check",
        reverse("voting:receipt-check", args=[pk]),
        {"codigo": "ABCD-EFGH-IJKL-MNOP"},
    )
    _reads(
        anonymous,
        "funding:money-round",
        reverse("funding:money-round", args=[pk]),
        {"estado": "01", "financista": "1"},
    )
    _reads(
        _client(carlos),
        "funding:pledge",
        reverse("funding:pledge"),
        {"q": agua.commune.code, "project": str(agua.pk), "page": "1"},
    )
    # The pledge form itself, now that there is a ranked project to pledge to.
    from funding.models import FundingSource

    source = FundingSource.objects.get(staff=carlos)
    fuzz.fuzz(
        _client(carlos),
        "funding:pledge",
        "post",
        f"{reverse('funding:pledge')}?project={agua.pk}",
        {"project": str(agua.pk), "source": str(source.pk), "amount": "500", "reason": "Apoyo"},
    )
    commune = agua.commune
    for name, args in [
        ("voting:results-round", [pk]),
        ("voting:results-state", [pk, "01"]),
        ("voting:results-municipality", [pk, "0101"]),
        ("voting:results-commune", [pk, commune.code]),
        ("voting:urn-receipts", [pk, commune.code]),
        ("funding:money-project", [agua.pk]),
    ]:
        _reads(anonymous, name, reverse(name, args=args), {}, examples=fuzz.FEW)
    _downloads(funded)


def _as_header(headers: dict) -> dict:
    """Header values as a WSGI server passes them: bytes read as Latin-1."""
    return {k: v.encode("utf-8", "replace").decode("latin-1") for k, v in headers.items()}


conditional = st.fixed_dictionaries(
    {},
    optional={
        "If-None-Match": st.one_of(
            st.sampled_from(['"x"', "*", "W/", '"' * 50, ""]), fuzz.any_text
        ),
        "If-Modified-Since": st.one_of(
            st.sampled_from(["Tue, 15 Nov 1994 08:12:31 GMT", "yesterday", "-1", "9" * 40]),
            fuzz.any_text,
        ),
        "Range": st.sampled_from(["bytes=0-10", "bytes=-1", "bytes=999999999-", "lines=1-2"]),
    },
).map(_as_header)


def _downloads(funded):
    """CSV and JSON downloads, with conditional headers (the results' ETag) of every kind."""
    client = _client()
    before = fuzz.fingerprint()
    names = [
        "voting:results-projects-csv",
        "voting:results-projects-json",
        "voting:results-communes-csv",
        "voting:results-communes-json",
        "voting:results-tables-csv",
        "voting:results-tables-json",
        "funding:money-round-csv",
        "funding:money-round-json",
    ]

    @fuzz.run_settings(fuzz.EXAMPLES)
    @given(name=st.sampled_from(names), headers=conditional, query=fuzz.extras)
    def one(name, headers, query):
        with fuzz.rolled_back(client):
            url = reverse(name, args=[funded.pk])
            response = fuzz.send(client, "get", url, query, extra=headers)
            fuzz.check(response, name=name, before=before, read_only=True)
            assert response.status_code in (200, 304, 400), name

    one()


# Codes and numbers inside the addresses --------------------------------------------------------

segment = st.one_of(
    st.sampled_from(fuzz.NASTY),
    fuzz.any_text,
    st.sampled_from(["9" * 30, "-1", "0", "%2e%2e", "..", "COM-0101-901\x00", "x" * 3000]),
)


def test_codes_and_numbers_in_addresses_are_refused_cleanly(funded, world):
    """Every address with a code or a number in it, that code replaced: a 404 at worst."""
    people = world["people"]
    pk = funded.pk
    commune = world["claim"].resident.council.commune.code
    live = world["open_round"]["consultation"].pk
    addresses = [
        (ANONYMOUS, "communes:detail", lambda c: [c]),
        (ANONYMOUS, "consultations:commune-round", lambda c: [c, live]),
        (ANONYMOUS, "voting:results-state", lambda c: [pk, c]),
        (ANONYMOUS, "voting:results-municipality", lambda c: [pk, c]),
        (ANONYMOUS, "voting:results-commune", lambda c: [pk, c]),
        (ANONYMOUS, "voting:urn-receipts", lambda c: [pk, c]),
        (SPOKESPERSON_A_EXECUTIVE, "funding:commune-money", lambda c: [c]),
        (CYCLE_ADMIN, "cycle:round-move", lambda c: [live, c]),
    ]
    for role, name, args in addresses:
        client = _client(people[role] if role != ANONYMOUS else None)
        # The address with a placeholder that the hostile code replaces (already %-encoded).
        template = reverse(name, args=args("PLACEHOLDER"))

        _addresses(client, name, template)
    _ = commune


def _numbers_beyond_any_database_integer(world):
    """Numbers beyond any database integer, in every address that takes one: a 404."""
    client = _client(world["people"][CYCLE_ADMIN])
    before = fuzz.fingerprint()
    for name, (method, url, _data) in probes(world).items():
        if name.startswith("admin:"):
            continue
        for number in ("9" * 25, "9223372036854775808", "0"):
            huge = _with_number(url, number)
            if huge is None:
                continue
            with fuzz.rolled_back(client):
                response = getattr(client, method)(huge)
                fuzz.check(response, name=f"{name} {number}", before=before)


def _addresses(client, name, template):
    before = fuzz.fingerprint()

    @fuzz.run_settings(fuzz.EXAMPLES)
    @given(code=segment)
    def one(code):
        with fuzz.rolled_back(client):
            url = template.replace("PLACEHOLDER", quote(code, safe=""))
            response = client.get(url)
            fuzz.check(response, name=name, before=before, read_only=True)

    one()


def _with_number(url: str, number: str) -> str | None:
    """The address with its first number replaced, or None when it has none."""
    import re

    replaced, count = re.subn(r"/\d+(?=[/.])", f"/{number}", url, count=1)
    return replaced if count else None
