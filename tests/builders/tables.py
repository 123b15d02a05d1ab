"""Voting tables run through the services, for the tests of tables, results and the verifier."""

from django.core.files.uploadedfile import SimpleUploadedFile

from voting import tables
from voting.models import VotingTable

from . import DURING_VOTING, by_title, hours, make_resident, make_user, tiny_pdf

ENTERED_AT = hours(58.5)


def scan():
    return SimpleUploadedFile("acta.pdf", tiny_pdf())


class Table:
    """A voting table run through the services: two officers assigned, people marked."""

    def __init__(self, consultation, adam, centre, number, commune, council, *, voters, first):
        self.consultation, self.commune = consultation, commune
        self.table = VotingTable.objects.create(
            code=f"{centre.code}-{number}", centre=centre, number=number, commune=commune
        )
        self.officers, self.assignments = [], []
        for n in (1, 2):
            officer = make_user(f"mesa{self.table.pk}.{n}@example.org")
            self.officers.append(officer)
            self.assignments.append(
                tables.officer_assign(
                    consultation=consultation,
                    table=self.table,
                    officer=officer,
                    by=adam,
                    now=hours(49),
                )
            )
        self.cedulas = []
        for number_ in range(first, first + voters):
            cedula = f"V-{40_000_000 + number_}"
            make_resident(council, cedula, f"Votante de mesa {number_}")
            self.mark(cedula)

    def mark(self, cedula, **queued):
        self.cedulas.append(cedula)
        return tables.table_mark(
            assignment=self.assignments[0],
            cedula=cedula,
            by=self.officers[0],
            now=queued.pop("now", DURING_VOTING),
            **queued,
        )

    def enter(self, officer: int, votes: dict, blank=0, null=0):
        """Officer 1 or 2 enters the sheet; ``votes`` by project title."""
        projects = by_title(self.consultation, self.commune)
        return tables.tally_enter(
            assignment=self.assignments[officer - 1],
            by=self.officers[officer - 1],
            votes={str(projects[title].pk): n for title, n in votes.items()},
            blank=blank,
            null=null,
            scan=scan(),
            now=ENTERED_AT,
        )


A_SHEET = {"Agua potable": 2, "Cancha": 1, "Alumbrado": 0}
