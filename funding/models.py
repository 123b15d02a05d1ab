"""Where each winning project's money comes from, where it went, and what it bought.

Documents (an allocation, a disbursement request, a receipt) record what was asked and decided;
the ledger records every movement of money they cause. Balances are sums over the ledger, never
stored apart from it, and the ledger is append-only: a correction is a reversing entry.
"""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

MONEY = {"max_digits": 14, "decimal_places": 2}
CENT = Decimal("0.01")


class FundingSource(models.Model):
    """A funder: the national fund, a state or municipal government, or another body."""

    class Kind(models.TextChoices):
        NATIONAL = "national", _("National fund")
        STATE = "state", _("State government")
        MUNICIPAL = "municipal", _("Municipal government")
        OTHER = "other", _("Other")

    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    name = models.CharField(_("name"), max_length=200)
    state = models.ForeignKey(
        "communes.State",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("state"),
    )
    municipality = models.ForeignKey(
        "communes.Municipality",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("municipality"),
    )
    # The co-funder staff who act for this source (the national fund's are ministry staff).
    staff = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="funding_sources",
        verbose_name=_("staff acting for it"),
    )

    class Meta:
        ordering = ["kind", "name"]
        verbose_name = _("funding source")
        verbose_name_plural = _("funding sources")
        constraints = [
            models.UniqueConstraint(
                fields=["kind"], condition=Q(kind="national"), name="one_national_fund"
            ),
            models.UniqueConstraint(
                fields=["state"], condition=Q(kind="state"), name="one_source_per_state"
            ),
            models.UniqueConstraint(
                fields=["municipality"],
                condition=Q(kind="municipal"),
                name="one_source_per_municipality",
            ),
            models.CheckConstraint(
                condition=~Q(kind="state") | Q(state__isnull=False, municipality__isnull=True),
                name="state_source_has_state",
            ),
            models.CheckConstraint(
                condition=~Q(kind="municipal") | Q(municipality__isnull=False),
                name="municipal_source_has_municipality",
            ),
        ]

    def __str__(self):
        return self.name

    def communes_q(self, prefix: str = "") -> Q:
        """The communes in this source's territory, as a filter (``prefix``: the path to the
        commune, such as "commune__")."""
        if self.kind == self.Kind.STATE:
            return Q(**{f"{prefix}parish__municipality__state_id": self.state_id})
        if self.kind == self.Kind.MUNICIPAL:
            return Q(**{f"{prefix}parish__municipality_id": self.municipality_id})
        return Q()

    def covers(self, commune) -> bool:
        """Is the commune in this source's territory (a state or a municipality; the national
        fund and other funders cover the whole nation)?"""
        municipality = commune.parish.municipality
        if self.kind == self.Kind.STATE:
            return self.state_id == municipality.state_id
        if self.kind == self.Kind.MUNICIPAL:
            return self.municipality_id == municipality.pk
        return True


class Allocation(models.Model):
    """Money promised to a project: the round's allocation to a winner, or a co-funder's pledge."""

    class Kind(models.TextChoices):
        ALLOCATION = "allocation", _("Allocation of the round")
        PLEDGE = "pledge", _("Pledge")

    project = models.ForeignKey(
        "consultations.Project",
        on_delete=models.PROTECT,
        related_name="allocations",
        verbose_name=_("project"),
    )
    source = models.ForeignKey(
        FundingSource,
        on_delete=models.PROTECT,
        related_name="allocations",
        verbose_name=_("source"),
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    amount_usd = models.DecimalField(_("amount (USD)"), **MONEY)
    reason = models.TextField(_("reason"), blank=True)
    # Nobody: the job that allocates a published round's winners.
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
    )
    created_at = models.DateTimeField(_("at"))

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = _("allocation")
        verbose_name_plural = _("allocations")
        constraints = [
            models.UniqueConstraint(
                fields=["project", "source"],
                condition=Q(kind="allocation"),
                name="one_round_allocation_per_project_and_source",
            ),
            models.CheckConstraint(condition=Q(amount_usd__gt=0), name="allocation_positive"),
            models.CheckConstraint(
                condition=Q(kind="allocation") | ~Q(reason=""), name="pledge_has_reason"
            ),
        ]

    def __str__(self):
        return f"{self.project} · {self.source} · {self.amount_usd}"


class Disbursement(models.Model):
    """A commune's request for part of an allocation, its approval and the transfer itself."""

    class Status(models.TextChoices):
        REQUESTED = "requested", _("Requested")
        APPROVED = "approved", _("Approved, awaiting transfer")
        REJECTED = "rejected", _("Rejected")
        TRANSFERRED = "transferred", _("Transferred")

    allocation = models.ForeignKey(
        Allocation,
        on_delete=models.PROTECT,
        related_name="disbursements",
        verbose_name=_("allocation"),
    )
    project = models.ForeignKey(
        "consultations.Project",
        on_delete=models.PROTECT,
        related_name="disbursements",
        verbose_name=_("project"),
    )
    amount_usd = models.DecimalField(_("amount (USD)"), **MONEY)
    purpose = models.TextField(_("purpose"))
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.REQUESTED
    )
    approvals_needed = models.PositiveSmallIntegerField(_("approvals needed"), default=1)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("requested by"),
    )
    requested_at = models.DateTimeField(_("requested at"))
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    rejected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("rejected by"),
    )
    rejection_reason = models.TextField(_("why it was rejected"), blank=True)
    # The transfer, recorded by the paying source's staff.
    transferred_on = models.DateField(_("transfer date"), null=True, blank=True)
    bank_reference = models.CharField(_("bank reference"), max_length=60, blank=True)
    rate_ves_per_usd = models.DecimalField(
        _("official rate (VES per USD)"), max_digits=18, decimal_places=4, null=True, blank=True
    )
    amount_ves = models.DecimalField(
        _("amount (VES)"), max_digits=20, decimal_places=2, null=True, blank=True
    )
    transfer_recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("transfer recorded by"),
    )
    transfer_recorded_at = models.DateTimeField(_("transfer recorded at"), null=True, blank=True)

    class Meta:
        ordering = ["-requested_at", "-pk"]
        verbose_name = _("disbursement")
        verbose_name_plural = _("disbursements")
        constraints = [
            models.CheckConstraint(condition=Q(amount_usd__gt=0), name="disbursement_positive"),
            models.CheckConstraint(
                condition=~Q(status="transferred")
                | Q(
                    transferred_on__isnull=False,
                    rate_ves_per_usd__gt=0,
                    amount_ves__gt=0,
                    transfer_recorded_by__isnull=False,
                )
                & ~Q(bank_reference=""),
                name="transferred_has_its_transfer",
            ),
            models.CheckConstraint(
                condition=~Q(status="rejected") | ~Q(rejection_reason=""),
                name="rejected_has_reason",
            ),
            models.CheckConstraint(
                condition=Q(approvals_needed__in=[1, 2]), name="one_or_two_approvals"
            ),
        ]
        indexes = [models.Index(fields=["status", "requested_at"])]

    def __str__(self):
        return f"{self.project} · {self.amount_usd} USD · {self.get_status_display()}"


class DisbursementApproval(models.Model):
    disbursement = models.ForeignKey(
        Disbursement,
        on_delete=models.PROTECT,
        related_name="approvals",
        verbose_name=_("disbursement"),
    )
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("by")
    )
    at = models.DateTimeField(_("at"))

    class Meta:
        ordering = ["at"]
        verbose_name = _("approval")
        verbose_name_plural = _("approvals")
        constraints = [
            models.UniqueConstraint(fields=["disbursement", "by"], name="one_approval_per_person"),
        ]

    def __str__(self):
        return f"{self.disbursement_id} · {self.by}"


class SpendingReceipt(models.Model):
    """A receipt of money the commune spent on the project."""

    class Category(models.TextChoices):
        MATERIALS = "materials", _("Materials")
        LABOUR = "labour", _("Labour")
        EQUIPMENT = "equipment", _("Equipment")
        TRANSPORT = "transport", _("Transport")
        SERVICES = "services", _("Services")
        OTHER = "other", _("Other")

    project = models.ForeignKey(
        "consultations.Project",
        on_delete=models.PROTECT,
        related_name="receipts",
        verbose_name=_("project"),
    )
    file = models.ForeignKey(
        "communes.CommuneFile",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("file"),
    )
    supplier = models.CharField(_("supplier"), max_length=200)
    spent_on = models.DateField(_("date"))
    amount_usd = models.DecimalField(_("amount (USD)"), **MONEY)
    category = models.CharField(_("category"), max_length=12, choices=Category.choices)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("uploaded by"),
    )
    uploaded_at = models.DateTimeField(_("uploaded at"))

    class Meta:
        ordering = ["-spent_on", "-pk"]
        verbose_name = _("receipt")
        verbose_name_plural = _("receipts")
        constraints = [
            models.CheckConstraint(condition=Q(amount_usd__gt=0), name="receipt_positive"),
        ]

    def __str__(self):
        return f"{self.supplier} · {self.amount_usd} USD"


class ProjectStatus(models.TextChoices):
    NOT_STARTED = "not_started", _("Not started")
    IN_PROGRESS = "in_progress", _("In progress")
    COMPLETED = "completed", _("Completed")
    STALLED = "stalled", _("Stalled")


class ProgressUpdate(models.Model):
    """The commune's word on how the work goes: percent done, status, text and photos."""

    project = models.ForeignKey(
        "consultations.Project",
        on_delete=models.PROTECT,
        related_name="progress_updates",
        verbose_name=_("project"),
    )
    percent = models.PositiveSmallIntegerField(
        _("percent complete"), validators=[MinValueValidator(0), MaxValueValidator(100)]
    )
    status = models.CharField(_("status"), max_length=12, choices=ProjectStatus.choices)
    text = models.TextField(_("what was done"))
    stalled_reason = models.TextField(_("why it is stalled"), blank=True)
    photos = models.ManyToManyField(
        "communes.CommuneFile", blank=True, related_name="+", verbose_name=_("photos")
    )
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("by")
    )
    at = models.DateTimeField(_("at"))

    class Meta:
        ordering = ["-at", "-pk"]
        verbose_name = _("progress update")
        verbose_name_plural = _("progress updates")
        constraints = [
            models.CheckConstraint(condition=Q(percent__lte=100), name="percent_at_most_100"),
            models.CheckConstraint(
                condition=~Q(status="stalled") | ~Q(stalled_reason=""),
                name="stalled_has_reason",
            ),
            models.CheckConstraint(
                condition=~Q(status="completed") | Q(percent=100), name="completed_is_100"
            ),
        ]

    def __str__(self):
        return f"{self.project} · {self.percent}%"


class ClosingReport(models.Model):
    """A completed project's closing report, approved by the commune's assembly (its minutes)."""

    class Status(models.TextChoices):
        SUBMITTED = "submitted", _("Submitted")
        ACCEPTED = "accepted", _("Accepted")
        RETURNED = "returned", _("Returned for changes")

    project = models.ForeignKey(
        "consultations.Project",
        on_delete=models.PROTECT,
        related_name="closing_reports",
        verbose_name=_("project"),
    )
    text = models.TextField(_("report"))
    assembly_held_on = models.DateField(_("assembly that approved it"))
    minutes = models.ForeignKey(
        "communes.CommuneFile",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("minutes of the assembly"),
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.SUBMITTED
    )
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("submitted by"),
    )
    submitted_at = models.DateTimeField(_("submitted at"))
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("decided by"),
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    note = models.TextField(_("note"), blank=True)

    class Meta:
        ordering = ["-submitted_at"]
        verbose_name = _("closing report")
        verbose_name_plural = _("closing reports")
        constraints = [
            models.UniqueConstraint(
                fields=["project"],
                condition=Q(status__in=["submitted", "accepted"]),
                name="one_open_closing_report",
            ),
        ]

    def __str__(self):
        return f"{self.project} · {self.get_status_display()}"


class Flag(models.Model):
    """Social oversight (contraloría social) questions a receipt or an update; staff answer.
    Flags stay visible, answered or not."""

    project = models.ForeignKey(
        "consultations.Project",
        on_delete=models.PROTECT,
        related_name="flags",
        verbose_name=_("project"),
    )
    receipt = models.ForeignKey(
        SpendingReceipt,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="flags",
        verbose_name=_("receipt"),
    )
    update = models.ForeignKey(
        ProgressUpdate,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="flags",
        verbose_name=_("progress update"),
    )
    comment = models.TextField(_("comment"))
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("by")
    )
    at = models.DateTimeField(_("at"))
    answer = models.TextField(_("answer"), blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("answered by"),
    )
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)

    class Meta:
        ordering = ["-at"]
        verbose_name = _("flag")
        verbose_name_plural = _("flags")
        constraints = [
            models.CheckConstraint(
                condition=Q(receipt__isnull=False, update__isnull=True)
                | Q(receipt__isnull=True, update__isnull=False),
                name="flag_on_a_receipt_or_an_update",
            ),
            models.CheckConstraint(
                condition=Q(answered_at__isnull=True) | ~Q(answer=""),
                name="answered_flag_has_answer",
            ),
        ]

    def __str__(self):
        return self.comment[:60]


def counts_as():
    """The kind a ledger entry counts as in a balance: its own, or, for a reversal, the kind of
    the entry it reverses (so a reversed transfer takes away from what was transferred)."""
    return Coalesce("reverses__kind", "kind")


class LedgerEntry(models.Model):
    """One movement of money, never edited: balances are sums of these."""

    class Kind(models.TextChoices):
        ALLOCATION = "allocation", _("Allocation")
        PLEDGE = "pledge", _("Pledge")
        APPROVAL = "approval", _("Disbursement approved")
        TRANSFER = "transfer", _("Transfer")
        RECEIPT = "receipt", _("Receipt")
        REVERSAL = "reversal", _("Reversal")

    project = models.ForeignKey(
        "consultations.Project",
        on_delete=models.PROTECT,
        related_name="ledger",
        verbose_name=_("project"),
    )
    # Empty for a receipt: spending draws on the project's money, whoever sent it.
    source = models.ForeignKey(
        FundingSource,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="ledger",
        verbose_name=_("source"),
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    # Positive, except a reversal's, which is the negative of the entry it reverses.
    amount_usd = models.DecimalField(_("amount (USD)"), **MONEY)
    # What a reversal undoes: the kind it counts against.
    reverses = models.OneToOneField(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reversed_by",
        verbose_name=_("reverses"),
    )
    allocation = models.ForeignKey(
        Allocation,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="ledger",
        verbose_name=_("allocation"),
    )
    disbursement = models.ForeignKey(
        Disbursement,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="ledger",
        verbose_name=_("disbursement"),
    )
    receipt = models.ForeignKey(
        SpendingReceipt,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="ledger",
        verbose_name=_("receipt"),
    )
    # Nobody: the scheduled job.
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
    )
    at = models.DateTimeField(_("at"))
    reason = models.TextField(_("why"), blank=True)

    class Meta:
        ordering = ["at", "pk"]
        verbose_name = _("ledger entry")
        verbose_name_plural = _("ledger")
        constraints = [
            models.CheckConstraint(
                condition=(Q(kind="reversal") & Q(amount_usd__lt=0) & Q(reverses__isnull=False))
                | (~Q(kind="reversal") & Q(amount_usd__gt=0) & Q(reverses__isnull=True)),
                name="ledger_sign_follows_kind",
            ),
            models.CheckConstraint(
                condition=~Q(kind="reversal") | ~Q(reason=""), name="reversal_has_reason"
            ),
        ]
        indexes = [models.Index(fields=["project", "kind"]), models.Index(fields=["source", "at"])]

    def __str__(self):
        return f"{self.get_kind_display()} · {self.amount_usd} USD"
