"""Every form the project posts to, fuzzed: each field replaced by random unicode (NUL bytes
included), 100,000-character strings, numbers negative, huge, fractional or not numbers at all,
several values where one is expected, files where text is expected and text where a file is
(files of the wrong kind, cut short, empty); fields left out, fields nobody asked for; sent as a
multipart form, urlencoded, JSON or bytes that are none of them, with and without htmx.

Each form is sent as a role allowed to use it, starting from valid data so that hostile values
reach the services too, and as an anonymous visitor. Whatever comes, the answer is never a 500;
a refusal (4xx) writes nothing, not even an audit entry; an anonymous visitor writes nothing at
all.
"""

import csv
import datetime
import io
import json

from django.db import transaction
from django.test import Client
from django.urls import reverse
from hypothesis import example, given
from hypothesis import strategies as st

from accounts import access
from accounts.access import (
    ANONYMOUS,
    COFUNDER_STAFF,
    CYCLE_ADMIN,
    MINISTRY_STAFF,
    POLLING_OFFICER,
    RESIDENT_A,
    RESIDENT_B,
    SPOKESPERSON_A_EXECUTIVE,
    SPOKESPERSON_A_FINANCE,
    SPOKESPERSON_A_SOCIAL_OVERSIGHT,
)
from urncrypto import dkg

from ..builders import PASSWORD, tiny_pdf
from ..builders.access import probes
from . import fuzz
from .fuzz import Upload, png

TODAY = datetime.date.today().isoformat()
PDF = Upload("acta.pdf", tiny_pdf(), "application/pdf")
PHOTO = Upload("foto.png", png(), "image/png")


def _client(world, role) -> Client:
    client = Client()
    if role != ANONYMOUS:
        client.force_login(world["people"][role])
    return client


def _fuzz_as(world, name, role, base, *, url=None, **options):
    """Fuzz one form as ``role`` (an allowed one), then as an anonymous visitor."""
    assert role in access.allowed_roles(name), f"{role} may not use {name}"
    url = url or _probes(world)[name][1]
    fuzz.fuzz(_client(world, role), name, "post", url, base, **options)
    if ANONYMOUS not in access.allowed_roles(name):
        anonymous_writes_nothing(world, name, url, fuzz.form(base, files=options.get("files", ())))


def _probes(world):
    """The walk's probes, made once per world."""
    if "_probes" not in world:
        world["_probes"] = probes(world)
    return world["_probes"]


def anonymous_writes_nothing(world, name, url, data):
    client = _client(world, ANONYMOUS)
    before = fuzz.fingerprint()

    @fuzz.run_settings(fuzz.FEW)
    @given(fields=data)
    def one(fields):
        with fuzz.rolled_back(client):
            response = fuzz.send(client, "post", url, fields)
            fuzz.check(response, name=f"{name} (anonymous)", before=before, read_only=True)
            assert response.status_code in (302, 403, 404, 405, 413), name

    one()


def test_the_net_catches_a_write_an_insert_an_update_and_nothing_else(world):
    """The check every test here leans on: a row added or changed inside an example is seen, a
    write a savepoint undid is not."""
    import audit
    from accounts.models import User

    before = fuzz.fingerprint()
    client = Client()
    with fuzz.rolled_back(client):
        audit.record(actor=None, action="test.write", object_type="test")
        assert fuzz.wrote(before) == ["audit_auditentry"]
    with fuzz.rolled_back(client):
        User.objects.filter(email="resident.a@example.org").update(is_active=False)
        assert fuzz.wrote(before) == ["accounts_user"]
    with fuzz.rolled_back(client):
        with transaction.atomic():
            User.objects.filter(email="resident.a@example.org").update(is_active=False)
            transaction.set_rollback(True)
        assert fuzz.wrote(before) == []
    assert fuzz.fingerprint() == before


def test_the_public_and_the_residents_forms_refuse_hostile_input(world):
    people = world["people"]
    _fuzz_as(world, "set_language", ANONYMOUS, {"language": "es", "next": "/"})
    _fuzz_as(world, "accounts:voting-notice", RESIDENT_A, {"enabled": "on"})
    _fuzz_as(world, "voting:where-to-vote", ANONYMOUS, {"cedula": "V-10000001"})
    # Someone who signed up and claims a census record.
    claimant = world["claim"].user
    client = Client()
    client.force_login(claimant)
    fuzz.fuzz(
        client,
        "communes:my-participation",
        "post",
        reverse("communes:my-participation"),
        {"cedula": "V-10000001", "birth_date": "1990-04-02"},
    )
    _fuzz_as(
        world,
        "communes:claim-decide",
        SPOKESPERSON_A_EXECUTIVE,
        {"decision": "reject", "reason": "No vive aquí"},
    )
    assert people  # the world's people were used above


def test_the_cycle_admins_forms_refuse_hostile_input(world):
    draft = world["round"]
    rnd = draft.pk
    _fuzz_as(
        world,
        "cycle:round-list",
        CYCLE_ADMIN,
        {},
        url=reverse("cycle:round-list"),
        examples=fuzz.FEW,
    )
    _fuzz_as(
        world,
        "cycle:round-edit",
        CYCLE_ADMIN,
        {
            "name": draft.name,
            "assemblies_open_at": "2031-01-10T08:00",
            "validation_opens_at": "2031-02-10T08:00",
            "voting_opens_at": "2031-03-01T07:00",
            "voting_closes_at": "2031-03-01T18:00",
            "tally_deadline_at": "2031-03-04T18:00",
            "min_age": "15",
            "max_age": "",
            "max_options": "7",
            "winners_per_commune": "1",
            "funder_rank_1": "national",
            "amount_usd": "10000",
            "tie_break": draft.tie_break,
            "counting_rule": draft.counting_rule,
            "commune_budget_usd": "",
            "award_youth_communes": "0",
            "channels": draft.channels,
            "voting_hours_start": "07:00",
            "voting_hours_end": "18:00",
            "min_turnout_percent": "0",
            "quorum_first_call_percent": "10",
        },
        url=reverse("cycle:round-edit", args=[rnd]),
    )
    _fuzz_as(world, "cycle:round-schedule", CYCLE_ADMIN, {}, examples=fuzz.FEW)
    _fuzz_as(
        world,
        "cycle:round-exclude",
        CYCLE_ADMIN,
        {"commune": world["claim"].resident.council.commune.code, "reason": "Prueba"},
    )
    for action in ("cancel", "advance"):
        _fuzz_as(
            world,
            "cycle:round-move",
            CYCLE_ADMIN,
            {"reason": "Por prueba"},
            url=reverse("cycle:round-move", args=[rnd, action]),
            examples=fuzz.FEW,
        )
    _fuzz_as(
        world,
        "cycle:commissioner-appoint",
        CYCLE_ADMIN,
        {"email": "ministry@example.org", "index": "3"},
    )
    _fuzz_as(world, "cycle:commissioner-remove", CYCLE_ADMIN, {}, examples=fuzz.FEW)


def test_the_commissioners_uploads_refuse_hostile_input(world):
    """Issue 14: a commissioner's files, whatever they hold, never make a 500 and a refused one
    writes nothing."""
    keys = dkg.commissioner_keygen(1).public().to_json()
    for what, document in (("keys", keys), ("contribution", {"dealer": 1}), ("share", {})):
        _fuzz_as(
            world,
            "cycle:commissioner-upload",
            RESIDENT_B,
            {
                "what": what,
                "file": Upload("f.json", json.dumps(document).encode(), "application/json"),
            },
            files=("file",),
            examples=fuzz.FEW,
        )


def test_the_spokespeoples_assembly_and_proposal_forms_refuse_hostile_input(world):
    open_round = world["open_round"]
    project = open_round["project"]
    council = world["claim"].resident.council
    _fuzz_as(
        world,
        "consultations:assembly-create",
        SPOKESPERSON_A_EXECUTIVE,
        {
            "held_on": TODAY,
            "place": "Casa comunal",
            "councils": [str(council.pk)],
            "call": "first",
            "attendance": "30",
            "attendee_cedulas": "V-10000001\nV-11000000",
            "minutes": PDF,
        },
        files=("minutes",),
    )
    _fuzz_as(world, "consultations:problem-add", SPOKESPERSON_A_EXECUTIVE, {"title": "Vías"})
    _fuzz_as(world, "consultations:problem-move", SPOKESPERSON_A_EXECUTIVE, {"direction": "down"})
    _fuzz_as(world, "consultations:project-create", SPOKESPERSON_A_EXECUTIVE, {"title": "Otra"})
    _fuzz_as(
        world,
        "consultations:project-edit",
        SPOKESPERSON_A_EXECUTIVE,
        {
            "version": str(project.version),
            "title": "Tubería nueva",
            "description": "Cambiar la tubería del sector",
            "category": "water",
            "estimated_cost_usd": "9500.50",
            "problem": str(open_round["problem"].pk),
            "action": "submit",
        },
    )
    _fuzz_as(world, "consultations:project-withdraw", SPOKESPERSON_A_EXECUTIVE, {})
    _fuzz_as(
        world,
        "consultations:project-photo-add",
        SPOKESPERSON_A_EXECUTIVE,
        {"photo": PHOTO},
        files=("photo",),
    )
    _fuzz_as(
        world,
        "consultations:project-decide",
        MINISTRY_STAFF,
        {"decision": "reject", "note": "Falta el presupuesto"},
    )


def test_the_vote_and_the_tables_forms_refuse_hostile_input(world):
    voting = world["voting_round"]
    tables = world["tables"]
    projects = list(voting.projects.filter(status="approved").order_by("pk"))
    _fuzz_as(
        world,
        "voting:ballot",
        RESIDENT_A,
        {"project": str(projects[0].pk)},
        url=reverse("voting:ballot", args=[voting.pk]),
    )
    _fuzz_as(world, "voting:vote-confirm", RESIDENT_A, {"project": str(projects[0].pk)})
    _fuzz_as(
        world,
        "voting:table-mark",
        POLLING_OFFICER,
        {
            "cedula": "V-10000001",
            "mark_id": "6f1c1d52-7f6a-4f53-9a57-0c1f3b1e2d4a",
            "marked_at": "2030-04-01T10:00:00",
        },
        json_client=True,  # the page's offline queue
    )
    sheet_lines = {f"project_{p.pk}": "1" for p in projects}
    _fuzz_as(
        world,
        "voting:table-sheet",
        POLLING_OFFICER,
        {**sheet_lines, "blank": "0", "null": "0", "scan": PHOTO},
        files=("scan",),
    )
    _fuzz_as(
        world,
        "voting:sheet-review",
        MINISTRY_STAFF,
        {**sheet_lines, "decision": "typed", "reason": "Revisada", "blank": "0", "null": "0"},
        url=reverse("voting:sheet-review", args=[tables["sheet"].pk]),
    )
    _fuzz_as(
        world,
        "voting:round-tables",
        CYCLE_ADMIN,
        {"table": "C-A-2", "email": "officer@example.org"},
        url=reverse("voting:round-tables", args=[voting.pk]),
    )
    _fuzz_as(
        world,
        "voting:tables-import",
        CYCLE_ADMIN,
        {
            "kind": "centres",
            "file": Upload(
                "centros.csv",
                b"code,name,parish_code\nC-B,Liceo B,010101\n",
                "text/csv",
            ),
            "skip_invalid": "on",
        },
        files=("file",),
    )
    _fuzz_as(world, "voting:officer-unassign", CYCLE_ADMIN, {}, examples=fuzz.FEW)
    _csv_rows_of_hostile_cells(world)


def _csv_rows_of_hostile_cells(world):
    """The tables' import with a right header and rows of hostile cells: each row is refused
    with its line's message, or the file is imported; never a 500."""
    client = _client(world, CYCLE_ADMIN)
    url = _probes(world)["voting:tables-import"][1]
    commune = world["claim"].resident.council.commune.code
    headers = {
        "centres": ["code", "name", "parish_code", "address"],
        "tables": ["centre_code", "number", "commune_code"],
    }
    cell = st.one_of(
        st.sampled_from(fuzz.NASTY),
        fuzz.any_text,
        st.sampled_from(["C-A", "C-B", "010101", commune, "1", "999", "1000", "x" * 301]),
    )
    before = fuzz.fingerprint()

    @fuzz.run_settings(fuzz.EXAMPLES)
    @given(
        kind=st.sampled_from(sorted(headers)),
        rows=st.lists(st.lists(cell, min_size=2, max_size=5), min_size=1, max_size=4),
        skip_invalid=st.booleans(),
    )
    # Rows valid but for a NUL byte in a column that is only stored, never looked up.
    @example(kind="centres", rows=[["C-B", "Liceo\x00B", "010101", ""]], skip_invalid=False)
    @example(kind="centres", rows=[["C-B", "Liceo B", "010101", "\x00"]], skip_invalid=True)
    def one(kind, rows, skip_invalid):
        lines = io.StringIO()
        writer = csv.writer(lines)
        writer.writerow(headers[kind])
        writer.writerows(rows)
        data = {
            "kind": kind,
            "file": Upload("mesas.csv", lines.getvalue().encode(), "text/csv"),
            **({"skip_invalid": "on"} if skip_invalid else {}),
        }
        with fuzz.rolled_back(client):
            response = fuzz.send(client, "post", url, data)
            fuzz.check(response, name="voting:tables-import (rows)", before=before)

    one()


def test_the_money_forms_refuse_hostile_input(world):
    from funding import services

    money = world["money"]
    people = world["people"]
    # A request approved and waiting for its transfer, so that the transfer's form reaches its
    # service.
    approved = services.disbursement_request(
        allocation=money["allocation"],
        amount="200",
        purpose="Bloques",
        by=people[SPOKESPERSON_A_FINANCE],
    )
    services.disbursement_approve(disbursement=approved, by=people[MINISTRY_STAFF])
    _fuzz_as(
        world,
        "funding:disbursement-request",
        SPOKESPERSON_A_FINANCE,
        {"allocation": str(money["allocation"].pk), "amount": "100", "purpose": "Arena"},
    )
    _fuzz_as(
        world,
        "funding:receipt-add",
        SPOKESPERSON_A_FINANCE,
        {
            "file": PDF,
            "supplier": "Ferretería",
            "spent_on": TODAY,
            "amount": "10",
            "category": "materials",
        },
        files=("file",),
    )
    _fuzz_as(
        world,
        "funding:progress-add",
        SPOKESPERSON_A_FINANCE,
        {
            "percent": "50",
            "status": "in_progress",
            "text": "Avanza",
            "stalled_reason": "",
            "photos": [PHOTO, PHOTO],
        },
        files=("photos",),
    )
    _fuzz_as(
        world,
        "funding:closing-report-submit",
        SPOKESPERSON_A_FINANCE,
        {"text": "Cierre", "assembly_held_on": TODAY, "minutes": PDF},
        files=("minutes",),
    )
    _fuzz_as(
        world,
        "funding:flag-raise",
        SPOKESPERSON_A_SOCIAL_OVERSIGHT,
        {"receipt": str(money["receipt"].pk), "comment": "Revisar"},
    )
    _fuzz_as(world, "funding:disbursement-approve", MINISTRY_STAFF, {}, examples=fuzz.FEW)
    _fuzz_as(world, "funding:disbursement-reject", MINISTRY_STAFF, {"reason": "No procede"})
    _fuzz_as(
        world,
        "funding:disbursement-transfer",
        MINISTRY_STAFF,
        {"transferred_on": TODAY, "bank_reference": "REF-2", "rate_ves_per_usd": "36.5"},
        url=reverse("funding:disbursement-transfer", args=[approved.pk]),
    )
    _fuzz_as(world, "funding:flag-answer", MINISTRY_STAFF, {"answer": "Revisado"})
    _fuzz_as(
        world,
        "funding:closing-report-decide",
        MINISTRY_STAFF,
        {"decision": "returned", "note": "Falta la foto"},
    )
    _fuzz_as(world, "funding:ledger-reverse", MINISTRY_STAFF, {"reason": "Error"})
    cofunder = people[COFUNDER_STAFF]
    assert cofunder  # the pledge form is fuzzed with a published round (test_pages.py)


def test_the_account_forms_refuse_hostile_input(world):
    """django-allauth's forms (sign in, sign up, password reset and change, email, two-step),
    fuzzed less: they are allauth's own, well tried; what is ours is how they are wired."""
    anonymous = {
        "account_login": {"login": "resident.a@example.org", "password": PASSWORD},
        "account_signup": {
            "email": "nueva@example.org",
            "password1": "una-clave-larga-9",
            "password2": "una-clave-larga-9",
        },
        "account_reset_password": {"email": "resident.a@example.org"},
    }
    signed_in = {
        "account_change_password": {
            "oldpassword": PASSWORD,
            "password1": "otra-clave-larga-9",
            "password2": "otra-clave-larga-9",
        },
        "account_email": {"email": "otra@example.org", "action_add": ""},
        "account_reauthenticate": {"password": PASSWORD},
        "mfa_activate_totp": {"code": "123456"},
    }
    for role, forms in ((ANONYMOUS, anonymous), (RESIDENT_A, signed_in)):
        client = _client(world, role)
        for name, base in forms.items():
            fuzz.fuzz(client, name, "post", reverse(name), base, examples=fuzz.FEW)


def test_the_probes_cover_every_form_of_ours(world):
    """A new POST endpoint must be added to the fuzzing above (this lists the walk's)."""
    posted = {name for name, (method, _url, _data) in probes(world).items() if method == "post"}
    fuzzed = {
        "set_language",
        "accounts:voting-notice",
        "voting:where-to-vote",
        "communes:claim-decide",
        "cycle:round-schedule",
        "cycle:round-exclude",
        "cycle:commissioner-appoint",
        "cycle:commissioner-remove",
        "cycle:commissioner-upload",
        "consultations:assembly-create",
        "consultations:problem-add",
        "consultations:problem-move",
        "consultations:project-create",
        "consultations:project-withdraw",
        "consultations:project-photo-add",
        "consultations:project-decide",
        "voting:vote-confirm",
        "voting:table-mark",
        "voting:table-sheet",
        "voting:tables-import",
        "voting:officer-unassign",
        "funding:disbursement-request",
        "funding:receipt-add",
        "funding:progress-add",
        "funding:closing-report-submit",
        "funding:flag-raise",
        "funding:disbursement-approve",
        "funding:disbursement-reject",
        "funding:disbursement-transfer",
        "funding:flag-answer",
        "funding:closing-report-decide",
        "funding:ledger-reverse",
    }
    assert posted - fuzzed == set()
