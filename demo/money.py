"""The published round's money trail, through the funding services: allocations to its winners,
a state government's pledge, disbursements at every stage, receipts, progress with photos, a
stalled project, a completed one with its closing report, and social oversight's questions,
answered or not. Dated between the round's publication and now."""

import datetime
import random
from decimal import Decimal

from django.db.models import Count, Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import StaffRole, User
from accounts.services import staff_role_grant
from communes.models import Commune
from consultations.models import Consultation, Project
from cycle.services import round_allocate
from funding import services as funding
from funding.models import Disbursement, FundingSource, LedgerEntry, ProjectStatus
from voting.models import ProjectResult

from .documents import pdf_upload, photo_upload
from .people import ROLE_ACCOUNTS, account, spokesperson_account, user_without_password

# The finance and social-oversight spokespeople of the demo accounts' commune sign in
# (finanzas@…, contraloria@…); the finance spokespeople of the other communes whose money moves
# (finanzas1@… and on) and a second ministry approver (ministerio2@…) only acted in the past and
# have no password.
FINANCE_PREFIX = "finanzas"
OVERSIGHT = "contraloria"
SECOND_APPROVER = ("ministerio2", "Andreína", "Márquez")
# The allocations were made this long after the results were published.
ALLOCATED_AFTER = datetime.timedelta(hours=1)


def money_seed(home: Commune, *, now: datetime.datetime) -> tuple[list[tuple[str, str]], list[str]]:
    """The money of the last published round, made once. Returns the accounts to print
    (email, role) and lines that sum it up."""
    past = (
        Consultation.objects.filter(phase=Consultation.Phase.PUBLISHED)
        .order_by("-year", "-quarter")
        .first()
    )
    if past is None:
        return [], []
    published = (
        past.transitions.filter(to_phase=Consultation.Phase.PUBLISHED)
        .values_list("at", flat=True)
        .first()
    ) or past.tally_deadline_at
    round_allocate(consultation_id=past.pk, now=published + ALLOCATED_AFTER)
    winners = [
        result.project
        for result in ProjectResult.objects.filter(consultation=past, is_winner=True)
        .select_related("project__commune__parish__municipality__state")
        .order_by("commune__code", "rank")
    ]
    cofunder_state = next(
        state for local, *_rest, state in ROLE_ACCOUNTS if local == "cofinanciador"
    )

    def state_of(project: Project) -> str:
        return project.commune.parish.municipality.state.code

    home_project = next((p for p in winners if p.commune_id == home.pk), winners[0])
    lara = next(
        p
        for p in winners
        if state_of(p) == cofunder_state and p.commune_id != home_project.commune_id
    )
    stalled, completed = [
        p for p in winners if p.commune_id not in (home_project.commune_id, lara.commune_id)
    ][:2]

    # Who acts: the spokespeople of each commune, the ministry, the state's co-funder.
    finance = spokesperson_account(home_project.commune, "finance", FINANCE_PREFIX)
    oversight = spokesperson_account(home_project.commune, "social_oversight", OVERSIGHT)
    finance_of = {home_project.pk: finance}
    for number, project in enumerate((stalled, completed, lara), start=1):
        finance_of[project.pk] = spokesperson_account(
            project.commune, "finance", f"{FINANCE_PREFIX}{number}", password=False
        )
    second = user_without_password(*SECOND_APPROVER)
    staff_role_grant(user=second, kind=StaffRole.Kind.MINISTRY_STAFF, by=None)
    cofunder = account("cofinanciador")
    state_fund = funding.source_for(FundingSource.Kind.STATE, lara)
    state_fund.staff.add(cofunder)

    printed = [
        (
            finance.email,
            str(_("Finance spokesperson, %(commune)s") % {"commune": home_project.commune.name}),
        ),
        (
            oversight.email,
            str(
                _("Social-oversight spokesperson, %(commune)s")
                % {"commune": home_project.commune.name}
            ),
        ),
    ]
    if not Disbursement.objects.filter(project__consultation=past).exists():
        _money_trail(
            published=published,
            now=now,
            home=home_project,
            stalled=stalled,
            completed=completed,
            lara=lara,
            finance_of=finance_of,
            oversight=oversight,
            ministry=account("ministerio"),
            second=second,
            cofunder=cofunder,
            state_fund=state_fund,
        )
    return printed, _money_summary(past, finance_of, second)


def _money_trail(
    *,
    published: datetime.datetime,
    now: datetime.datetime,
    home: Project,
    stalled: Project,
    completed: Project,
    lara: Project,
    finance_of: dict[int, User],
    oversight: User,
    ministry: User,
    second: User,
    cofunder: User,
    state_fund: FundingSource,
) -> None:
    """Each step at a share of the time between the publication (0) and now (1); the finance
    spokesperson of the project's commune asks, spends and reports."""
    span = now - published
    rng = random.Random(8)  # apart from the main generator: the rest of the demo stays put

    def at(share: float) -> datetime.datetime:
        return published + span * share

    def ask(project, amount, purpose, share, *, allocation=None):
        return funding.disbursement_request(
            allocation=allocation or project.allocations.get(kind="allocation"),
            amount=amount,
            purpose=purpose,
            by=finance_of[project.pk],
            now=at(share),
        )

    def approve(disbursement, by, share):
        return funding.disbursement_approve(disbursement=disbursement, by=by, now=at(share))

    def transfer(disbursement, by, share):
        when = at(share)
        days = (when - published).days
        return funding.disbursement_transfer_record(
            disbursement=disbursement,
            by=by,
            transferred_on=timezone.localdate(when),
            bank_reference=f"BDV-{rng.randrange(10**11):011d}",
            rate_ves_per_usd=Decimal("186.45") + Decimal("0.38") * days,
            now=when,
        )

    def spend(project, amount, supplier, category, share):
        when = at(share)
        return funding.receipt_add(
            project=project,
            upload=pdf_upload(f"factura-{rng.randrange(10**6):06d}.pdf"),
            supplier=supplier,
            spent_on=timezone.localdate(when),
            amount=amount,
            category=category,
            by=finance_of[project.pk],
            now=when,
        )

    def progress(project, percent, status, text, share, *, stalled_reason="", photos=()):
        return funding.progress_add(
            project=project,
            percent=percent,
            status=status,
            text=text,
            stalled_reason=stalled_reason,
            photos=photos,
            by=finance_of[project.pk],
            now=at(share),
        )

    # The demo accounts' commune: two transfers, receipts for most of them, the work under
    # way with photos, social oversight's questions (one answered), a third request waiting.
    first = ask(home, "4000", "Materiales para la primera etapa de la obra.", 0.06)
    approve(first, ministry, 0.09)
    transfer(first, ministry, 0.12)
    spend(home, "1850", "Ferretería y Materiales El Progreso", "materials", 0.16)
    spend(home, "1200", "Cooperativa de Construcción Manos Unidas", "labour", 0.20)
    freight = spend(home, "650", "Transporte de Carga Los Andes", "transport", 0.24)
    progress(
        home,
        35,
        ProjectStatus.IN_PROGRESS,
        "Se limpió el terreno y se hicieron las bases de la estructura.",
        0.22,
    )
    flag = funding.flag_raise(
        by=oversight,
        comment="El flete parece alto para la distancia: ¿cuántos viajes cubre la factura?",
        receipt=freight,
        now=at(0.27),
    )
    funding.flag_answer(
        flag=flag,
        answer="Se verificó con la cooperativa de transporte: la factura cubre tres viajes "
        "con cemento y cabillas, a la tarifa publicada.",
        by=ministry,
        now=at(0.31),
    )
    second_tranche = ask(home, "4000", "Segunda etapa: techo y acabados.", 0.34)
    approve(second_tranche, ministry, 0.37)
    transfer(second_tranche, ministry, 0.41)
    spend(home, "2100", "Ferretería y Materiales El Progreso", "materials", 0.47)
    equipment = spend(home, "900", "Suministros Industriales Guaicaipuro", "equipment", 0.55)
    progress(
        home,
        60,
        ProjectStatus.IN_PROGRESS,
        "La estructura está montada; faltan el techo y la pintura.",
        0.60,
        photos=[photo_upload("obra-1.png", 1), photo_upload("obra-2.png", 2)],
    )
    funding.flag_raise(
        by=oversight,
        comment="La factura del equipo no indica el serial ni la garantía.",
        receipt=equipment,
        now=at(0.66),
    )
    ask(home, "2000", "Última etapa: pintura, señalización y entrega.", 0.85)

    # A request turned down with its reason, then a new one above the threshold: approved
    # by one person of the ministry, waiting for a second; the work stalled meanwhile.
    too_much = ask(stalled, "9500", "Toda la obra de una vez.", 0.05)
    funding.disbursement_reject(
        disbursement=too_much,
        by=ministry,
        reason="El presupuesto anexo suma 7.750 USD y no justifica el resto; pidan el dinero "
        "por etapas, con el presupuesto de cada una.",
        now=at(0.10),
    )
    halfway = ask(stalled, "6000", "Primera etapa, según el presupuesto anexo.", 0.20)
    approve(halfway, second, 0.25)
    progress(
        stalled,
        10,
        ProjectStatus.STALLED,
        "Se midió el terreno y se pidieron presupuestos.",
        0.50,
        stalled_reason="Sin el primer desembolso no se pueden comprar los materiales.",
    )

    # A project finished: two transfers (the first above the threshold, approved by two),
    # receipts for nearly all of it, and its closing report with the assembly's minutes.
    big = ask(completed, "6000", "Materiales y mano de obra de la primera etapa.", 0.04)
    approve(big, second, 0.06)
    approve(big, ministry, 0.08)
    transfer(big, ministry, 0.10)
    spend(completed, "3500", "Distribuidora de Materiales La Ceiba", "materials", 0.14)
    spend(completed, "1800", "Cooperativa de Construcción El Samán", "labour", 0.20)
    progress(
        completed,
        50,
        ProjectStatus.IN_PROGRESS,
        "Primera etapa terminada.",
        0.22,
        photos=[photo_upload("avance.png", 3)],
    )
    rest = ask(completed, "4000", "Segunda etapa y entrega de la obra.", 0.26)
    approve(rest, ministry, 0.28)
    transfer(rest, ministry, 0.31)
    spend(completed, "2900", "Distribuidora de Materiales La Ceiba", "materials", 0.38)
    spend(completed, "1750", "Cooperativa de Construcción El Samán", "labour", 0.48)
    progress(
        completed,
        100,
        ProjectStatus.COMPLETED,
        "Obra terminada y entregada a la comunidad.",
        0.55,
        photos=[photo_upload("entrega.png", 4)],
    )
    funding.closing_report_submit(
        project=completed,
        text="La obra se terminó según lo aprobado en asamblea; se gastaron 9.950 USD de "
        "10.000 USD, con todas sus facturas publicadas.",
        assembly_held_on=timezone.localdate(at(0.58)),
        minutes=pdf_upload("acta-asamblea-cierre.pdf"),
        by=finance_of[completed.pk],
        now=at(0.60),
    )

    # Lara: the national fund's first transfer, and the state government's pledge for the
    # dearer cement; its request is approved by the co-funder, awaiting its transfer.
    national = ask(lara, "3000", "Primera etapa.", 0.08)
    approve(national, ministry, 0.10)
    transfer(national, ministry, 0.13)
    pledge = funding.pledge_create(
        project=lara,
        source=state_fund,
        amount="2500",
        reason="El cemento subió de precio; la gobernación cubre la diferencia.",
        by=cofunder,
        now=at(0.15),
    )
    spend(lara, "2700", "Materiales de Construcción Tierra de Sol", "materials", 0.20)
    progress(
        lara,
        30,
        ProjectStatus.IN_PROGRESS,
        "Se instalaron los postes de la primera cuadra.",
        0.25,
    )
    cement = ask(lara, "2500", "Cemento de la segunda etapa.", 0.30, allocation=pledge)
    approve(cement, cofunder, 0.35)


def _money_summary(past: Consultation, finance_of: dict[int, User], second: User) -> list[str]:
    def net(*kinds):
        return Coalesce(Sum("amount_usd", filter=Q(counts_as__in=kinds)), Decimal(0))

    totals = (
        LedgerEntry.objects.filter(project__consultation=past)
        .annotate(counts_as=Coalesce("reverses__kind", "kind"))
        .aggregate(
            projects=Count("project", distinct=True),
            allocated=net("allocation", "pledge"),
            disbursed=net("transfer"),
            spent=net("receipt"),
        )
    )
    stages = Disbursement.objects.filter(project__consultation=past).aggregate(
        waiting=Count("pk", filter=Q(status=Disbursement.Status.REQUESTED)),
        to_transfer=Count("pk", filter=Q(status=Disbursement.Status.APPROVED)),
    )
    others = [user.email for user in list(finance_of.values())[1:]]
    return [
        _(
            "%(round)s: %(projects)d funded projects, %(allocated)s USD allocated or "
            "pledged, %(disbursed)s USD transferred, %(spent)s USD spent with receipts; "
            "%(waiting)d requests waiting for approval, %(to_transfer)d approved and "
            "awaiting transfer."
        )
        % {
            "round": past.name,
            "projects": totals["projects"],
            "allocated": funding.usd(totals["allocated"]),
            "disbursed": funding.usd(totals["disbursed"]),
            "spent": funding.usd(totals["spent"]),
            **stages,
        },
        _(
            "%(finance)s (finance spokespeople of other funded communes) and %(second)s "
            "(a second ministry approver) have no password."
        )
        % {"finance": ", ".join(others), "second": second.email},
    ]
