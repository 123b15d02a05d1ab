import datetime
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from communes.models import Commune


class Consultation(models.Model):
    """One round of the people's consultation: its phases, their dates, and its rules."""

    class Phase(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SCHEDULED = "scheduled", _("Scheduled")
        ASSEMBLIES = "assemblies", _("Assemblies")
        VALIDATION = "validation", _("Validation")
        VOTING = "voting", _("Voting")
        COUNTING = "counting", _("Counting")
        PUBLISHED = "published", _("Published")
        CANCELLED = "cancelled", _("Cancelled")

    class TieBreak(models.TextChoices):
        PRIORITY_THEN_LOT = "priority_then_lot", _("The assembly's priority order, then a lot")
        LOT = "lot", _("A lot drawn from the published seed")

    class CountingRule(models.TextChoices):
        TOP_N = "top_n", _("The most-voted projects of each commune, as many as its winners")
        GREEDY_BUDGET = (
            "greedy_budget",
            _("Most votes first within the commune's budget, skipping what no longer fits"),
        )

    class Channels(models.TextChoices):
        BOTH = "both", _("Online and in person")
        ONLINE = "online", _("Online only")
        IN_PERSON = "in_person", _("In person only")

    class Funder(models.TextChoices):
        NATIONAL = "national", _("National fund")
        STATE = "state", _("State government")
        MUNICIPAL = "municipal", _("Municipal government")

    name = models.CharField(_("name"), max_length=120)
    year = models.PositiveSmallIntegerField(_("year"))
    quarter = models.PositiveSmallIntegerField(_("quarter"))
    phase = models.CharField(
        _("phase"), max_length=16, choices=Phase.choices, default=Phase.DRAFT, db_index=True
    )
    created_from = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created from"),
    )

    # Phase dates: each phase after "scheduled" starts at its date.
    assemblies_open_at = models.DateTimeField(_("assemblies open"), null=True, blank=True)
    validation_opens_at = models.DateTimeField(_("validation opens"), null=True, blank=True)
    voting_opens_at = models.DateTimeField(_("voting opens"), null=True, blank=True)
    voting_closes_at = models.DateTimeField(_("voting closes"), null=True, blank=True)
    tally_deadline_at = models.DateTimeField(_("tally-sheet deadline"), null=True, blank=True)

    # Rules, frozen once voting opens.
    min_age = models.PositiveSmallIntegerField(_("minimum age"), default=15)
    max_age = models.PositiveSmallIntegerField(
        _("maximum age"),
        null=True,
        blank=True,
        help_text=_("Empty for no limit; 35 for a youth round."),
    )
    max_options = models.PositiveSmallIntegerField(_("maximum options per ballot"), default=7)
    winners_per_commune = models.PositiveSmallIntegerField(_("winners per commune"), default=1)
    funder_by_rank = models.JSONField(
        _("funder of each rank"),
        default=list,
        help_text=_("One funder per winning rank: rank 1 first."),
    )
    amount_usd = models.DecimalField(
        _("amount per winning project (USD)"),
        max_digits=12,
        decimal_places=2,
        default=Decimal("10000"),
    )
    tie_break = models.CharField(
        _("tie-break rule"),
        max_length=24,
        choices=TieBreak.choices,
        default=TieBreak.PRIORITY_THEN_LOT,
    )
    counting_rule = models.CharField(
        _("counting rule"),
        max_length=16,
        choices=CountingRule.choices,
        default=CountingRule.TOP_N,
    )
    commune_budget_usd = models.DecimalField(
        _("budget per commune (USD)"),
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_(
            "For the rule within the commune's budget; empty: the amount per winning project "
            "times the winners per commune."
        ),
    )
    # Awards by participation, computed by the count from the published figures.
    award_state_most_voters = models.BooleanField(
        _("award: the commune with most voters in each state gets every approved project"),
        default=False,
    )
    award_youth_communes = models.PositiveSmallIntegerField(
        _("award: communes with most voters aged 15 to 35 that get one more project"),
        default=0,
        help_text=_("0: no such award."),
    )
    channels = models.CharField(
        _("voting channels"), max_length=16, choices=Channels.choices, default=Channels.BOTH
    )
    voting_hours_start = models.TimeField(_("voting hours from"), default=datetime.time(7, 0))
    voting_hours_end = models.TimeField(_("voting hours until"), default=datetime.time(18, 0))
    min_turnout_percent = models.DecimalField(
        _("minimum turnout (%)"),
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("Empty: a commune's result stands whatever its turnout."),
    )
    quorum_first_call_percent = models.DecimalField(
        _("assembly quorum, first call (%)"), max_digits=5, decimal_places=2, default=Decimal("20")
    )
    quorum_second_call_percent = models.DecimalField(
        _("assembly quorum, second call (%)"), max_digits=5, decimal_places=2, default=Decimal("10")
    )
    # The urn's key: made by n electoral commissioners so that any k of them are needed to
    # count (voting.commissioners), or (0) by the server alone, 1 of 1: the demo's and tests'.
    key_shares_needed = models.PositiveSmallIntegerField(
        _("commissioners needed to count"),
        default=0,
        help_text=_("0: no commissioners, the server holds the key. Otherwise k of the n."),
    )
    key_shares_total = models.PositiveSmallIntegerField(
        _("electoral commissioners"), default=0, help_text=_("0 when the server holds the key.")
    )
    # Production refuses to open voting with the server's own key unless this says why.
    single_key_reason = models.TextField(
        _("why the server holds the key"),
        blank=True,
        help_text=_("Needed to open voting without electoral commissioners outside the demo."),
    )
    rules_frozen_at = models.DateTimeField(
        _("rules frozen at"), null=True, blank=True, editable=False
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["-year", "-quarter", "-pk"]
        verbose_name = _("consultation")
        verbose_name_plural = _("consultations")
        constraints = [
            # One live round per quarter: the next-round job can never create two.
            models.UniqueConstraint(
                fields=["year", "quarter"],
                condition=~Q(phase="cancelled"),
                name="consultation_one_live_round_per_quarter",
            ),
            models.CheckConstraint(
                condition=Q(quarter__gte=1, quarter__lte=4), name="consultation_quarter_1_to_4"
            ),
            models.CheckConstraint(
                condition=Q(max_age__isnull=True) | Q(max_age__gte=F("min_age")),
                name="consultation_age_range_ordered",
            ),
            models.CheckConstraint(
                condition=Q(max_options__gte=2, winners_per_commune__gte=1)
                & Q(winners_per_commune__lt=F("max_options")),
                name="consultation_ballot_sizes",
            ),
            models.CheckConstraint(
                condition=Q(amount_usd__gt=0), name="consultation_amount_positive"
            ),
            models.CheckConstraint(
                condition=Q(commune_budget_usd__isnull=True) | Q(commune_budget_usd__gt=0),
                name="consultation_commune_budget_positive",
            ),
            models.CheckConstraint(
                condition=Q(key_shares_needed=0, key_shares_total=0)
                | Q(
                    key_shares_needed__gte=2,
                    key_shares_needed__lte=F("key_shares_total"),
                    key_shares_total__lte=10,
                ),
                name="consultation_key_shares_k_of_n",
            ),
            models.CheckConstraint(
                condition=Q(voting_hours_end__gt=F("voting_hours_start")),
                name="consultation_voting_hours_ordered",
            ),
            # The dates, once set, follow the phases' order.
            models.CheckConstraint(
                condition=Q(assemblies_open_at__isnull=True)
                | Q(validation_opens_at__isnull=True)
                | Q(validation_opens_at__gt=F("assemblies_open_at")),
                name="consultation_validation_after_assemblies",
            ),
            models.CheckConstraint(
                condition=Q(validation_opens_at__isnull=True)
                | Q(voting_opens_at__isnull=True)
                | Q(voting_opens_at__gt=F("validation_opens_at")),
                name="consultation_voting_after_validation",
            ),
            models.CheckConstraint(
                condition=Q(voting_opens_at__isnull=True)
                | Q(voting_closes_at__isnull=True)
                | Q(voting_closes_at__gt=F("voting_opens_at")),
                name="consultation_voting_closes_after_it_opens",
            ),
            models.CheckConstraint(
                condition=Q(voting_closes_at__isnull=True)
                | Q(tally_deadline_at__isnull=True)
                | Q(tally_deadline_at__gte=F("voting_closes_at")),
                name="consultation_tally_deadline_after_voting",
            ),
            # A round past its draft has all its dates.
            models.CheckConstraint(
                condition=Q(phase__in=["draft", "cancelled"])
                | Q(
                    assemblies_open_at__isnull=False,
                    validation_opens_at__isnull=False,
                    voting_opens_at__isnull=False,
                    voting_closes_at__isnull=False,
                    tally_deadline_at__isnull=False,
                ),
                name="consultation_scheduled_has_dates",
            ),
        ]

    def __str__(self):
        return self.name

    def commune_budget(self) -> Decimal:
        """What the rule "within the commune's budget" may spend in each commune."""
        if self.commune_budget_usd is not None:
            return self.commune_budget_usd
        return self.amount_usd * self.winners_per_commune

    def funder_labels(self) -> list[str]:
        return [str(Consultation.Funder(funder).label) for funder in self.funder_by_rank or []]


# The phase machine's order, and the date at which a round enters each phase after "scheduled"
# (the beat moves it then; a cycle admin may move it earlier, with a reason).
NEXT_PHASE = {
    Consultation.Phase.SCHEDULED: Consultation.Phase.ASSEMBLIES,
    Consultation.Phase.ASSEMBLIES: Consultation.Phase.VALIDATION,
    Consultation.Phase.VALIDATION: Consultation.Phase.VOTING,
    Consultation.Phase.VOTING: Consultation.Phase.COUNTING,
    Consultation.Phase.COUNTING: Consultation.Phase.PUBLISHED,
}
PHASE_STARTS = {
    Consultation.Phase.ASSEMBLIES: "assemblies_open_at",
    Consultation.Phase.VALIDATION: "validation_opens_at",
    Consultation.Phase.VOTING: "voting_opens_at",
    Consultation.Phase.COUNTING: "voting_closes_at",
    Consultation.Phase.PUBLISHED: "tally_deadline_at",
}


class PhaseTransition(models.Model):
    """A round entered a phase: when, from which, by whom (nobody: the scheduled job), and why.

    A round enters each phase at most once; the database refuses a second entry, so two ticks
    racing each other cannot both move the round.
    """

    consultation = models.ForeignKey(
        Consultation,
        on_delete=models.CASCADE,
        related_name="transitions",
        verbose_name=_("consultation"),
    )
    from_phase = models.CharField(_("from"), max_length=16, choices=Consultation.Phase.choices)
    to_phase = models.CharField(_("to"), max_length=16, choices=Consultation.Phase.choices)
    at = models.DateTimeField(_("at"))
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
        help_text=_("Empty when the scheduled job made the transition."),
    )
    reason = models.TextField(_("reason"), blank=True)

    class Meta:
        ordering = ["at", "pk"]
        verbose_name = _("phase transition")
        verbose_name_plural = _("phase transitions")
        constraints = [
            models.UniqueConstraint(
                fields=["consultation", "to_phase"], name="transition_each_phase_entered_once"
            ),
        ]

    def __str__(self):
        return f"{self.consultation}: {self.from_phase} → {self.to_phase}"


class Exclusion(models.Model):
    """A commune that does not take part in a round, and why.

    Every active commune takes part unless the admin excludes it, or it reaches the vote without
    enough approved projects.
    """

    class Kind(models.TextChoices):
        BY_ADMIN = "by_admin", _("Excluded by the cycle admin")
        NO_BALLOT = "no_ballot", _("Fewer than two approved projects when voting opened")

    consultation = models.ForeignKey(
        Consultation,
        on_delete=models.CASCADE,
        related_name="exclusions",
        verbose_name=_("consultation"),
    )
    commune = models.ForeignKey(
        Commune, on_delete=models.PROTECT, related_name="exclusions", verbose_name=_("commune")
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    reason = models.TextField(_("reason"))
    created_at = models.DateTimeField(_("when"), auto_now_add=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
    )

    class Meta:
        ordering = ["commune__name"]
        verbose_name = _("exclusion")
        verbose_name_plural = _("exclusions")
        constraints = [
            models.UniqueConstraint(
                fields=["consultation", "commune"], name="exclusion_once_per_round"
            ),
            models.CheckConstraint(condition=~Q(reason=""), name="exclusion_has_reason"),
        ]

    def __str__(self):
        return f"{self.commune} ({self.get_kind_display()})"


class Assembly(models.Model):
    """A citizens' assembly of a commune for a round: who was convened, who came, whether it had
    quorum (computed from the census under the round's rule, never typed in), and its minutes."""

    class Call(models.TextChoices):
        FIRST = "first", _("First call")
        SECOND = "second", _("Second call")

    consultation = models.ForeignKey(
        Consultation,
        on_delete=models.PROTECT,
        related_name="assemblies",
        verbose_name=_("consultation"),
    )
    commune = models.ForeignKey(
        Commune, on_delete=models.PROTECT, related_name="assemblies", verbose_name=_("commune")
    )
    held_on = models.DateField(_("date"))
    place = models.CharField(_("place"), max_length=200)
    councils = models.ManyToManyField(
        "communes.CommunalCouncil", related_name="assemblies", verbose_name=_("councils convened")
    )
    call = models.CharField(_("call"), max_length=8, choices=Call.choices, default=Call.FIRST)
    attendance = models.PositiveIntegerField(_("attendance"))
    attendee_cedulas = models.TextField(
        _("cédulas of attendees"), blank=True, help_text=_("Optional: one per line.")
    )
    eligible = models.PositiveIntegerField(
        _("registered residents of the convened councils old enough to take part")
    )
    quorum_required = models.PositiveIntegerField(_("attendance needed for quorum"))
    quorum_reached = models.BooleanField(_("quorum reached"))
    minutes = models.ForeignKey(
        "communes.CommuneFile",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("signed minutes"),
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("recorded by"),
    )
    recorded_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    class Meta:
        ordering = ["held_on", "pk"]
        verbose_name = _("assembly")
        verbose_name_plural = _("assemblies")
        constraints = [
            models.CheckConstraint(
                condition=Q(quorum_reached=False) | Q(attendance__gte=F("quorum_required")),
                name="assembly_quorum_means_enough_attendance",
            ),
        ]

    def __str__(self):
        return f"{self.commune} · {self.held_on}"


class Problem(models.Model):
    """A problem an assembly named, in the assembly's order of priority (1 is the most pressing)."""

    assembly = models.ForeignKey(
        Assembly, on_delete=models.CASCADE, related_name="problems", verbose_name=_("assembly")
    )
    title = models.CharField(_("problem"), max_length=200)
    priority = models.PositiveSmallIntegerField(_("priority"))

    class Meta:
        ordering = ["priority", "pk"]
        verbose_name = _("problem")
        verbose_name_plural = _("problems")
        constraints = [
            models.CheckConstraint(condition=Q(priority__gte=1), name="problem_priority_from_one"),
        ]

    def __str__(self):
        return self.title


class Project(models.Model):
    """A commune's project proposal for a round; approved ones form the commune's ballot."""

    class Status(models.TextChoices):
        # A proposal (propuesta) is feminine in Spanish: its own context keeps the agreement.
        DRAFT = "draft", pgettext_lazy("proposal", "Draft")
        SUBMITTED = "submitted", pgettext_lazy("proposal", "Submitted")
        SENT_BACK = "sent_back", pgettext_lazy("proposal", "Sent back for correction")
        APPROVED = "approved", pgettext_lazy("proposal", "Approved")
        REJECTED = "rejected", pgettext_lazy("proposal", "Rejected")

    class Category(models.TextChoices):
        WATER = "water", _("Water")
        ELECTRICITY = "electricity", _("Electricity")
        ROADS = "roads", _("Roads and transport")
        HABITAT = "habitat", _("Habitat and housing")
        EDUCATION = "education", _("Education")
        HEALTH = "health", _("Health")
        SPORT = "sport", _("Sport and recreation")
        CULTURE = "culture", _("Culture")
        FOOD = "food", _("Food production")
        COMMUNICATION = "communication", _("Communication")
        OTHER = "other", _("Other")

    consultation = models.ForeignKey(
        Consultation,
        on_delete=models.PROTECT,
        related_name="projects",
        verbose_name=_("consultation"),
    )
    commune = models.ForeignKey(
        Commune, on_delete=models.PROTECT, related_name="projects", verbose_name=_("commune")
    )
    problem = models.ForeignKey(
        Problem,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="projects",
        verbose_name=_("problem it answers"),
    )
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    category = models.CharField(
        _("category"), max_length=16, choices=Category.choices, default=Category.OTHER
    )
    estimated_cost_usd = models.DecimalField(
        _("estimated cost (USD)"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    beneficiaries = models.PositiveIntegerField(_("people who benefit"), null=True, blank=True)
    place = models.CharField(_("place"), max_length=200, blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.DRAFT
    )
    decision_note = models.TextField(_("reason or note of the decision"), blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("decided by"),
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    # Bumped by every save: an edit made from another person's stale page is detected, never
    # silently lost. Who saved last tells a real conflict from one's own autosave still in flight.
    version = models.PositiveIntegerField(default=1, editable=False)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("last changed by"),
    )

    class Meta:
        ordering = ["commune", "title"]
        verbose_name = _("project")
        verbose_name_plural = _("projects")
        indexes = [models.Index(fields=["consultation", "status"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(estimated_cost_usd__isnull=True) | Q(estimated_cost_usd__gt=0),
                name="project_cost_positive",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["rejected", "sent_back"]) | ~Q(decision_note=""),
                name="project_refusal_has_reason",
            ),
        ]

    def __str__(self):
        return self.title

    @property
    def category_label(self) -> str:
        """The category's name in the active language, as get_category_display gives it, at a
        fraction of its cost (that one hashes every choice on each call; the ballot shows a
        category for every project to every voter)."""
        try:
            return str(self.Category(self.category).label)
        except ValueError:
            return self.category


class ProjectPhoto(models.Model):
    """A photo of the place or the problem a proposal answers (public once uploaded)."""

    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="photos", verbose_name=_("project")
    )
    file = models.ForeignKey(
        "communes.CommuneFile", on_delete=models.PROTECT, related_name="+", verbose_name=_("file")
    )
    uploaded_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)

    class Meta:
        ordering = ["uploaded_at", "pk"]
        verbose_name = _("project photo")
        verbose_name_plural = _("project photos")

    def __str__(self):
        return f"{self.project} · {self.file}"
