"""Plain builders the tests share: named people, places, rounds driven through the cycle, votes,
tables, money and small files. Fixtures live in the conftest.py files and call these; a test
module imports helpers from here (or from another module of this package), never from another
test module or a conftest (tests/test_project.py checks it)."""

import csv
import datetime
import gzip
import io
import json
from decimal import Decimal

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import TestCase
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from PIL import ExifTags, Image, PngImagePlugin

from accounts.models import StaffRole, User
from communes.models import Commune, Parish, Resident, Spokesperson
from consultations import services as consultations
from consultations.models import Assembly, Consultation, Project
from cycle import services as cycle
from funding import services as funding
from funding.models import Allocation
from urncrypto import ballot_encrypt
from voting import services as voting
from voting.models import Count, SealedBallot, VotingCentre, VotingTable
from voting.urn import round_key

# People ---------------------------------------------------------------------------------------

PASSWORD = "a-long-test-password-1"


def make_user(email: str, **extra) -> User:
    user = User.objects.create_user(email=email, password=PASSWORD, **extra)
    from allauth.account.models import EmailAddress

    EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    return user


def close_response(response) -> None:
    """Close a streamed response (its file) without the request_finished signal closing the test's
    database connection, as Django's test client does for the responses it closes itself."""
    from django.core.signals import request_finished
    from django.db import close_old_connections

    request_finished.disconnect(close_old_connections)
    try:
        response.close()
    finally:
        request_finished.connect(close_old_connections)


def give_totp(user) -> str:
    """Set up TOTP two-step verification for a user, as they would on the setup page."""
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    return secret


def make_staff(email: str, kind: str, state=None, *, totp: bool = True) -> User:
    user = make_user(email)
    StaffRole.objects.create(user=user, kind=kind, state=state)
    if totp:
        give_totp(user)
    return user


def make_commune(code: str, parish_code: str, name: str, **extra) -> Commune:
    return Commune.objects.create(
        code=code,
        name=name,
        parish=Parish.objects.get(code=parish_code),
        registered_on=datetime.date(2020, 5, 1),
        **extra,
    )


def make_resident(council, cedula: str, name: str, birth=datetime.date(1990, 4, 2), user=None):
    resident = Resident.objects.create(
        cedula=cedula, full_name=name, birth_date=birth, council=council
    )
    if user is not None:
        verifier = User.objects.filter(email="verifier@example.org").first() or make_user(
            "verifier@example.org"
        )
        Resident.objects.filter(pk=resident.pk).update(
            user=user,
            verification=Resident.Verification.VERIFIED,
            verified_by=verifier,
            verified_at=datetime.datetime(2026, 1, 5, tzinfo=datetime.UTC),
        )
        resident.refresh_from_db()
    return resident


def make_spokesperson(council, cedula, name, email, unit="executive"):
    user = make_user(email)
    resident = make_resident(council, cedula, name, user=user)
    Spokesperson.objects.create(
        resident=resident,
        commune=council.commune,
        unit=unit,
        term_start=datetime.date(2025, 1, 1),
        term_end=datetime.date(2028, 1, 1),
    )
    return user


# Rounds ---------------------------------------------------------------------------------------

# A Monday noon (UTC): 08:00 in Caracas. The standard round's dates are counted in hours from it.
NOW = datetime.datetime(2027, 1, 4, 12, 0, tzinfo=datetime.UTC)
ASSEMBLIES, VALIDATION, VOTING, CLOSING, DEADLINE = 1, 24, 48, 58, 120


def hours(count: float) -> datetime.datetime:
    return NOW + datetime.timedelta(hours=count)


def make_round(**overrides) -> Consultation:
    """A draft round of 2027-I on the standard dates (hours after NOW)."""
    fields = {
        "name": "Consulta Popular 2027-I",
        "year": 2027,
        "quarter": 1,
        "assemblies_open_at": hours(ASSEMBLIES),
        "validation_opens_at": hours(VALIDATION),
        "voting_opens_at": hours(VOTING),
        "voting_closes_at": hours(CLOSING),
        "tally_deadline_at": hours(DEADLINE),
        "funder_by_rank": ["national"],
        **overrides,
    }
    return Consultation.objects.create(**fields)


def approve_projects(consultation, commune, count: int) -> None:
    Project.objects.bulk_create(
        Project(
            consultation=consultation,
            commune=commune,
            title=f"Proyecto {number}",
            status=Project.Status.APPROVED,
        )
        for number in range(count)
    )


# Voting ---------------------------------------------------------------------------------------

# 10:00 in Caracas on voting day: inside the round's voting window and hours.
DURING_VOTING = hours(VOTING + 2)
AFTER_VOTING = hours(60)


def ballot_of(consultation, commune, titles=("Agua potable", "Cancha", "Alumbrado")):
    projects = []
    for priority, title in enumerate(titles, start=1):
        projects.append(
            Project.objects.create(
                consultation=consultation,
                commune=commune,
                title=title,
                status=Project.Status.APPROVED,
                category=Project.Category.WATER if priority == 1 else Project.Category.SPORT,
            )
        )
    return projects


def open_voting(consultation, adam):
    cycle.round_schedule(consultation=consultation, by=adam, now=NOW)
    cycle.rounds_advance_due(now=hours(VOTING))
    consultation.refresh_from_db()
    assert consultation.phase == "voting"
    return consultation


def close_voting(consultation):
    """Move the round to counting as the tick would (the count itself is run by the caller)."""
    cycle.rounds_advance_due(now=hours(CLOSING))
    consultation.refresh_from_db()
    assert consultation.phase == "counting"
    return consultation


def make_voter(council, number: int, *, birth=datetime.date(1990, 1, 1), verified=True):
    user = make_user(f"votante{number}@example.org")
    make_resident(council, f"V-{20_000_000 + number}", f"Votante {number}", birth=birth, user=user)
    if not verified:
        Resident.objects.filter(user=user).update(
            verification=Resident.Verification.UNVERIFIED, verified_by=None, verified_at=None
        )
    return user


def live_round_for(commune_a, commune_b, **overrides):
    """A round in voting right now, all day long, made directly: A and B each have a ballot."""
    now = timezone.now()
    hour = datetime.timedelta(hours=1)
    consultation = Consultation.objects.create(
        **{
            "name": "Consulta en curso",
            "year": 2031,
            "quarter": 1,
            "phase": Consultation.Phase.VOTING,
            "funder_by_rank": ["national"],
            "assemblies_open_at": now - 3 * hour,
            "validation_opens_at": now - 2 * hour,
            "voting_opens_at": now - hour,
            "voting_closes_at": now + 2 * hour,
            "tally_deadline_at": now + 3 * hour,
            "voting_hours_start": datetime.time(0, 0),
            "voting_hours_end": datetime.time(23, 59, 59),
            **overrides,
        }
    )
    ballot_of(consultation, commune_a)
    ballot_of(consultation, commune_b, titles=("Escuela", "Mercado", "Vialidad"))
    voting.urn_open(consultation=consultation, now=now)
    return consultation


def close_now(consultation):
    """Put a live round in counting (the count itself is the caller's)."""
    Consultation.objects.filter(pk=consultation.pk).update(phase=Consultation.Phase.COUNTING)
    consultation.refresh_from_db()


# The cycle's tests: the round driven by the beat's tick --------------------------------------


def ballot(consultation, commune, titles=("Agua potable", "Cancha", "Alumbrado")):
    """The commune's approved proposals (validation's outcome, written directly)."""
    return [
        Project.objects.create(
            consultation=consultation,
            commune=commune,
            title=title,
            status=Project.Status.APPROVED,
            estimated_cost_usd=9000,
        )
        for title in titles
    ]


def votes(
    consultation, council, projects, choices: list[int], *, first: int = 0, at: float = 0
) -> None:
    """Residents of the council vote online, ``at`` hours after the usual voting time:
    choices[i] is the index of voter i's project."""
    for number, choice in enumerate(choices, start=first):
        user = make_user(f"votante{number}@example.org")
        make_resident(council, f"V-{21_000_000 + number}", f"Votante {number}", user=user)
        voting.vote_cast(
            consultation=consultation,
            user=user,
            project_id=projects[choice].pk,
            now=DURING_VOTING + datetime.timedelta(hours=at),
        )


def tick_at(count: float, *, run_jobs: bool = True) -> list:
    """The beat's tick at that hour; with run_jobs, the jobs it queued on commit run too."""
    if not run_jobs:
        return cycle.rounds_advance_due(now=hours(count))
    with TestCase.captureOnCommitCallbacks(execute=True):
        return cycle.rounds_advance_due(now=hours(count))


# Results --------------------------------------------------------------------------------------

PUBLISHED_AT = hours(120)


def cast(consultation, council, project, count: int, *, first: int) -> int:
    """``count`` residents of ``council`` vote for ``project``; returns the next voter number."""
    for number in range(first, first + count):
        user = make_voter(council, number)
        voting.vote_cast(
            consultation=consultation, user=user, project_id=project.pk, now=DURING_VOTING
        )
    return first + count


def non_voters(council, count: int, *, first: int) -> None:
    for number in range(first, first + count):
        make_resident(council, f"V-{30_000_000 + number}", f"Vecina {number}")


def count_and_publish(consultation, adam):
    close_voting(consultation)
    count = cycle.round_count(consultation_id=consultation.pk, now=hours(59))
    assert count.status == Count.Status.DONE, count.problems
    cycle.round_publish(
        consultation=consultation, by=adam, reason="Actas verificadas", now=PUBLISHED_AT
    )
    consultation.refresh_from_db()
    assert consultation.phase == Consultation.Phase.PUBLISHED
    return consultation


def by_title(consultation, commune):
    return {p.title: p for p in consultation.projects.filter(commune=commune)}


def voting_page(client, name, *args):
    return client.get(reverse(f"voting:{name}", args=list(args)))


def read_csv(response) -> list[dict]:
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


def read_json(response) -> list[dict]:
    assert response["Content-Type"] == "application/json"
    return json.loads(b"".join(response.streaming_content))


def queries_of(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
        if response.streaming:
            b"".join(response.streaming_content)
    assert response.status_code == 200, url
    return len(captured)


# Voting tables --------------------------------------------------------------------------------


def make_table(commune, number=1, centre_code="E-0001"):
    centre, _created = VotingCentre.objects.get_or_create(
        code=centre_code, defaults={"name": "Escuela Bolivariana", "parish": commune.parish}
    )
    return VotingTable.objects.create(
        code=f"{centre_code}-{number}", centre=centre, number=number, commune=commune
    )


ANA_BIRTH = datetime.date(1988, 3, 9)


# Assemblies and proposals ---------------------------------------------------------------------


def open_round(phase=Consultation.Phase.ASSEMBLIES, **overrides):
    """A round whose assemblies opened ten days ago, with its dates around today."""
    now = timezone.now()
    day = datetime.timedelta(days=1)
    return make_round(
        phase=phase,
        assemblies_open_at=now - 10 * day,
        validation_opens_at=now + 10 * day,
        voting_opens_at=now + 20 * day,
        voting_closes_at=now + 20 * day + datetime.timedelta(hours=10),
        tally_deadline_at=now + 23 * day,
        **overrides,
    )


def census(council, adults: int, children: int = 0, prefix: int = 20):
    today = timezone.localdate()
    for number in range(adults):
        make_resident(
            council,
            f"V-{prefix}{number:06d}",
            f"Adulto {number}",
            birth=today.replace(year=today.year - 30),
        )
    for number in range(children):
        make_resident(
            council,
            f"V-{prefix + 1}{number:06d}",
            f"Niño {number}",
            birth=today.replace(year=today.year - 10),
        )


def minutes(name="acta.pdf", data=None):
    return SimpleUploadedFile(name, data or tiny_pdf())


def record(round_, commune, by, *, councils, attendance, call="first", **extra):
    return consultations.assembly_record(
        consultation=round_,
        commune=commune,
        by=by,
        held_on=timezone.localdate(),
        place="Casa comunal",
        councils=councils,
        call=call,
        attendance=attendance,
        minutes=extra.pop("minutes", minutes()),
        **extra,
    )


def complete(project, by, **overrides):
    problem = consultations.problem_add(
        assembly=Assembly.objects.get(commune=project.commune), title="Agua", by=by
    )
    changes = {
        "description": "Tubería nueva de 2 km",
        "category": Project.Category.WATER,
        "estimated_cost_usd": Decimal("9500"),
        "beneficiaries": 800,
        "place": "Sector La Ceiba",
        "problem": problem,
        **overrides,
    }
    return consultations.project_update(
        project=project, by=by, version=project.version, changes=changes
    )


def proposal(alice, council_a, commune_a, title="Agua"):
    round_ = open_round()
    census(council_a, adults=9)
    record(round_, commune_a, alice, councils=[council_a], attendance=5)
    return consultations.project_create(
        consultation=round_, commune=commune_a, by=alice, title=title
    )


# Money ----------------------------------------------------------------------------------------

# The day the money tests move money: after the round of 2027-I is published.
MONEY_DAY = datetime.date(2027, 1, 15)
MONEY_NOW = datetime.datetime(2027, 1, 15, 15, 0, tzinfo=datetime.UTC)


def allocation_of(project) -> Allocation:
    return project.allocations.get(kind="allocation")


def request_money(project, by, amount, now=MONEY_NOW):
    return funding.disbursement_request(
        allocation=allocation_of(project), amount=amount, purpose="Tubos y cemento", by=by, now=now
    )


def paid(project, fina, mina, amount, mateo=None):
    """A request approved (by two when needed) and transferred."""
    disbursement = request_money(project, fina, amount)
    funding.disbursement_approve(disbursement=disbursement, by=mina, now=MONEY_NOW)
    if mateo is not None:
        funding.disbursement_approve(disbursement=disbursement, by=mateo, now=MONEY_NOW)
    return funding.disbursement_transfer_record(
        disbursement=disbursement,
        by=mina,
        transferred_on=MONEY_DAY,
        bank_reference="BDV-000123",
        rate_ves_per_usd="36.5",
        now=MONEY_NOW,
    )


def receipt(project, by, amount):
    return funding.receipt_add(
        project=project,
        upload=SimpleUploadedFile("factura.pdf", tiny_pdf()),
        supplier="Ferretería El Progreso",
        spent_on=MONEY_DAY,
        amount=amount,
        category="materials",
        by=by,
        now=MONEY_NOW,
    )


# Files and services away ----------------------------------------------------------------------


def tiny_pdf() -> bytes:
    return (
        b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
        b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
    )


def jpeg_with_gps() -> bytes:
    image = Image.new("RGB", (64, 48), (200, 30, 30))
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "Teléfono"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (10.0, 30.0, 0.0)
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


def png_with_text() -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("Location", "10.50,-66.91")
    out = io.BytesIO()
    Image.new("RGB", (20, 20), (0, 90, 0)).save(out, "PNG", pnginfo=info)
    return out.getvalue()


DEAD_REDIS = {
    "default": {
        "BACKEND": "config.cache.ResilientRedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens on port 1
        "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
    }
}


def slipped_ballot(consultation, project) -> SealedBallot:
    """A well-formed ballot for ``project`` written straight into the urn, as a forger with
    database access would: no voting-book row, and not in its commune's running sums."""
    urn_row = consultation.urn
    context = voting.ballots_of(consultation).contexts[project.commune_id]
    ballot = ballot_encrypt(key=round_key(urn_row), context=context, choice=project.pk)
    return SealedBallot.objects.create(
        receipt=ballot.receipt,
        consultation=consultation,
        commune_id=project.commune_id,
        sealed=ballot.payload_bytes(),
    )


# The cycle admin's round form ---------------------------------------------------------


def future(days: int) -> str:
    return (datetime.datetime.now() + datetime.timedelta(days=days)).strftime("%Y-%m-%dT%H:%M")


def form_data(**overrides):
    data = {
        "name": "Consulta Popular 2027-II",
        "assemblies_open_at": future(10),
        "validation_opens_at": future(30),
        "voting_opens_at": future(50),
        "voting_closes_at": future(50.4),
        "tally_deadline_at": future(53),
        "min_age": 15,
        "max_age": "",
        "max_options": 7,
        "winners_per_commune": 1,
        "amount_usd": "10000",
        "tie_break": "priority_then_lot",
        "counting_rule": "top_n",
        "commune_budget_usd": "",
        "award_youth_communes": "0",
        "channels": "both",
        "voting_hours_start": "07:00",
        "voting_hours_end": "18:00",
        "min_turnout_percent": "",
        "quorum_first_call_percent": "20",
        "quorum_second_call_percent": "10",
        "key_shares_needed": "0",
        "key_shares_total": "0",
        "funder_rank_1": "national",
        "funder_rank_2": "",
        "funder_rank_3": "",
    }
    return {**data, **overrides}


# Voters of given ages (awards by participation) -----------------------------------------

# Voting day is 2027-01-06.
YOUNG = datetime.date(2000, 1, 1)
JUST_35 = datetime.date(1991, 1, 7)  # 35 on voting day, 36 the day after
JUST_36 = datetime.date(1991, 1, 6)  # 36 on voting day
MIDDLE = datetime.date(1980, 1, 1)
OLD = datetime.date(1950, 1, 1)


def vote_as(consultation, council, project, births, first):
    for number, birth in enumerate(births, start=first):
        user = make_voter(council, number, birth=birth)
        voting.vote_cast(
            consultation=consultation, user=user, project_id=project.pk, now=DURING_VOTING
        )
    return first + len(births)


# The urn's open data ----------------------------------------------------------------


def index_of(client, consultation) -> dict:
    response = client.get(reverse("voting:results-urn-index", args=[consultation.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    return response.json()


def file_of(client, consultation, code) -> dict:
    response = client.get(reverse("voting:results-urn-commune", args=[consultation.pk, code]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert "Content-Encoding" not in response
    assert response["Content-Disposition"].endswith(f'{code}.json.gz"')
    return json.loads(gzip.decompress(b"".join(response.streaming_content)))
