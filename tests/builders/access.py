"""The access walk's world: real people of every role and real objects of commune A, and a
probe for every URL. The walk (tests/accounts) and the hostile sweeps (tests/hostile) use it."""

import datetime

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts import access
from accounts.models import StaffRole
from communes.models import ResidentClaim, Spokesperson
from communes.services import commune_file_store

from . import give_totp, make_resident, make_staff, make_user, tiny_pdf


def access_world(council_a, council_b, commune_a, commune_b):
    """Real people of every role, a pending claim of commune A and a private file of A."""
    people = {access.ANONYMOUS: None}
    people[access.RESIDENT_A] = make_user("resident.a@example.org")
    make_resident(council_a, "V-10000001", "Residente A", user=people[access.RESIDENT_A])
    people[access.RESIDENT_B] = make_user("resident.b@example.org")
    make_resident(council_b, "V-10000002", "Residente B", user=people[access.RESIDENT_B])
    for number, unit in enumerate(["executive", "finance", "social_oversight", "electoral"]):
        role = f"spokesperson_a_{unit}"
        people[role] = make_user(f"{unit}.a@example.org")
        resident = make_resident(
            council_a, f"V-1100000{number}", f"Vocería {unit}", user=people[role]
        )
        Spokesperson.objects.create(
            resident=resident,
            commune=commune_a,
            unit=unit,
            term_start=datetime.date(2025, 1, 1),
            term_end=datetime.date(2028, 1, 1),
        )
    people[access.SPOKESPERSON_B] = make_user("spokesperson.b@example.org")
    Spokesperson.objects.create(
        resident=make_resident(council_b, "V-12000000", "Vocería B", user=people["spokesperson_b"]),
        commune=commune_b,
        unit="executive",
        term_start=datetime.date(2025, 1, 1),
        term_end=datetime.date(2028, 1, 1),
    )
    state_a = commune_a.parish.municipality.state
    people[access.POLLING_OFFICER] = make_staff(
        "officer@example.org", StaffRole.Kind.POLLING_OFFICER
    )
    people[access.MINISTRY_STAFF] = make_staff(
        "ministry@example.org", StaffRole.Kind.MINISTRY_STAFF
    )
    people[access.COFUNDER_STAFF] = make_staff(
        "cofunder@example.org", StaffRole.Kind.COFUNDER_STAFF, state=state_a
    )
    admin_user = make_user("cycle.admin@example.org", is_staff=True, is_superuser=True)
    StaffRole.objects.create(user=admin_user, kind=StaffRole.Kind.CYCLE_ADMIN)
    give_totp(admin_user)
    people[access.CYCLE_ADMIN] = admin_user

    claimant = make_user("claimant@example.org")
    record = make_resident(council_a, "V-13000000", "Persona Que Reclama")
    claim = ResidentClaim.objects.create(resident=record, user=claimant)
    private_file = commune_file_store(
        commune=commune_a,
        uploaded=SimpleUploadedFile("acta.pdf", tiny_pdf()),
        by=people["spokesperson_a_executive"],
    )
    from cycle.services import round_propose_next

    draft_round = round_propose_next()
    # None when a test's own round already holds next quarter (its world has no draft).
    commissioners = _commissioners_of(draft_round, people) if draft_round else {}
    open_round = _round_in_assemblies(commune_a, council_a, people["spokesperson_a_executive"])
    voting_round = _round_in_voting(commune_a, commune_b)
    return {
        "tables": _tables_of_a(voting_round, commune_a, people, admin_user),
        "money": _money_of_a(voting_round, people),
        "voting_round": voting_round,
        "people": people,
        "claim": claim,
        "file": private_file,
        "round": draft_round,
        "open_round": open_round,
        "commissioners": commissioners,
    }


def _commissioners_of(draft_round, people):
    """The draft round's key is made by 3 commissioners, 2 needed: resident B is number 1 (the
    walk's commissioner) and a person of no other role number 2 (for the admin's removal)."""
    from django.utils import timezone

    from consultations.models import Consultation
    from voting.models import Commissioner

    Consultation.objects.filter(pk=draft_round.pk).update(key_shares_needed=2, key_shares_total=3)
    draft_round.refresh_from_db()
    now = timezone.now()
    return {
        "mine": Commissioner.objects.create(
            consultation=draft_round, index=1, user=people[access.RESIDENT_B], appointed_at=now
        ),
        "spare": Commissioner.objects.create(
            consultation=draft_round,
            index=2,
            user=make_user("spare.commissioner@example.org"),
            appointed_at=now,
        ),
    }


def _round_in_voting(commune_a, commune_b):
    """A round in voting now, all day long: commune A has a ballot, B was left off the vote."""
    from django.utils import timezone

    from consultations.models import Consultation, Exclusion, Project
    from voting.services import urn_open

    now = timezone.now()
    hour = datetime.timedelta(hours=1)
    consultation = Consultation.objects.create(
        name="Consulta en votación",
        year=2030,
        quarter=2,
        phase=Consultation.Phase.VOTING,
        funder_by_rank=["national"],
        assemblies_open_at=now - 3 * hour,
        validation_opens_at=now - 2 * hour,
        voting_opens_at=now - hour,
        voting_closes_at=now + hour,
        tally_deadline_at=now + 2 * hour,
        voting_hours_start=datetime.time(0, 0),
        voting_hours_end=datetime.time(23, 59, 59),
    )
    for title in ("Tanque", "Cancha"):
        Project.objects.create(
            consultation=consultation,
            commune=commune_a,
            title=title,
            status=Project.Status.APPROVED,
        )
    Exclusion.objects.create(
        consultation=consultation, commune=commune_b, kind="no_ballot", reason="Sin boleta"
    )
    urn_open(consultation=consultation, now=now)
    return consultation


def _tables_of_a(voting_round, commune_a, people, admin_user):
    """A table of commune A in the round in voting, run by the walk's officer, with a sheet, and
    a second table with an assignment for the admin's probes."""
    from django.utils import timezone

    from voting.models import OfficerAssignment, TallySheet, VotingCentre, VotingTable

    centre = VotingCentre.objects.create(code="C-A", name="Escuela A", parish=commune_a.parish)
    table = VotingTable.objects.create(code="C-A-1", centre=centre, number=1, commune=commune_a)
    other = VotingTable.objects.create(code="C-A-2", centre=centre, number=2, commune=commune_a)
    now = timezone.now()
    assignment = OfficerAssignment.objects.create(
        consultation=voting_round,
        table=table,
        officer=people[access.POLLING_OFFICER],
        assigned_by=admin_user,
        assigned_at=now,
    )
    spare = OfficerAssignment.objects.create(
        consultation=voting_round,
        table=other,
        officer=make_user("spare.officer@example.org"),
        assigned_by=admin_user,
        assigned_at=now,
    )
    sheet = TallySheet.objects.create(consultation=voting_round, table=table)
    return {"assignment": assignment, "spare": spare, "sheet": sheet}


def _money_of_a(voting_round, people):
    """Money pages (issue 8): a project of A funded by the national fund, with a transfer
    receipted, a progress update saying it is completed, a flag on the receipt, a closing report
    waiting, and a second request waiting for approval."""
    from django.utils import timezone

    from funding import services
    from funding.models import Allocation, LedgerEntry

    finance, ministry = people[access.SPOKESPERSON_A_FINANCE], people[access.MINISTRY_STAFF]
    project = voting_round.projects.order_by("pk").first()
    source = services.source_for("national", project)
    now, today = timezone.now(), timezone.localdate()
    allocation = Allocation.objects.create(
        project=project, source=source, kind="allocation", amount_usd=10000, created_at=now
    )
    entry = LedgerEntry.objects.create(
        project=project,
        source=source,
        kind="allocation",
        amount_usd=10000,
        allocation=allocation,
        at=now,
    )
    paid = services.disbursement_request(
        allocation=allocation, amount="1000", purpose="Tubos", by=finance
    )
    services.disbursement_approve(disbursement=paid, by=ministry)
    services.disbursement_transfer_record(
        disbursement=paid,
        by=ministry,
        transferred_on=today,
        bank_reference="REF-1",
        rate_ves_per_usd="36.5",
    )
    receipt = services.receipt_add(
        project=project,
        upload=SimpleUploadedFile("recibo.pdf", tiny_pdf()),
        supplier="Ferretería",
        spent_on=today,
        amount="1000",
        category="materials",
        by=finance,
    )
    services.progress_add(
        project=project, percent=100, status="completed", text="Terminado", by=finance
    )
    oversight = people[access.SPOKESPERSON_A_SOCIAL_OVERSIGHT]
    flag = services.flag_raise(by=oversight, comment="¿Y este precio?", receipt=receipt)
    report = services.closing_report_submit(
        project=project,
        text="Informe de cierre",
        assembly_held_on=today,
        minutes=SimpleUploadedFile("acta.pdf", tiny_pdf()),
        by=finance,
    )
    waiting = services.disbursement_request(
        allocation=allocation, amount="500", purpose="Cemento", by=finance
    )
    return {
        "project": project,
        "allocation": allocation,
        "entry": entry,
        "receipt": receipt,
        "flag": flag,
        "report": report,
        "waiting": waiting,
    }


def _round_in_assemblies(commune, council, spokesperson):
    """A round in its assemblies phase, with an assembly of A, a problem and a proposal."""
    from django.utils import timezone

    from consultations.models import Assembly, Consultation, Problem, Project

    now = timezone.now()
    day = datetime.timedelta(days=1)
    consultation = Consultation.objects.create(
        name="Consulta abierta",
        year=2030,
        quarter=1,
        phase=Consultation.Phase.ASSEMBLIES,
        funder_by_rank=["national"],
        assemblies_open_at=now - day,
        validation_opens_at=now + 10 * day,
        voting_opens_at=now + 20 * day,
        voting_closes_at=now + 21 * day,
        tally_deadline_at=now + 23 * day,
    )
    minutes = commune_file_store(
        commune=commune, uploaded=SimpleUploadedFile("acta.pdf", tiny_pdf()), by=spokesperson
    )
    assembly = Assembly.objects.create(
        consultation=consultation,
        commune=commune,
        held_on=now.date(),
        place="Casa comunal",
        attendance=5,
        eligible=10,
        quorum_required=2,
        quorum_reached=True,
        minutes=minutes,
        recorded_by=spokesperson,
    )
    assembly.councils.set([council])
    problem = Problem.objects.create(assembly=assembly, title="Agua", priority=1)
    Problem.objects.create(assembly=assembly, title="Luz", priority=2)
    Project.objects.create(
        consultation=consultation, commune=commune, title="Tubería", problem=problem
    )
    return {
        "consultation": consultation,
        "assembly": assembly,
        "problem": problem,
        "project": Project.objects.get(title="Tubería"),
    }


def probes(world):
    """URL name → (method, url, data) with real objects of commune A."""
    claim, private_file = world["claim"], world["file"]
    commune_code = claim.resident.council.commune.code
    rnd = world["round"].pk
    open_round = world["open_round"]
    live, project = open_round["consultation"].pk, open_round["project"].pk
    from django.contrib import admin

    voting = world["voting_round"]
    on_ballot = voting.projects.first().pk
    found = {
        "home": ("get", reverse("home"), None),
        "healthz": ("get", reverse("healthz"), None),  # the health probe (issue 9)
        "favicon": ("get", reverse("favicon"), None),
        "voting:ballot": ("get", reverse("voting:ballot", args=[voting.pk]), None),
        "voting:vote-confirm": (
            "post",
            reverse("voting:vote-confirm", args=[voting.pk]),
            {"project": on_ballot},
        ),
        "voting:receipt-check": ("get", reverse("voting:receipt-check", args=[voting.pk]), None),
        # ¿Dónde voto? (issue 16): a resident of A's cédula, looked up by anyone.
        "voting:where-to-vote": ("post", reverse("voting:where-to-vote"), {"cedula": "V-10000001"}),
        **_commissioner_probes(world),
        "voting:urn-receipts": (
            "get",
            reverse("voting:urn-receipts", args=[voting.pk, commune_code]),
            None,
        ),
        **_table_probes(world),
        **_money_probes(world),
        "communes:directory": ("get", reverse("communes:directory"), None),
        "communes:detail": ("get", reverse("communes:detail", args=[commune_code]), None),
        "set_language": ("post", reverse("set_language"), {"language": "es", "next": "/"}),
        "accounts:home-for-user": ("get", reverse("accounts:home-for-user"), None),
        "accounts:voting-notice": ("post", reverse("accounts:voting-notice"), {"enabled": "on"}),
        "accounts:signin-alarms": ("get", reverse("accounts:signin-alarms"), None),
        "communes:my-participation": ("get", reverse("communes:my-participation"), None),
        "communes:my-data": ("get", reverse("communes:my-data"), None),
        "communes:my-communes": ("get", reverse("communes:my-communes"), None),
        "communes:claims-queue": ("get", reverse("communes:claims-queue"), None),
        "communes:claim-decide": (
            "post",
            reverse("communes:claim-decide", args=[claim.pk]),
            {"decision": "approve"},
        ),
        "communes:file-download": (
            "get",
            reverse("communes:file-download", args=[private_file.pk]),
            None,
        ),
        "cycle:round-list": ("get", reverse("cycle:round-list"), None),
        "cycle:round-detail": (
            "get",
            reverse("cycle:round-detail", args=[rnd]),
            None,
        ),
        "cycle:round-edit": ("get", reverse("cycle:round-edit", args=[rnd]), None),
        "cycle:round-schedule": (
            "post",
            reverse("cycle:round-schedule", args=[rnd]),
            {},
        ),
        "cycle:round-exclude": (
            "post",
            reverse("cycle:round-exclude", args=[rnd]),
            {"commune": commune_code, "reason": "Prueba"},
        ),
        "cycle:round-move": (
            "get",
            reverse("cycle:round-move", args=[rnd, "cancel"]),
            None,
        ),
        "consultations:round-public": (
            "get",
            reverse("consultations:round-public", args=[live]),
            None,
        ),
        "consultations:commune-round": (
            "get",
            reverse("consultations:commune-round", args=[commune_code, live]),
            None,
        ),
        "consultations:assembly-create": (
            "post",
            reverse("consultations:assembly-create", args=[commune_code, live]),
            {"place": "x"},
        ),
        "consultations:problem-add": (
            "post",
            reverse("consultations:problem-add", args=[open_round["assembly"].pk]),
            {"title": "Vías"},
        ),
        "consultations:problem-move": (
            "post",
            reverse("consultations:problem-move", args=[open_round["problem"].pk]),
            {"direction": "down"},
        ),
        "consultations:project-create": (
            "post",
            reverse("consultations:project-create", args=[commune_code, live]),
            {"title": "Otra propuesta"},
        ),
        "consultations:project-edit": (
            "get",
            reverse("consultations:project-edit", args=[project]),
            None,
        ),
        "consultations:project-withdraw": (
            "post",
            reverse("consultations:project-withdraw", args=[project]),
            {},
        ),
        "consultations:project-photo-add": (
            "post",
            reverse("consultations:project-photo-add", args=[project]),
            {},
        ),
        "consultations:validation-queue": ("get", reverse("consultations:validation-queue"), None),
        "consultations:project-decide": (
            "post",
            reverse("consultations:project-decide", args=[project]),
            {"decision": "approve"},
        ),
        # The walk's rounds are not published: their results are a 404 for everyone.
        "voting:results-list": ("get", reverse("voting:results-list"), None),
        **{
            f"voting:results-{name}": (
                "get",
                reverse(f"voting:results-{name}", args=[voting.pk]),
                None,
            )
            for name in ["round", "projects-csv", "projects-json", "communes-csv", "communes-json"]
        },
        **{
            f"voting:results-{name}": (
                "get",
                reverse(f"voting:results-{name}", args=[voting.pk, code]),
                None,
            )
            for name, code in [("state", "01"), ("municipality", "0101"), ("commune", commune_code)]
        },
        # The voting tables' open data (issue 7).
        **{
            f"voting:results-{name}": (
                "get",
                reverse(f"voting:results-{name}", args=[voting.pk]),
                None,
            )
            for name in ["tables-csv", "tables-json", "pabulib-zip", "urn-index"]
        },
        # The urn's open data (issue 14).
        "voting:results-urn-commune": (
            "get",
            reverse("voting:results-urn-commune", args=[voting.pk, commune_code]),
            None,
        ),
        # The pabulib open data (issue 16).
        "voting:results-pabulib-commune": (
            "get",
            reverse("voting:results-pabulib-commune", args=[voting.pk, commune_code]),
            None,
        ),
        **_money_trail_probes(world),
        "account_confirm_email": ("get", reverse("account_confirm_email", args=["x"]), None),
        "account_reset_password_from_key": (
            "get",
            reverse("account_reset_password_from_key", kwargs={"uidb36": "x", "key": "y"}),
            None,
        ),
    }
    for name in access.ACCESS:
        if name.startswith(("account_", "mfa_")) and name not in found:
            found[name] = ("get", reverse(name), None)
    found["admin:index"] = ("get", reverse("admin:index"), None)
    for model in admin.site._registry:
        for view in ("changelist", "add"):
            name = f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}"
            found[name] = ("get", reverse(name), None)
    return found


def _commissioner_probes(world):
    """The electoral commissioners' pages (issue 14), on the draft round of the world."""
    rnd, spare = world["round"].pk, world["commissioners"]["spare"].pk
    return {
        "cycle:commissioner-appoint": (
            "post",
            reverse("cycle:commissioner-appoint", args=[rnd]),
            {"email": "ministry@example.org", "index": 3},
        ),
        "cycle:commissioner-remove": (
            "post",
            reverse("cycle:commissioner-remove", args=[spare]),
            {},
        ),
        "cycle:commissioner": ("get", reverse("cycle:commissioner", args=[rnd]), None),
        "cycle:commissioner-upload": (
            "post",
            reverse("cycle:commissioner-upload", args=[rnd]),
            {"what": "keys"},
        ),
        "cycle:commissioner-download": (
            "get",
            reverse("cycle:commissioner-download", args=[rnd, "ceremony"]),
            None,
        ),
    }


def _table_probes(world):
    tables = world["tables"]
    table, voting = tables["assignment"].pk, world["voting_round"].pk
    return {
        "voting:officer-home": ("get", reverse("voting:officer-home"), None),
        "voting:table": ("get", reverse("voting:table", args=[table]), None),
        "voting:table-mark": (
            "post",
            reverse("voting:table-mark", args=[table]),
            {"cedula": "V-13000000", "mark_id": "6f1c1d52-7f6a-4f53-9a57-0c1f3b1e2d4a"},
        ),
        "voting:table-sheet": ("post", reverse("voting:table-sheet", args=[table]), {}),
        "voting:sheet-queue": ("get", reverse("voting:sheet-queue"), None),
        "voting:sheet-review": (
            "get",
            reverse("voting:sheet-review", args=[tables["sheet"].pk]),
            None,
        ),
        "voting:round-tables": ("get", reverse("voting:round-tables", args=[voting]), None),
        "voting:tables-import": ("post", reverse("voting:tables-import", args=[voting]), {}),
        "voting:officer-unassign": (
            "post",
            reverse("voting:officer-unassign", args=[tables["spare"].pk]),
            {},
        ),
    }


def _money_trail_probes(world):
    """The public money trail (issue 8). The walk's rounds are not published, so the round's
    pages are a 404 for everyone; a project of the round in voting is given an allocation here
    so that its money page is a real page."""
    from django.utils import timezone

    from funding.models import Allocation, FundingSource, LedgerEntry

    now = timezone.now
    voting = world["voting_round"]
    project = voting.projects.order_by("pk").first()
    if not project.allocations.exists():
        source, _created = FundingSource.objects.get_or_create(
            kind="national", defaults={"name": "Fondo nacional"}
        )
        allocation = Allocation.objects.create(
            project=project, source=source, kind="allocation", amount_usd=10000, created_at=now()
        )
        LedgerEntry.objects.create(
            project=project,
            source=source,
            kind="allocation",
            amount_usd=10000,
            allocation=allocation,
            at=now(),
        )
    return {
        "funding:money-list": ("get", reverse("funding:money-list"), None),
        **{
            f"funding:money-{name}": (
                "get",
                reverse(f"funding:money-{name}", args=[voting.pk]),
                None,
            )
            for name in ["round", "round-csv", "round-json"]
        },
        "funding:money-project": (
            "get",
            reverse("funding:money-project", args=[project.pk]),
            None,
        ),
    }


def _money_probes(world):
    """The money pages where people work (issue 8), on the project of `_money_of_a`."""
    money = world["money"]
    project, waiting = money["project"].pk, money["waiting"].pk
    code = money["project"].commune.code

    def post(name, pk, data):
        return ("post", reverse(f"funding:{name}", args=[pk]), data)

    return {
        "funding:commune-money": ("get", reverse("funding:commune-money", args=[code]), None),
        "funding:project-workspace": (
            "get",
            reverse("funding:project-workspace", args=[project]),
            None,
        ),
        "funding:disbursement-request": post(
            "disbursement-request",
            project,
            {"allocation": money["allocation"].pk, "amount": "100", "purpose": "Arena"},
        ),
        "funding:receipt-add": post("receipt-add", project, {}),
        "funding:progress-add": post("progress-add", project, {}),
        "funding:closing-report-submit": post("closing-report-submit", project, {}),
        "funding:flag-raise": post(
            "flag-raise", project, {"receipt": money["receipt"].pk, "comment": "Revisar"}
        ),
        "funding:payments": ("get", reverse("funding:payments"), None),
        "funding:disbursement": ("get", reverse("funding:disbursement", args=[waiting]), None),
        "funding:disbursement-approve": post("disbursement-approve", waiting, {}),
        "funding:disbursement-reject": post("disbursement-reject", waiting, {"reason": "No"}),
        "funding:disbursement-transfer": post("disbursement-transfer", waiting, {}),
        "funding:pledge": ("get", reverse("funding:pledge"), None),
        "funding:oversight": ("get", reverse("funding:oversight"), None),
        "funding:flag-answer": post("flag-answer", money["flag"].pk, {"answer": "Revisado"}),
        "funding:closing-report-decide": post(
            "closing-report-decide", money["report"].pk, {"decision": "accepted"}
        ),
        "funding:project-ledger": (
            "get",
            reverse("funding:project-ledger", args=[project]),
            None,
        ),
        "funding:ledger-reverse": post("ledger-reverse", money["entry"].pk, {"reason": "Error"}),
    }
