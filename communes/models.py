import datetime
import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .cedula import NORMALISED_PATTERN

SPOKESPERSON_TERM_YEARS = 3


class State(models.Model):
    """A first-level entity (state or Distrito Capital), with its INE code."""

    code = models.CharField(_("code"), max_length=2, unique=True)
    name = models.CharField(_("name"), max_length=100)

    class Meta:
        ordering = ["code"]
        verbose_name = _("state")
        verbose_name_plural = _("states")
        constraints = [
            models.CheckConstraint(
                condition=Q(code__regex=r"^[0-9]{2}$"), name="state_code_2_digits"
            )
        ]

    def __str__(self):
        return self.name


class Municipality(models.Model):
    state = models.ForeignKey(
        State, on_delete=models.PROTECT, related_name="municipalities", verbose_name=_("state")
    )
    code = models.CharField(_("code"), max_length=4, unique=True)
    name = models.CharField(_("name"), max_length=100)

    class Meta:
        ordering = ["code"]
        verbose_name = _("municipality")
        verbose_name_plural = _("municipalities")
        constraints = [
            models.CheckConstraint(
                condition=Q(code__regex=r"^[0-9]{4}$"), name="municipality_code_4_digits"
            )
        ]

    def __str__(self):
        return self.name


class Parish(models.Model):
    municipality = models.ForeignKey(
        Municipality,
        on_delete=models.PROTECT,
        related_name="parishes",
        verbose_name=_("municipality"),
    )
    code = models.CharField(_("code"), max_length=6, unique=True)
    name = models.CharField(_("name"), max_length=100)

    class Meta:
        ordering = ["code"]
        verbose_name = _("parish")
        verbose_name_plural = _("parishes")
        constraints = [
            models.CheckConstraint(
                condition=Q(code__regex=r"^[0-9]{6}$"), name="parish_code_6_digits"
            )
        ]

    def __str__(self):
        return self.name


class Commune(models.Model):
    """The unit that votes and receives funds: a commune or a communal circuit."""

    class Kind(models.TextChoices):
        COMMUNE = "commune", _("Commune")
        CIRCUIT = "circuit", _("Communal circuit")

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        SUSPENDED = "suspended", _("Suspended")

    code = models.CharField(
        _("registry code"),
        max_length=32,
        unique=True,
        help_text=_("The code of the communes' registry, for example COM-0101-0001."),
    )
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.COMMUNE)
    parish = models.ForeignKey(
        Parish, on_delete=models.PROTECT, related_name="communes", verbose_name=_("parish")
    )
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.ACTIVE
    )
    registered_on = models.DateField(_("registration date"))
    became_commune_on = models.DateField(
        _("became a commune on"),
        null=True,
        blank=True,
        help_text=_("Set when a communal circuit becomes a commune; its history stays with it."),
    )
    bank_account = models.CharField(
        _("communal bank account"),
        max_length=20,
        blank=True,
        help_text=_("The 20 digits of the communal bank's account, if it has one."),
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("commune")
        verbose_name_plural = _("communes")
        indexes = [models.Index(fields=["kind", "status"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(bank_account="") | Q(bank_account__regex=r"^[0-9]{20}$"),
                name="commune_bank_account_20_digits",
            ),
            models.CheckConstraint(
                condition=Q(became_commune_on__isnull=True) | Q(kind="commune"),
                name="commune_only_communes_have_conversion_date",
            ),
            models.CheckConstraint(
                condition=Q(became_commune_on__isnull=True)
                | Q(became_commune_on__gte=models.F("registered_on")),
                name="commune_conversion_after_registration",
            ),
        ]

    def __str__(self):
        return self.name


class CommunalCouncil(models.Model):
    """A neighbourhood unit; several make up a commune."""

    class Kind(models.TextChoices):
        URBAN = "urban", _("Urban")
        RURAL = "rural", _("Rural")
        INDIGENOUS = "indigenous", _("Indigenous")

    commune = models.ForeignKey(
        Commune, on_delete=models.PROTECT, related_name="councils", verbose_name=_("commune")
    )
    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=200)
    families = models.PositiveIntegerField(_("number of families"))
    kind = models.CharField(_("type"), max_length=16, choices=Kind.choices, default=Kind.URBAN)

    class Meta:
        ordering = ["name"]
        verbose_name = _("communal council")
        verbose_name_plural = _("communal councils")
        constraints = [
            models.CheckConstraint(condition=Q(families__gt=0), name="council_has_families"),
        ]

    def __str__(self):
        return self.name


def age_on(birth_date: datetime.date, day: datetime.date) -> int:
    """Years completed on that day."""
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


class Resident(models.Model):
    """A person on the census (voter register) of a communal council."""

    class Verification(models.TextChoices):
        UNVERIFIED = "unverified", _("Unverified")
        VERIFIED = "verified", _("Verified")
        REJECTED = "rejected", _("Rejected")

    cedula = models.CharField(_("cédula"), max_length=11, unique=True)
    full_name = models.CharField(_("full name"), max_length=200)
    birth_date = models.DateField(_("birth date"))
    council = models.ForeignKey(
        CommunalCouncil,
        on_delete=models.PROTECT,
        related_name="residents",
        verbose_name=_("communal council"),
    )
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="resident",
        verbose_name=_("user account"),
    )
    verification = models.CharField(
        _("verification"),
        max_length=16,
        choices=Verification.choices,
        default=Verification.UNVERIFIED,
    )
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("verified or rejected by"),
    )
    verified_at = models.DateTimeField(_("verified or rejected at"), null=True, blank=True)

    class Meta:
        ordering = ["full_name"]
        verbose_name = _("resident")
        verbose_name_plural = _("residents")
        constraints = [
            models.CheckConstraint(
                condition=Q(cedula__regex=NORMALISED_PATTERN), name="resident_cedula_normalised"
            ),
            models.CheckConstraint(
                condition=Q(birth_date__gte=datetime.date(1900, 1, 1)),
                name="resident_born_after_1900",
            ),
            # A verified record always belongs to an account, and says who verified it and when.
            models.CheckConstraint(
                condition=~Q(verification="verified")
                | Q(user__isnull=False, verified_by__isnull=False, verified_at__isnull=False),
                name="resident_verified_has_account_and_verifier",
            ),
        ]

    def __str__(self):
        return f"{self.full_name} ({self.cedula})"

    def age_on(self, day: datetime.date) -> int:
        return age_on(self.birth_date, day)


class ResidentClaim(models.Model):
    """A user's request to be recognised as the person of a census record.

    The claim holds the record while it waits: no other account can claim it, and the same
    account cannot hold two records. The database enforces both.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")

    resident = models.ForeignKey(
        Resident, on_delete=models.CASCADE, related_name="claims", verbose_name=_("resident")
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="resident_claims",
        verbose_name=_("user"),
    )
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.PENDING
    )
    created_at = models.DateTimeField(_("claimed at"), default=timezone.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("decided by"),
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    rejection_reason = models.TextField(_("reason for rejection"), blank=True)

    class Meta:
        ordering = ["created_at"]
        verbose_name = _("census claim")
        verbose_name_plural = _("census claims")
        constraints = [
            models.UniqueConstraint(
                fields=["resident"],
                condition=Q(status__in=["pending", "approved"]),
                name="claim_one_holder_per_resident",
            ),
            models.UniqueConstraint(
                fields=["user"],
                condition=Q(status__in=["pending", "approved"]),
                name="claim_one_record_per_user",
            ),
            models.CheckConstraint(
                condition=Q(status="pending")
                | Q(decided_by__isnull=False, decided_at__isnull=False),
                name="claim_decision_has_decider",
            ),
            models.CheckConstraint(
                condition=~Q(status="rejected") | ~Q(rejection_reason=""),
                name="claim_rejection_has_reason",
            ),
            models.CheckConstraint(
                condition=~Q(decided_by=models.F("user")), name="claim_not_decided_by_claimant"
            ),
        ]

    def __str__(self):
        return f"{self.user} → {self.resident}"


class Spokesperson(models.Model):
    """An elected spokesperson (vocero/a) of a commune, in one unit, for a three-year term."""

    class Unit(models.TextChoices):
        EXECUTIVE = "executive", _("Executive")
        FINANCE = "finance", _("Finance")
        SOCIAL_OVERSIGHT = "social_oversight", _("Social oversight")
        ELECTORAL = "electoral", _("Electoral")

    class Standing(models.TextChoices):
        PRINCIPAL = "principal", _("Principal")
        SUBSTITUTE = "substitute", _("Substitute")

    resident = models.ForeignKey(
        Resident,
        on_delete=models.PROTECT,
        related_name="spokesperson_terms",
        verbose_name=_("resident"),
    )
    commune = models.ForeignKey(
        Commune, on_delete=models.PROTECT, related_name="spokespeople", verbose_name=_("commune")
    )
    unit = models.CharField(_("unit"), max_length=24, choices=Unit.choices)
    standing = models.CharField(
        _("principal or substitute"),
        max_length=16,
        choices=Standing.choices,
        default=Standing.PRINCIPAL,
    )
    term_start = models.DateField(_("term start"))
    term_end = models.DateField(_("term end"))
    ended_on = models.DateField(
        _("left office on"),
        null=True,
        blank=True,
        help_text=_(
            "Set when the spokesperson leaves office, whether at the end of the term or before."
        ),
    )

    class Meta:
        ordering = ["commune", "unit", "standing"]
        verbose_name = _("spokesperson")
        verbose_name_plural = _("spokespeople")
        constraints = [
            # A resident holds one unit at a time: at most one term not yet ended.
            models.UniqueConstraint(
                fields=["resident"],
                condition=Q(ended_on__isnull=True),
                name="spokesperson_one_unit_at_a_time",
            ),
            models.CheckConstraint(
                condition=Q(term_end__gt=models.F("term_start")), name="spokesperson_term_ordered"
            ),
            models.CheckConstraint(
                condition=Q(ended_on__isnull=True) | Q(ended_on__gte=models.F("term_start")),
                name="spokesperson_ends_after_start",
            ),
        ]

    def __str__(self):
        return f"{self.resident.full_name} · {self.get_unit_display()}"

    def serves_on(self, day: datetime.date) -> bool:
        return self.term_start <= day <= self.term_end and (
            self.ended_on is None or day <= self.ended_on
        )


class CommuneFile(models.Model):
    """A file a commune's people uploaded (minutes, receipts, photos), stored under a random name.

    Served only through the download view, which asks the permissions module; a public file
    (an assembly's minutes, say) is open to everyone.
    """

    class Kind(models.TextChoices):
        PDF = "pdf", "PDF"
        JPEG = "jpeg", "JPEG"
        PNG = "png", "PNG"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    commune = models.ForeignKey(
        Commune, on_delete=models.PROTECT, related_name="files", verbose_name=_("commune")
    )
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    file = models.FileField(_("file"), max_length=200)
    original_name = models.CharField(_("original name"), max_length=255)
    size = models.PositiveIntegerField(_("size in bytes"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    is_public = models.BooleanField(_("public"), default=False)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("uploaded by"),
    )
    uploaded_at = models.DateTimeField(_("uploaded at"), default=timezone.now)

    class Meta:
        ordering = ["-uploaded_at"]
        verbose_name = _("commune file")
        verbose_name_plural = _("commune files")

    def __str__(self):
        return self.original_name
