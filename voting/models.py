"""Who voted and what was chosen, kept apart (DESIGN.md §4, "Ballot secrecy").

The voting book says who voted (person, round, commune, channel, when). The urn holds sealed
ballots: the commune and the choice sealed to the round's public key, keyed by the ballot's hash
(the voter's receipt). An urn row has no serial id and no timestamp, so neither an id nor a time
can join it to a voting-book row, and without the round's private key (which never enters the
database) the sealed bytes say nothing about the choice. Counting opens them in memory and stores
only totals per project.
"""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Urn(models.Model):
    """The round's urn: its public key, made when voting opens, and the published lot seed."""

    consultation = models.OneToOneField(
        "consultations.Consultation",
        on_delete=models.PROTECT,
        related_name="urn",
        verbose_name=_("consultation"),
    )
    public_key = models.BinaryField(_("public key"), max_length=32)
    # Drawn and shown to everyone before the first vote, so any tie can be recomputed by anyone.
    lot_seed = models.CharField(_("lot seed"), max_length=64)
    # 0: the private key is a file outside the database; k > 0: k of the commissioners' shares.
    shares_needed = models.PositiveSmallIntegerField(_("commissioners' shares needed"), default=0)
    shares_total = models.PositiveSmallIntegerField(_("commissioners' shares made"), default=0)
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("urn")
        verbose_name_plural = _("urns")
        constraints = [
            models.CheckConstraint(
                condition=Q(lot_seed__regex=r"^[0-9a-f]{64}$"), name="urn_seed_is_hex"
            ),
        ]

    def __str__(self):
        return str(self.consultation)


class VotingBookEntry(models.Model):
    """A person voted in a round (online or at a table); at most once per round."""

    class Channel(models.TextChoices):
        ONLINE = "online", _("Online")
        TABLE = "table", _("At a voting table")

    consultation = models.ForeignKey(
        "consultations.Consultation",
        on_delete=models.PROTECT,
        related_name="voting_book",
        verbose_name=_("consultation"),
        db_index=False,  # the unique (consultation, resident) index serves it
    )
    resident = models.ForeignKey(
        "communes.Resident",
        on_delete=models.PROTECT,
        related_name="votes_cast",
        verbose_name=_("resident"),
        # Looked up with its round (the unique index); an index of its own would be one more
        # write on every vote.
        db_index=False,
    )
    commune = models.ForeignKey(
        "communes.Commune",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("commune"),
        db_index=False,  # read by round and commune: the index below
    )
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices)
    voted_at = models.DateTimeField(_("voted at"))

    class Meta:
        verbose_name = _("voting-book entry")
        verbose_name_plural = _("voting book")
        constraints = [
            models.UniqueConstraint(
                fields=["consultation", "resident"], name="voting_book_once_per_round"
            ),
        ]
        indexes = [models.Index(fields=["consultation", "commune"])]

    def __str__(self):
        return f"{self.consultation} · {self.resident_id}"


class SealedBallot(models.Model):
    """One ballot in the urn: the commune, and the choice sealed to the round's public key."""

    # BLAKE2b-128 of ``sealed``, base32: the voter's receipt. Also the key, so the table has no
    # serial id that would follow the voting book's order.
    receipt = models.CharField(_("receipt"), max_length=26, primary_key=True)
    # Both read through the (consultation, commune) index below; indexes of their own would be
    # two more writes on every vote.
    consultation = models.ForeignKey(
        "consultations.Consultation",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("consultation"),
        db_index=False,
    )
    commune = models.ForeignKey(
        "communes.Commune",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("commune"),
        db_index=False,
    )
    sealed = models.BinaryField(_("sealed choice"))

    class Meta:
        verbose_name = _("sealed ballot")
        verbose_name_plural = _("urn")
        indexes = [models.Index(fields=["consultation", "commune"])]

    def __str__(self):
        return self.receipt


class Count(models.Model):
    """The count of a round: done once the urn has been opened and the totals agree."""

    class Status(models.TextChoices):
        WAITING_FOR_KEY = "waiting_for_key", _("Waiting for the urn's private key")
        DONE = "done", _("Counted")
        DISCREPANCY = "discrepancy", _("Totals do not agree")

    consultation = models.OneToOneField(
        "consultations.Consultation",
        on_delete=models.PROTECT,
        related_name="count",
        verbose_name=_("consultation"),
    )
    status = models.CharField(_("status"), max_length=16, choices=Status.choices)
    ballots = models.PositiveIntegerField(_("ballots opened"), default=0)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    seconds = models.FloatField(_("seconds taken"), default=0)
    problems = models.JSONField(_("problems"), default=list, blank=True)

    class Meta:
        verbose_name = _("count")
        verbose_name_plural = _("counts")

    def __str__(self):
        return f"{self.consultation}: {self.get_status_display()}"


class CommuneResult(models.Model):
    """A commune's totals in a round. The three totals of DESIGN.md §4 must agree."""

    consultation = models.ForeignKey(
        "consultations.Consultation",
        on_delete=models.PROTECT,
        related_name="commune_results",
        verbose_name=_("consultation"),
    )
    commune = models.ForeignKey(
        "communes.Commune",
        on_delete=models.PROTECT,
        related_name="results",
        verbose_name=_("commune"),
    )
    eligible = models.PositiveIntegerField(_("eligible residents"))
    voting_book = models.PositiveIntegerField(_("voting-book entries"))
    urn = models.PositiveIntegerField(_("sealed ballots in the urn"))
    counted = models.PositiveIntegerField(_("choices counted"))
    votes = models.PositiveIntegerField(_("votes"))
    # Set when the round's minimum turnout was not reached: the commune then has no winner.
    void_reason = models.CharField(_("why there is no winner"), max_length=200, blank=True)

    class Meta:
        ordering = ["commune__name"]
        verbose_name = _("commune result")
        verbose_name_plural = _("commune results")
        constraints = [
            models.UniqueConstraint(
                fields=["consultation", "commune"], name="commune_result_once_per_round"
            ),
        ]

    def __str__(self):
        return f"{self.consultation} · {self.commune}"

    @property
    def totals_agree(self) -> bool:
        return self.voting_book == self.urn == self.counted

    @property
    def turnout_percent(self) -> float | None:
        return 100 * self.votes / self.eligible if self.eligible else None


class ProjectResult(models.Model):
    """A project's votes in a round, its rank in its commune, and whether it won."""

    project = models.OneToOneField(
        "consultations.Project",
        on_delete=models.PROTECT,
        related_name="result",
        verbose_name=_("project"),
    )
    consultation = models.ForeignKey(
        "consultations.Consultation",
        on_delete=models.PROTECT,
        related_name="project_results",
        verbose_name=_("consultation"),
    )
    commune = models.ForeignKey(
        "communes.Commune", on_delete=models.PROTECT, related_name="+", verbose_name=_("commune")
    )
    online_votes = models.PositiveIntegerField(_("online votes"))
    votes = models.PositiveIntegerField(_("votes"))
    rank = models.PositiveSmallIntegerField(_("rank"))
    is_winner = models.BooleanField(_("winner"), default=False)
    # What decided a tie: the assembly's priority (lower first), then the lot key.
    priority = models.PositiveSmallIntegerField(_("assembly priority"), null=True, blank=True)
    lot = models.CharField(_("lot key"), max_length=64)
    tie_broken = models.BooleanField(_("placed by the tie-break"), default=False)

    class Meta:
        ordering = ["commune", "rank"]
        verbose_name = _("project result")
        verbose_name_plural = _("project results")
        constraints = [
            models.UniqueConstraint(
                fields=["consultation", "commune", "rank"], name="project_result_rank_unique"
            ),
            models.CheckConstraint(
                condition=Q(votes__gte=models.F("online_votes")),
                name="project_result_votes_include_online",
            ),
            models.CheckConstraint(
                condition=Q(is_winner=False) | Q(votes__gt=0),
                name="project_result_winner_has_votes",
            ),
        ]
        indexes = [models.Index(fields=["consultation", "is_winner"])]

    def __str__(self):
        return f"{self.project} · {self.votes}"
