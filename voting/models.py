"""Who voted and what was chosen, kept apart (DESIGN.md §4, "Ballot secrecy").

The voting book says who voted (person, round, commune, channel, when). The urn holds encrypted
ballots (``urncrypto``): one encryption per project of the commune's ballot, with proofs that it
is a vote for exactly one, keyed by the ballot's hash (the voter's receipt). An urn row has no
serial id and no timestamp, so neither an id nor a time can join it to a voting-book row, and
when voting closes the urn is rewritten into fresh rows in receipt order
(``voting.closing``), which removes the link the rows' storage order and transaction ids gave
during voting. The count never opens a ballot: it decrypts only each commune's sums, with the
commissioners' partial decryptions (the round's key is never whole anywhere).
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Urn(models.Model):
    """The round's urn, made when voting opens: the commissioners' public key and the lot seed."""

    consultation = models.OneToOneField(
        "consultations.Consultation",
        on_delete=models.PROTECT,
        related_name="urn",
        verbose_name=_("consultation"),
    )
    # The key's fingerprint (urncrypto.RoundKey.fingerprint), printed for commissioners to compare.
    public_key = models.BinaryField(_("public key"), max_length=32)
    # urncrypto.dkg.PublicResult as JSON: the key (a point per ballot slot), the threshold, each
    # commissioner's verification key and the dealers who counted. Public: nothing in it decrypts.
    key = models.JSONField(_("round key"), default=dict)
    # The key generation's public transcript (ceremony and contributions), for the open data.
    key_generation = models.JSONField(_("key generation"), default=dict, blank=True)
    # Drawn and shown to everyone before the first vote, so any tie can be recomputed by anyone.
    lot_seed = models.CharField(_("lot seed"), max_length=64)
    # 0: one key share held by the server (the demo's and tests' 1 of 1); k > 0: k of the n
    # commissioners' partial decryptions.
    shares_needed = models.PositiveSmallIntegerField(_("commissioners' shares needed"), default=0)
    shares_total = models.PositiveSmallIntegerField(_("commissioners' shares made"), default=0)
    created_at = models.DateTimeField(_("created at"))
    # When voting closed the urn was rewritten (fresh rows in receipt order, subtotals summed).
    rewritten_at = models.DateTimeField(_("urn rewritten at"), null=True, blank=True)

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
    # A mark at a table: the table, the officer who made it, and the id the officer's page gave
    # it (a mark sent again after a dropped connection is recognised, not taken for a conflict).
    table = models.ForeignKey(
        "VotingTable",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="marks",
        verbose_name=_("voting table"),
        db_index=False,  # partial index below: online rows (nearly all) stay out of it
    )
    marked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("marked by"),
        db_index=False,
    )
    mark_id = models.UUIDField(_("mark id"), null=True, blank=True)

    class Meta:
        verbose_name = _("voting-book entry")
        verbose_name_plural = _("voting book")
        constraints = [
            models.UniqueConstraint(
                fields=["consultation", "resident"], name="voting_book_once_per_round"
            ),
            models.CheckConstraint(
                condition=(
                    Q(channel="table", table__isnull=False, marked_by__isnull=False)
                    | Q(channel="online", table__isnull=True, marked_by__isnull=True)
                ),
                name="voting_book_table_marks_name_table_and_officer",
            ),
        ]
        indexes = [
            models.Index(fields=["consultation", "commune"]),
            models.Index(
                fields=["table", "consultation"],
                condition=Q(table__isnull=False),
                name="voting_book_table_marks",
            ),
        ]

    def __str__(self):
        return f"{self.consultation} · {self.resident_id}"


class SealedBallot(models.Model):
    """One ballot in the urn: the commune, and the ballot encrypted to the round's key."""

    # BLAKE2b-128 of the ballot's canonical bytes, base32: the voter's receipt. Also the key, so
    # the table has no serial id that would follow the voting book's order.
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
    # urncrypto.Ballot.payload_bytes: the encryptions and proofs (the context is the columns
    # above and the commune's projects).
    sealed = models.BinaryField(_("encrypted ballot"))

    class Meta:
        verbose_name = _("sealed ballot")
        verbose_name_plural = _("urn")
        indexes = [models.Index(fields=["consultation", "commune"])]

    def __str__(self):
        return self.receipt


class UrnPending(models.Model):
    """A ballot not yet added into its commune's running sums: written by the vote's own
    statement beside the ballot, removed when a fold adds it (``voting.sums``). Keeps the vote one
    statement: the additions happen in batches, off the voter's request."""

    receipt = models.CharField(_("receipt"), max_length=26, primary_key=True)
    consultation = models.ForeignKey(
        "consultations.Consultation",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("consultation"),
        db_index=False,
    )

    class Meta:
        verbose_name = _("ballot waiting to be added")
        verbose_name_plural = _("ballots waiting to be added")

    def __str__(self):
        return self.receipt


class UrnShard(models.Model):
    """A running sum of some of a commune's ballots during voting: each fold (``voting.sums``)
    adds a batch of the commune's ballots into one of its ``SHARDS`` rows, drawn at random, so
    the count adds a few rows instead of millions of ballots. No time and no number of ballots:
    each version of a row differs from the last by a batch (possibly of one ballot), which is
    why the rows are emptied when voting closes (the close-of-voting rewrite) and never
    decrypted: only a commune's whole sum is."""

    SHARDS = 4

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
    shard = models.PositiveSmallIntegerField(_("shard"))
    c1 = models.BinaryField(_("sum of the first parts"), max_length=32)
    c2 = models.BinaryField(_("sums per project"))

    class Meta:
        verbose_name = _("urn subtotal")
        verbose_name_plural = _("urn subtotals")
        constraints = [
            models.UniqueConstraint(
                fields=["consultation", "commune", "shard"], name="urn_shard_unique"
            ),
            models.CheckConstraint(condition=Q(shard__lt=4), name="urn_shard_range"),
        ]

    def __str__(self):
        return f"{self.consultation_id} · {self.commune_id} · {self.shard}"


class CommuneSum(models.Model):
    """A commune's ballots added up, written when voting closes: what the commissioners decrypt
    (each commune once) and what the open data publishes for anyone to re-add and compare."""

    consultation = models.ForeignKey(
        "consultations.Consultation",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("consultation"),
        db_index=False,
    )
    commune = models.ForeignKey(
        "communes.Commune", on_delete=models.PROTECT, related_name="+", verbose_name=_("commune")
    )
    # The commune's projects on the ballot, ascending ids: the ballots' context.
    projects = models.JSONField(_("projects"))
    ballots = models.PositiveIntegerField(_("ballots added"))
    c1 = models.BinaryField(_("sum of the first parts"), max_length=32)
    c2 = models.BinaryField(_("sums per project"))

    class Meta:
        verbose_name = _("commune's summed ballots")
        verbose_name_plural = _("communes' summed ballots")
        constraints = [
            models.UniqueConstraint(fields=["consultation", "commune"], name="commune_sum_unique"),
        ]

    def __str__(self):
        return f"{self.consultation_id} · {self.commune_id}"


class Commissioner(models.Model):
    """An electoral commissioner of a round: the index they hold in the key generation, their
    public keys, and their contribution to the round's key. Nothing here is secret."""

    consultation = models.ForeignKey(
        "consultations.Consultation",
        on_delete=models.PROTECT,
        related_name="commissioners",
        verbose_name=_("consultation"),
    )
    index = models.PositiveSmallIntegerField(_("number"))
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="commissioner_seats",
        verbose_name=_("person"),
    )
    # urncrypto.dkg.CommissionerKey: where shares are sealed to, and the key that signs.
    keys = models.JSONField(_("public keys"), null=True, blank=True)
    # urncrypto.dkg.Contribution: commitments, proofs, and a sealed share for everyone.
    contribution = models.JSONField(_("contribution"), null=True, blank=True)
    appointed_at = models.DateTimeField(_("appointed at"))

    class Meta:
        verbose_name = _("electoral commissioner")
        verbose_name_plural = _("electoral commissioners")
        ordering = ["consultation", "index"]
        constraints = [
            models.UniqueConstraint(
                fields=["consultation", "index"], name="commissioner_index_unique"
            ),
            models.UniqueConstraint(
                fields=["consultation", "user"], name="commissioner_person_unique"
            ),
            models.CheckConstraint(
                condition=Q(index__gte=1, index__lte=255), name="commissioner_index_range"
            ),
        ]

    def __str__(self):
        return f"{self.consultation} · {self.index}"


class PartialDecryption(models.Model):
    """One commissioner's partial decryption of one commune's sum, checked (its proofs hold
    against their verification key) before it was stored. Public: k of them give the commune's
    totals and nothing else."""

    consultation = models.ForeignKey(
        "consultations.Consultation",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("consultation"),
        db_index=False,
    )
    commune = models.ForeignKey(
        "communes.Commune", on_delete=models.PROTECT, related_name="+", verbose_name=_("commune")
    )
    index = models.PositiveSmallIntegerField(_("commissioner"))
    # urncrypto.PartialDecryption as JSON.
    data = models.JSONField(_("partial decryption"))

    class Meta:
        verbose_name = _("partial decryption")
        verbose_name_plural = _("partial decryptions")
        constraints = [
            models.UniqueConstraint(
                fields=["consultation", "commune", "index"], name="partial_decryption_unique"
            ),
        ]

    def __str__(self):
        return f"{self.consultation_id} · {self.commune_id} · {self.index}"


class CountChunk(models.Model):
    """The online part of the count for one range of communes (by id), done by whichever worker
    took it: each commune's ballots in the urn and its sum decrypted into votes per project.
    Written whole in one transaction, so a worker killed midway leaves the range to do again;
    the count's last step (the reduce) reads every range and writes the results once."""

    consultation = models.ForeignKey(
        "consultations.Consultation",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("consultation"),
        db_index=False,
    )
    # Commune ids first_commune ≤ id ≤ last_commune; the ranges of a round cover every id.
    first_commune = models.BigIntegerField(_("first commune"))
    last_commune = models.BigIntegerField(_("last commune"))
    # Commune id → {"urn": ballots, "votes": {project id: votes}, "unopened": bool}.
    totals = models.JSONField(_("totals"), default=dict, blank=True)
    created_at = models.DateTimeField(_("created at"))
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    seconds = models.FloatField(_("seconds taken"), default=0)

    class Meta:
        verbose_name = _("part of the count")
        verbose_name_plural = _("parts of the count")
        constraints = [
            models.UniqueConstraint(
                fields=["consultation", "first_commune"], name="count_chunk_unique"
            ),
            models.CheckConstraint(
                condition=Q(first_commune__lte=models.F("last_commune")),
                name="count_chunk_range",
            ),
        ]

    def __str__(self):
        return f"{self.consultation_id} · {self.first_commune}-{self.last_commune}"


class Count(models.Model):
    """The count of a round: done once the commune sums are decrypted and the totals agree."""

    class Status(models.TextChoices):
        WAITING_FOR_KEY = "waiting_for_key", _("Waiting for the commissioners' partial decryptions")
        DONE = "done", _("Counted")
        DISCREPANCY = "discrepancy", _("Totals do not agree")

    consultation = models.OneToOneField(
        "consultations.Consultation",
        on_delete=models.PROTECT,
        related_name="count",
        verbose_name=_("consultation"),
    )
    status = models.CharField(_("status"), max_length=16, choices=Status.choices)
    ballots = models.PositiveIntegerField(_("ballots counted"), default=0)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    seconds = models.FloatField(_("seconds taken"), default=0)
    problems = models.JSONField(_("problems"), default=list, blank=True)
    # Raised each time a commune is counted again (a tally sheet decided after the count).
    revision = models.PositiveIntegerField(_("revision"), default=0)

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
    # The online part: these three must agree.
    voting_book = models.PositiveIntegerField(_("online voting-book entries"))
    urn = models.PositiveIntegerField(_("sealed ballots in the urn"))
    counted = models.PositiveIntegerField(_("choices counted"))
    # The tables' part: marks in the book, and what the accepted tally sheets say.
    table_marks = models.PositiveIntegerField(_("voting-book marks at tables"), default=0)
    sheet_ballots = models.PositiveIntegerField(_("ballots on accepted tally sheets"), default=0)
    blank = models.PositiveIntegerField(_("blank ballots"), default=0)
    null = models.PositiveIntegerField(_("null ballots"), default=0)
    # Sheets of the commune's tables not yet accepted or annulled: no winner until they are.
    pending_sheets = models.PositiveIntegerField(_("tally sheets pending"), default=0)
    votes = models.PositiveIntegerField(_("votes"))
    # Set when the round's minimum turnout was not reached: the commune then has no winner.
    void_reason = models.CharField(_("why there is no winner"), max_length=200, blank=True)
    # Everyone in the book by age on voting day, counted per commune (never per person).
    voters_under_15 = models.PositiveIntegerField(_("voters under 15"), default=0)
    voters_15_35 = models.PositiveIntegerField(_("voters aged 15 to 35"), default=0)
    voters_36_59 = models.PositiveIntegerField(_("voters aged 36 to 59"), default=0)
    voters_60_plus = models.PositiveIntegerField(_("voters aged 60 or more"), default=0)
    # Awards by participation (the round's rules): set by the count.
    state_award = models.BooleanField(_("most voters of its state"), default=False)
    youth_award = models.BooleanField(_("among the communes with most young voters"), default=False)

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
    def voters(self) -> int:
        """Everyone in the book: online, and at the tables (blank and null ballots included)."""
        return self.voting_book + self.table_marks

    @property
    def turnout_percent(self) -> float | None:
        return 100 * self.voters / self.eligible if self.eligible else None


class ProjectResult(models.Model):
    """A project's votes in a round, its rank in its commune, and whether it won."""

    class Award(models.TextChoices):
        STATE = "state", _("Commune with most voters in its state")
        YOUTH = "youth", _("Commune among those with most voters aged 15 to 35")

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
    table_votes = models.PositiveIntegerField(_("votes at tables"), default=0)
    votes = models.PositiveIntegerField(_("votes"))
    rank = models.PositiveSmallIntegerField(_("rank"))
    is_winner = models.BooleanField(_("winner"), default=False)
    # What decided a tie: the assembly's priority (lower first), then the lot key.
    priority = models.PositiveSmallIntegerField(_("assembly priority"), null=True, blank=True)
    lot = models.CharField(_("lot key"), max_length=64)
    tie_broken = models.BooleanField(_("placed by the tie-break"), default=False)
    # Won by an award by participation rather than by the counting rule.
    award = models.CharField(_("award"), max_length=8, choices=Award.choices, blank=True)

    class Meta:
        ordering = ["commune", "rank"]
        verbose_name = _("project result")
        verbose_name_plural = _("project results")
        constraints = [
            models.UniqueConstraint(
                fields=["consultation", "commune", "rank"], name="project_result_rank_unique"
            ),
            models.CheckConstraint(
                condition=Q(votes=models.F("online_votes") + models.F("table_votes")),
                name="project_result_votes_online_and_tables",
            ),
            # A project nobody voted for wins only by an award by participation.
            models.CheckConstraint(
                condition=Q(is_winner=False) | Q(votes__gt=0) | ~Q(award=""),
                name="project_result_winner_has_votes",
            ),
            models.CheckConstraint(
                condition=Q(award="") | Q(is_winner=True),
                name="project_result_award_wins",
            ),
        ]
        indexes = [models.Index(fields=["consultation", "is_winner"])]

    def __str__(self):
        return f"{self.project} · {self.votes}"


class VotingCentre(models.Model):
    """A place where people vote on paper (a school, a communal house)."""

    code = models.CharField(_("code"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=200)
    parish = models.ForeignKey(
        "communes.Parish",
        on_delete=models.PROTECT,
        related_name="voting_centres",
        verbose_name=_("parish"),
    )
    address = models.CharField(_("address"), max_length=300, blank=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("voting centre")
        verbose_name_plural = _("voting centres")
        constraints = [
            models.CheckConstraint(
                condition=Q(code__regex=r"^[A-Z0-9][A-Z0-9-]*$"), name="voting_centre_code_format"
            ),
        ]

    def __str__(self):
        return self.name


class VotingTable(models.Model):
    """A table of a centre, where one commune's residents vote on its ballot."""

    code = models.CharField(_("code"), max_length=30, unique=True)
    centre = models.ForeignKey(
        VotingCentre, on_delete=models.PROTECT, related_name="tables", verbose_name=_("centre")
    )
    number = models.PositiveSmallIntegerField(_("number"))
    commune = models.ForeignKey(
        "communes.Commune",
        on_delete=models.PROTECT,
        related_name="voting_tables",
        verbose_name=_("commune"),
    )

    class Meta:
        ordering = ["centre__code", "number"]
        verbose_name = _("voting table")
        verbose_name_plural = _("voting tables")
        constraints = [
            models.UniqueConstraint(fields=["centre", "number"], name="voting_table_number_unique"),
            models.CheckConstraint(condition=Q(number__gte=1), name="voting_table_number_positive"),
        ]

    def __str__(self):
        return _("Table %(number)d · %(centre)s") % {"number": self.number, "centre": self.centre}


class OfficerAssignment(models.Model):
    """A polling officer runs one table in one round."""

    consultation = models.ForeignKey(
        "consultations.Consultation",
        on_delete=models.PROTECT,
        related_name="officer_assignments",
        verbose_name=_("consultation"),
    )
    table = models.ForeignKey(
        VotingTable,
        on_delete=models.PROTECT,
        related_name="assignments",
        verbose_name=_("voting table"),
    )
    officer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="table_assignments",
        verbose_name=_("officer"),
    )
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("assigned by"),
    )
    assigned_at = models.DateTimeField(_("assigned at"))

    class Meta:
        ordering = ["table__centre__code", "table__number", "officer__email"]
        verbose_name = _("officer assignment")
        verbose_name_plural = _("officer assignments")
        constraints = [
            models.UniqueConstraint(
                fields=["consultation", "officer"], name="officer_one_table_per_round"
            ),
        ]
        indexes = [models.Index(fields=["consultation", "table"])]

    def __str__(self):
        return f"{self.officer} · {self.table}"


class BookConflict(models.Model):
    """A table mark that found the person already in the voting book.

    Made when a mark queued while the officer's page was offline reaches the server after the
    person voted online (or at another table) meanwhile: the person may hold a paper ballot and
    have voted already. Nothing is dropped and nothing counted twice without someone seeing it:
    the table's tally sheet then disagrees with its marks and goes to review, where staff see this.
    """

    consultation = models.ForeignKey(
        "consultations.Consultation",
        on_delete=models.PROTECT,
        related_name="book_conflicts",
        verbose_name=_("consultation"),
    )
    table = models.ForeignKey(
        VotingTable, on_delete=models.PROTECT, related_name="conflicts", verbose_name=_("table")
    )
    resident = models.ForeignKey(
        "communes.Resident",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("resident"),
    )
    officer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("officer"),
    )
    mark_id = models.UUIDField(_("mark id"), unique=True)
    marked_at = models.DateTimeField(_("marked at (officer's device)"))
    received_at = models.DateTimeField(_("received at"))
    # Where the person already was in the book.
    existing_channel = models.CharField(
        _("already voted"), max_length=8, choices=VotingBookEntry.Channel.choices
    )
    existing_table = models.ForeignKey(
        VotingTable,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("at the table"),
    )

    class Meta:
        ordering = ["received_at"]
        verbose_name = _("voting-book conflict")
        verbose_name_plural = _("voting-book conflicts")
        indexes = [models.Index(fields=["consultation", "table"])]

    def __str__(self):
        return f"{self.table} · {self.resident_id}"


class TallySheet(models.Model):
    """A table's tally sheet (acta de escrutinio): two officers' entries and what was accepted.

    Accepted on its own when both entries agree and their total equals the table's marks in the
    voting book; otherwise it waits for staff, who accept figures or annul it with a reason.
    """

    class Status(models.TextChoices):
        WAITING = "waiting", _("Waiting for both entries")
        REVIEW = "review", _("Under review")
        ACCEPTED = "accepted", _("Accepted")
        ANNULLED = "annulled", _("Annulled")

    consultation = models.ForeignKey(
        "consultations.Consultation",
        on_delete=models.PROTECT,
        related_name="tally_sheets",
        verbose_name=_("consultation"),
    )
    table = models.ForeignKey(
        VotingTable,
        on_delete=models.PROTECT,
        related_name="tally_sheets",
        verbose_name=_("voting table"),
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.WAITING
    )
    # The accepted figures: project id (as text) → votes, plus blank and null ballots.
    votes = models.JSONField(_("votes per project"), default=dict, blank=True)
    blank = models.PositiveIntegerField(_("blank ballots"), default=0)
    null = models.PositiveIntegerField(_("null ballots"), default=0)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    # Nobody: accepted on its own, both entries agreeing with the book.
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("decided by"),
    )

    class Meta:
        ordering = ["table__centre__code", "table__number"]
        verbose_name = _("tally sheet")
        verbose_name_plural = _("tally sheets")
        constraints = [
            models.UniqueConstraint(
                fields=["consultation", "table"], name="tally_sheet_once_per_table"
            ),
            models.CheckConstraint(
                condition=Q(status__in=["accepted", "annulled"], decided_at__isnull=False)
                | Q(status__in=["waiting", "review"], decided_at__isnull=True),
                name="tally_sheet_decided_when_final",
            ),
        ]
        indexes = [models.Index(fields=["consultation", "status"])]

    def __str__(self):
        return f"{self.consultation} · {self.table}"

    @property
    def is_final(self) -> bool:
        return self.status in (self.Status.ACCEPTED, self.Status.ANNULLED)

    @property
    def ballots(self) -> int:
        return sum(self.votes.values()) + self.blank + self.null


class TallyEntry(models.Model):
    """One officer's entry of a table's tally sheet, with the photo or scan of the signed sheet."""

    sheet = models.ForeignKey(
        TallySheet, on_delete=models.PROTECT, related_name="entries", verbose_name=_("sheet")
    )
    officer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("officer"),
    )
    votes = models.JSONField(_("votes per project"))
    blank = models.PositiveIntegerField(_("blank ballots"))
    null = models.PositiveIntegerField(_("null ballots"))
    scan = models.ForeignKey(
        "communes.CommuneFile",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("photo or scan of the signed sheet"),
    )
    entered_at = models.DateTimeField(_("entered at"))

    class Meta:
        ordering = ["entered_at"]
        verbose_name = _("tally-sheet entry")
        verbose_name_plural = _("tally-sheet entries")
        constraints = [
            models.UniqueConstraint(
                fields=["sheet", "officer"], name="tally_entry_one_per_officer"
            ),
        ]

    def __str__(self):
        return f"{self.sheet} · {self.officer}"

    @property
    def ballots(self) -> int:
        return sum(self.votes.values()) + self.blank + self.null

    def figures(self) -> tuple:
        return (dict(self.votes), self.blank, self.null)


class SheetEvent(models.Model):
    """The history of a tally sheet, shown on the results pages: entries, checks, decisions."""

    class Kind(models.TextChoices):
        ENTERED = "entered", _("Entry made")
        MISMATCH = "mismatch", _("Sent to review")
        ACCEPTED = "accepted", _("Accepted")
        ANNULLED = "annulled", _("Annulled")

    sheet = models.ForeignKey(
        TallySheet, on_delete=models.PROTECT, related_name="events", verbose_name=_("sheet")
    )
    kind = models.CharField(_("what happened"), max_length=10, choices=Kind.choices)
    at = models.DateTimeField(_("when"))
    # Nobody: the system (an automatic check or acceptance).
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
    )
    reason = models.TextField(_("reason"), blank=True)
    # The figures and differences the event was about (shown to reviewers and the public).
    details = models.JSONField(_("details"), default=dict, blank=True)

    class Meta:
        ordering = ["at", "pk"]
        verbose_name = _("tally-sheet event")
        verbose_name_plural = _("tally-sheet events")
        indexes = [models.Index(fields=["sheet", "at"])]

    def __str__(self):
        return f"{self.sheet} · {self.get_kind_display()}"
