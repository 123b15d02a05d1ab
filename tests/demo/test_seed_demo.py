"""The demo: the registry, the census and one account per role; its rounds, one published with
counted results (online and at voting tables), one in voting for the demo accounts, with the demo
polling officer at a table; and the published round's money. Safe to run twice."""

import datetime
import io
from decimal import ROUND_HALF_UP, Decimal

from allauth.mfa.models import Authenticator
from django.core.management import call_command
from django.db.models import Sum
from django.utils import timezone

from accounts import permissions
from accounts.models import StaffRole, User
from audit.models import AuditEntry
from communes.models import (
    CommunalCouncil,
    Commune,
    CommuneFile,
    Resident,
    ResidentClaim,
    Spokesperson,
)
from consultations.models import Consultation, PhaseTransition
from funding.checks import funding_breaches
from funding.models import (
    Allocation,
    ClosingReport,
    Disbursement,
    DisbursementApproval,
    Flag,
    LedgerEntry,
    ProgressUpdate,
    SpendingReceipt,
)
from voting.models import (
    CommuneResult,
    Count,
    OfficerAssignment,
    ProjectResult,
    SealedBallot,
    TallySheet,
    Urn,
    VotingBookEntry,
    VotingTable,
)
from voting.services import ballot, vote_cast


def _sizes():
    return [
        model.objects.count()
        for model in (
            Consultation,
            PhaseTransition,
            User,
            Spokesperson,
            VotingBookEntry,
            SealedBallot,
            CommuneFile,
            Allocation,
            Disbursement,
            DisbursementApproval,
            SpendingReceipt,
            ProgressUpdate,
            ClosingReport,
            Flag,
            LedgerEntry,
        )
    ]


def test_seed_demo_builds_the_demo_and_is_safe_to_run_twice(db):
    models = [Commune, CommunalCouncil, Resident, Spokesperson, ResidentClaim, User]
    call_command("seed_demo", stdout=io.StringIO())
    counts = [model.objects.count() for model in models]
    output = io.StringIO()
    call_command("seed_demo", stdout=output)
    assert "vocera@demo.comunas.test" in output.getvalue()
    assert [model.objects.count() for model in models] == counts
    assert counts[0] == 60 and 1500 <= counts[2] <= 2500
    states = Commune.objects.values("parish__municipality__state").distinct().count()
    assert states >= 3
    kinds = set(StaffRole.objects.values_list("kind", flat=True))
    assert kinds == {choice for choice, _label in StaffRole.Kind.choices}
    assert ResidentClaim.objects.filter(status="pending").count() == 3
    phases = sorted(Consultation.objects.values_list("phase", flat=True))
    assert phases == ["draft", "published", "voting"]
    # Every staff account one can sign in to has two-step verification (the past round's
    # officers have no password: they only made that round's marks and sheets).
    staff = [
        user
        for user in User.objects.filter(staff_roles__isnull=False).distinct()
        if user.has_usable_password()
    ]
    assert staff and all(Authenticator.objects.filter(user=user).exists() for user in staff)


def test_seed_demo_publishes_last_quarter_with_results_and_the_demo_residents_can_vote_now(db):
    call_command("seed_demo", stdout=io.StringIO())
    sizes = _sizes()
    output = io.StringIO()
    call_command("seed_demo", stdout=output)
    assert _sizes() == sizes  # running it again duplicates nothing, money included
    assert funding_breaches() == []

    past = Consultation.objects.get(phase="published")
    assert list(past.transitions.order_by("at").values_list("to_phase", flat=True)) == [
        "scheduled",
        "assemblies",
        "validation",
        "voting",
        "counting",
        "published",
    ]
    count = past.count
    book = VotingBookEntry.objects.filter(consultation=past, channel="online").count()
    assert count.status == "done" and not count.problems and count.ballots == book > 300
    assert SealedBallot.objects.filter(consultation=past).count() == book
    results = list(CommuneResult.objects.filter(consultation=past))
    assert len(results) == 60 and all(result.totals_agree for result in results)
    on_sheets = sum(
        sum(sheet.votes.values()) for sheet in TallySheet.objects.filter(consultation=past)
    )
    assert sum(result.votes for result in results) == book + on_sheets
    with_votes = sum(1 for result in results if result.votes)
    assert ProjectResult.objects.filter(consultation=past, is_winner=True).count() == with_votes
    assert with_votes >= 55

    current = Consultation.objects.get(phase="voting")
    assert VotingBookEntry.objects.filter(consultation=current).exists()
    printed = output.getvalue()
    for account in ("residente", "vocera"):
        email = f"{account}@demo.comunas.test"
        assert email in printed
        user = User.objects.get(email=email)
        choice = ballot(consultation=current, commune_id=user.resident.council.commune_id)[0]
        receipt = vote_cast(consultation=current, user=user, project_id=choice.pk)
        assert SealedBallot.objects.filter(receipt=receipt, consultation=current).exists()


def test_seed_demo_moves_its_rounds_through_the_cycle_each_step_on_its_date(db):
    """No phase is set by hand: the cycle admin schedules each round and the tick's steps move it
    on the round's own dates, each move audited, the urn opened with voting, the count run."""
    output = io.StringIO()
    call_command("seed_demo", stdout=output)
    admin = User.objects.get(email="admin@demo.comunas.test")
    past = Consultation.objects.get(phase="published")
    current = Consultation.objects.get(phase="voting")
    proposed = Consultation.objects.get(phase="draft")

    def expected(round_, phases):
        dates = [
            round_.assemblies_open_at - datetime.timedelta(days=20),
            round_.assemblies_open_at,
            round_.validation_opens_at,
            round_.voting_opens_at,
            round_.voting_closes_at,
            round_.tally_deadline_at,
        ]
        steps = [
            "draft",
            "scheduled",
            "assemblies",
            "validation",
            "voting",
            "counting",
            "published",
        ]
        return [
            (steps[index], steps[index + 1], dates[index], admin.pk if index == 0 else None)
            for index in range(phases)
        ]

    def moves(round_):
        return list(
            round_.transitions.order_by("at").values_list("from_phase", "to_phase", "at", "by")
        )

    assert moves(past) == expected(past, 6)
    assert moves(current) == expected(current, 4)
    assert moves(proposed) == []
    assert proposed.created_from == current  # proposed by the cycle from the latest round
    for round_ in (past, current):
        audited = AuditEntry.objects.filter(
            action="consultation.enter_phase", object_id=str(round_.pk)
        ).order_by("seq")
        assert [entry.after["phase"] for entry in audited] == [
            to_phase for _from, to_phase, _at, _by in moves(round_)
        ]
        assert Urn.objects.filter(consultation=round_).exists()
    count = Count.objects.get(consultation=past)  # two hours after voting closed
    assert count.status == "done"
    assert count.finished_at == past.voting_closes_at + datetime.timedelta(hours=2)
    printed = output.getvalue()
    assert "demo-comunas-2026" in printed and "JBSWY3DPEHPK3PXPCOMUNAS2" in printed
    for local in ("ministerio", "admin", "cofinanciador", "mesa", "vocera", "residente"):
        assert f"{local}@demo.comunas.test" in printed


def test_seed_demo_counts_the_past_rounds_tables_and_puts_the_demo_officer_at_a_table(db):
    output = io.StringIO()
    call_command("seed_demo", stdout=output)
    past = Consultation.objects.get(phase="published")
    current = Consultation.objects.get(phase="voting")
    tables = list(VotingTable.objects.filter(code__startswith="CV-").order_by("code"))
    assert [table.code for table in tables] == [
        f"{tables[0].centre.code}-1",
        f"{tables[1].centre.code}-1",
        f"{tables[1].centre.code}-2",
    ]
    assert tables[0].commune != tables[1].commune == tables[2].commune

    # One sheet accepted on its own, one accepted by staff after the entries differed, one
    # annulled: each with both officers' entries and their scans.
    sheets = {
        sheet.table.code: sheet
        for sheet in TallySheet.objects.filter(consultation=past).select_related("table")
    }
    auto, reviewed, annulled = (sheets[table.code] for table in tables)
    assert (auto.status, reviewed.status, annulled.status) == ("accepted", "accepted", "annulled")
    assert auto.decided_by is None and reviewed.decided_by.email == "ministerio@demo.comunas.test"
    assert annulled.decided_by is not None
    for sheet in sheets.values():
        entries = list(sheet.entries.all())
        assert len(entries) == 2 and all(entry.scan.is_public for entry in entries)
        assert len({entry.officer_id for entry in entries}) == 2
    assert list(reviewed.events.values_list("kind", flat=True)) == [
        "entered",
        "entered",
        "mismatch",
        "accepted",
    ]
    assert reviewed.events.get(kind="accepted").reason
    assert annulled.events.get(kind="annulled").reason

    # The accepted sheets add up to their tables' marks in the voting book; the annulled one
    # counted more ballots than its table's marks.
    def marks(table):
        return VotingBookEntry.objects.filter(consultation=past, table=table).count()

    for sheet in (auto, reviewed):
        assert sheet.ballots == marks(sheet.table) >= 5
    assert annulled.entries.first().ballots > marks(annulled.table) >= 5

    # The published results include the tables' votes; an annulled table's voters count in the
    # turnout, not its figures.
    for sheet in (auto, reviewed):
        commune = sheet.table.commune
        result = CommuneResult.objects.get(consultation=past, commune=commune)
        assert result.pending_sheets == 0
        assert result.sheet_ballots == sheet.ballots and result.blank == sheet.blank
        assert result.table_marks == sum(
            marks(table) for table in tables if table.commune == commune
        )
        table_votes = dict(
            ProjectResult.objects.filter(consultation=past, commune=commune).values_list(
                "project_id", "table_votes"
            )
        )
        assert table_votes == {int(key): n for key, n in sheet.votes.items()}
        assert sum(table_votes.values()) > 0
        winner = ProjectResult.objects.get(consultation=past, commune=commune, is_winner=True)
        assert winner.votes == winner.online_votes + winner.table_votes

    # In the current round the demo officer runs the table of the demo accounts' commune.
    duty = OfficerAssignment.objects.get(
        consultation=current, officer__email="mesa@demo.comunas.test"
    )
    resident = User.objects.get(email="residente@demo.comunas.test").resident
    assert duty.table == tables[0] and duty.table.commune == resident.council.commune
    assert duty.officer.staff_roles.filter(kind="polling_officer").exists()
    assert duty.officer.authenticator_set.filter(type="totp").exists()
    marked = VotingBookEntry.objects.filter(consultation=current, table=duty.table)
    assert marked.count() == 3 and {entry.marked_by_id for entry in marked} == {duty.officer_id}
    assert "mesa@demo.comunas.test" in output.getvalue() and duty.table.code in output.getvalue()


def test_seed_demo_gives_the_published_round_a_money_trail_at_every_stage(db):
    output = io.StringIO()
    call_command("seed_demo", stdout=output)
    printed = output.getvalue()
    past = Consultation.objects.get(phase="published")
    published_at = past.transitions.get(to_phase="published").at
    now = timezone.now()

    # Every winner has its allocation; Lara's government pledged more to one of them.
    winners = ProjectResult.objects.filter(consultation=past, is_winner=True)
    allocations = Allocation.objects.filter(project__consultation=past, kind="allocation")
    assert allocations.count() == winners.count() >= 55
    pledge = Allocation.objects.get(kind="pledge")
    cofunder = User.objects.get(email="cofinanciador@demo.comunas.test")
    assert pledge.source.kind == "state" and pledge.created_by == cofunder and pledge.reason
    assert pledge.source.staff.filter(pk=cofunder.pk).exists()

    # Requests at every stage.
    requests = Disbursement.objects.filter(project__consultation=past)
    waiting = requests.filter(status="requested")
    assert sorted((d.approvals_needed, d.approvals.count()) for d in waiting) == [(1, 0), (2, 1)]
    approved = requests.get(status="approved")
    assert approved.allocation == pledge and approved.approvals.get().by == cofunder
    rejected = requests.get(status="rejected")
    assert (
        rejected.rejection_reason and rejected.rejected_by.email == "ministerio@demo.comunas.test"
    )
    transferred = list(requests.filter(status="transferred"))
    assert len(transferred) >= 4
    for d in transferred:
        assert d.bank_reference and d.rate_ves_per_usd > 0
        assert d.amount_ves == (d.amount_usd * d.rate_ves_per_usd).quantize(
            Decimal("0.01"), rounding=ROUND_HALF_UP
        )
        assert timezone.localdate(d.requested_at) <= d.transferred_on <= timezone.localdate(now)
        assert d.approvals.count() == d.approvals_needed
    assert any(d.approvals_needed == 2 for d in transferred)

    # Receipts cover most of what was transferred, never more.
    sent = sum(d.amount_usd for d in transferred)
    spent = SpendingReceipt.objects.aggregate(total=Sum("amount_usd"))["total"]
    assert sent * Decimal("0.8") <= spent <= sent
    assert all(receipt.file.is_public for receipt in SpendingReceipt.objects.all())

    # Progress: under way with photos, stalled with its reason, completed with a closing report.
    updates = ProgressUpdate.objects.filter(project__consultation=past)
    photos = [photo for update in updates for photo in update.photos.all()]
    assert updates.filter(status="in_progress", photos__isnull=False).exists()
    assert photos and all(photo.kind == "png" and photo.is_public for photo in photos)
    assert updates.get(status="stalled").stalled_reason
    completed = updates.get(status="completed")
    report = ClosingReport.objects.get()
    assert report.project == completed.project and report.minutes.kind == "pdf"

    # Social oversight questioned two receipts; the ministry answered one.
    flags = list(Flag.objects.all())
    assert len(flags) == 2 and all(flag.receipt_id for flag in flags)
    assert sorted(bool(flag.answer) for flag in flags) == [False, True]

    # A timeline after the publication; the ledger agrees with every document.
    assert all(published_at < entry.at < now for entry in LedgerEntry.objects.all())
    assert funding_breaches() == []

    # The demo commune's finance and social-oversight spokespeople have accounts to try it.
    finance = User.objects.get(email="finanzas@demo.comunas.test")
    oversight = User.objects.get(email="contraloria@demo.comunas.test")
    home = requests.filter(requested_by=finance).first().project
    assert finance.has_usable_password() and oversight.has_usable_password()
    assert finance.email in printed and oversight.email in printed
    assert permissions.can(finance, "funding.request_disbursement", home)
    assert permissions.can(oversight, "funding.flag", home)
    assert {flag.by for flag in flags} == {oversight}
    assert (
        home.commune == User.objects.get(email="vocera@demo.comunas.test").resident.council.commune
    )
