"""Realistic demo data on the real territory: communes, councils, a census, spokespeople, and one
account per role. Deterministic and safe to run again: the same codes and cédulas every time."""

import datetime
import hashlib
import io
import random
from decimal import Decimal

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import StaffRole, User
from accounts.services import staff_role_grant
from communes import importing, services
from communes.models import (
    CommunalCouncil,
    Commune,
    Municipality,
    Resident,
    ResidentClaim,
    Spokesperson,
    State,
)

DEMO_PASSWORD = "demo-comunas-2026"  # noqa: S105 -- printed for the demo; never a real account
# Staff need two-step verification; the demo staff accounts share this TOTP secret (base32), which
# is printed so that whoever tries the demo can add it to an authenticator app.
DEMO_TOTP_SECRET = "JBSWY3DPEHPK3PXPCOMUNAS2"  # noqa: S105 -- demo only
DEMO_EMAIL_DOMAIN = "demo.comunas.test"

# Five states, twelve communes or circuits each.
DEMO_STATES = ["01", "15", "13", "23", "14"]  # Distrito Capital, Miranda, Lara, Zulia, Mérida
COMMUNES_PER_STATE = 12

PATRONS = [
    "Ezequiel Zamora",
    "Guaicaipuro",
    "Negra Hipólita",
    "Argimiro Gabaldón",
    "Manuela Sáenz",
    "Simón Rodríguez",
    "José Félix Ribas",
    "Cacique Tiuna",
    "Josefa Camejo",
    "Fabricio Ojeda",
    "Alí Primera",
    "Luisa Cáceres",
    "Pedro Camejo",
    "Juana Ramírez",
    "Cruz Carrillo",
    "Apacuana",
    "Hipólita Bolívar",
    "José Leonardo Chirino",
    "Lanceros de Apure",
    "Andrés Eloy Blanco",
    "Aquiles Nazoa",
    "Teresa de la Parra",
    "Cecilio Acosta",
    "Francisco de Miranda",
]
PLACES = [
    "Los Cerritos",
    "La Vega Alta",
    "El Manguito",
    "Brisas del Valle",
    "Las Tunitas",
    "La Quebradita",
    "El Samán",
    "Los Cocos",
    "Vista Hermosa",
    "Las Flores",
    "El Carmen",
    "San Isidro",
    "La Ceiba",
    "El Progreso",
    "Los Naranjos",
    "Santa Rosa",
    "El Cují",
    "Las Palmas",
    "Monte Bello",
    "La Esperanza",
    "Altos de Lídice",
    "El Limón",
    "Barrio Nuevo",
    "Las Acacias",
    "Pueblo Nuevo",
    "El Rincón",
]
GIVEN = [
    "María",
    "José",
    "Luis",
    "Ana",
    "Carmen",
    "Carlos",
    "Yusmary",
    "Yorman",
    "Daniela",
    "Jesús",
    "Rosa",
    "Pedro",
    "Luisa",
    "Juan",
    "Yelitza",
    "Francisco",
    "Gabriela",
    "Miguel",
    "Andreína",
    "Rafael",
    "Dayana",
    "Héctor",
    "Marisol",
    "Wilmer",
    "Glenda",
    "Oswaldo",
    "Zulay",
    "Richard",
    "Nelly",
    "Eduardo",
    "Milagros",
    "Antonio",
    "Yajaira",
    "Alexander",
    "Beatriz",
    "Jhonny",
]
SURNAMES = [
    "González",
    "Rodríguez",
    "Pérez",
    "Hernández",
    "García",
    "Martínez",
    "López",
    "Díaz",
    "Sánchez",
    "Ramírez",
    "Rojas",
    "Torres",
    "Flores",
    "Moreno",
    "Medina",
    "Álvarez",
    "Castillo",
    "Romero",
    "Gutiérrez",
    "Suárez",
    "Mendoza",
    "Blanco",
    "Briceño",
    "Contreras",
    "Colmenares",
    "Guerrero",
    "Quintero",
    "Parra",
    "Urdaneta",
    "Villalobos",
    "Chirinos",
    "Zambrano",
    "Márquez",
    "Salazar",
]

ROLE_ACCOUNTS = [
    # (email local part, first name, last name, staff role or None, state code); the ministry
    # account comes first because it verifies the others' census claims.
    ("ministerio", "Héctor", "Salazar", StaffRole.Kind.MINISTRY_STAFF, None),
    ("admin", "Beatriz", "Urdaneta", StaffRole.Kind.CYCLE_ADMIN, None),
    ("cofinanciador", "Zulay", "Parra", StaffRole.Kind.COFUNDER_STAFF, "13"),
    ("mesa", "Wilmer", "Briceño", StaffRole.Kind.POLLING_OFFICER, None),
    ("vocera", "Yelitza", "Colmenares", None, None),
    ("residente", "Rosa", "Quintero", None, None),
]
PROJECT_TITLES = [  # (title, category, the problem it answers)
    ("Rehabilitación del sistema de agua potable", "water", "Falta de agua en las partes altas"),
    ("Sustitución de transformadores del sector", "electricity", "Apagones frecuentes"),
    ("Asfaltado de la calle principal", "roads", "Vías en mal estado"),
    ("Techado de la cancha deportiva", "sport", "Sin espacios para la juventud"),
    ("Dotación del ambulatorio comunal", "health", "Ambulatorio sin insumos"),
    ("Rehabilitación de la escuela básica", "education", "Escuela deteriorada"),
    ("Galpón para la producción de alimentos", "food", "Alimentos caros y lejos"),
    ("Alumbrado público de la vía de acceso", "electricity", "Inseguridad de noche"),
]
# A tiny valid PDF standing in for the scanned, signed minutes of the demo assemblies.
DEMO_MINUTES_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)
CLAIMANTS = 3  # demo accounts with a claim waiting in the spokesperson's queue
VOTER_PREFIX = "votante"  # the demo voters' email addresses: votante0001@… and on
# The current round's voting hours: the whole day, so the demo can be tried at any time.
ALL_DAY = (datetime.time(0, 0), datetime.time(23, 59, 59))
# Voting centres and tables: (state of the commune, centre name, its tables). The first commune
# is the demo accounts' own; its first table is the one mesa@… runs in the current round.
DEMO_CENTRES = [
    ("01", "Escuela Bolivariana {parish}", 1),
    ("13", "Casa comunal {place}", 2),
]
# What became of the past round's tally sheets, table by table in the order above: both officers
# agreed with the book (accepted on its own); the entries differed and staff accepted one, read
# against the scan; the sheet counted more ballots than the table's marks and was annulled.
SHEET_STORIES = ["agreed", "disagreed", "annulled"]
REVIEW_REASONS = {
    "disagreed": "Revisada el acta escaneada: la segunda transcripción anotó un voto en la línea "
    "de otro proyecto; vale la primera, que coincide con el acta firmada y con el cuaderno.",
    "annulled": "El acta suma más boletas que electores marcados en el cuaderno de votación y el "
    "escaneo no permite corregirla; se anula y sus electores constan como votantes sin voto.",
}
OFFICER_PREFIX = "oficial"  # the past round's officers: oficial1@… and on, without a password
# The past round's money trail. The finance and social-oversight spokespeople of the demo accounts'
# commune sign in (finanzas@…, contraloria@…); the finance spokespeople of the other communes
# whose money moves (finanzas1@… and on) and a second ministry approver (ministerio2@…) only
# acted in the past and have no password.
FINANCE_PREFIX = "finanzas"
SECOND_APPROVER = ("ministerio2", "Andreína", "Márquez")


def _csv(header: str, rows: list[str]) -> io.StringIO:
    return io.StringIO("\n".join([header, *rows]) + "\n")


class Command(BaseCommand):
    help = "Build (or refresh) the demo communes, census, spokespeople and one account per role."

    def handle(self, *args, **options):
        rng = random.Random(2026)
        with transaction.atomic():
            first_commune = self._registry(rng)
            self._voting_tables(first_commune)
            self._census(rng)
            self._spokespeople(rng)
            accounts = self._accounts(first_commune)
            rounds = self._rounds(rng)
            money_accounts, money = self._money(first_commune)
            accounts[-1:-1] = money_accounts  # before the line of residents with a claim
        self.stdout.write(self.style.SUCCESS(_("Demo data ready.")))
        self.stdout.write(
            _("Demo accounts (password for all: %(password)s):") % {"password": DEMO_PASSWORD}
        )
        for email, role in accounts:
            self.stdout.write(f"  {email:<42} {role}")
        self.stdout.write(
            _(
                "Staff accounts ask for a two-step verification code: add the secret %(secret)s "
                "to an authenticator app (or run: oathtool --totp -b %(secret)s)."
            )
            % {"secret": DEMO_TOTP_SECRET}
        )
        for line in [*rounds, *money]:
            self.stdout.write(line)

    def _registry(self, rng: random.Random) -> Commune:
        commune_rows, council_rows = [], []
        names = iter(rng.sample(PATRONS + PLACES, len(PATRONS + PLACES)) * 3)
        for state_code in DEMO_STATES:
            municipalities = list(
                Municipality.objects.filter(state__code=state_code).prefetch_related("parishes")
            )
            for number in range(1, COMMUNES_PER_STATE + 1):
                municipality = municipalities[(number - 1) % min(4, len(municipalities))]
                parish = list(municipality.parishes.all())[number % municipality.parishes.count()]
                kind = "circuit" if number % 4 == 0 else "commune"
                prefix = "Circuito Comunal" if kind == "circuit" else "Comuna"
                code = f"COM-{municipality.code}-{number:03d}"
                registered = datetime.date(2013 + number % 10, 1 + number % 12, 1 + number % 27)
                bank = (
                    "".join(rng.choice("0123456789") for _digit in range(20)) if number % 3 else ""
                )
                name = f"{prefix} {next(names)}"
                commune_rows.append(
                    f'{code},"{name}",{kind},{parish.code},{registered},active,{bank}'
                )
                for council_number in range(1, rng.randint(3, 6) + 1):
                    council_kind = (
                        "rural" if state_code in {"14", "13"} and council_number % 2 else "urban"
                    )
                    council_rows.append(
                        f"CC-{municipality.code}-{number:03d}-{council_number:02d},"
                        f'"Consejo Comunal {rng.choice(PLACES)} {council_number}",{code},'
                        f"{rng.randint(150, 400)},{council_kind}"
                    )
        importing.import_csv(
            _csv("code,name,kind,parish_code,registered_on,status,bank_account", commune_rows),
            spec=importing.COMMUNES,
            progress=False,
        )
        importing.import_csv(
            _csv("code,name,commune_code,families,kind", council_rows),
            spec=importing.COUNCILS,
            progress=False,
        )
        return Commune.objects.get(code=commune_rows[0].split(",")[0])

    def _voting_tables(self, first_commune: Commune) -> None:
        """A voting centre in two demo communes (the demo accounts' one first), with tables,
        through the same import as a real registry of centres."""
        from voting import table_import

        centre_rows, table_rows = [], []
        for state_code, name, tables in DEMO_CENTRES:
            commune = (
                first_commune
                if state_code == DEMO_STATES[0]
                else Commune.objects.filter(
                    code__startswith="COM-", parish__municipality__state__code=state_code
                )
                .select_related("parish")
                .order_by("code")
                .first()
            )
            code = f"CV-{commune.code.removeprefix('COM-')}"
            place = PLACES[len(centre_rows) * 7 % len(PLACES)]
            centre_name = name.format(parish=commune.parish.name, place=place)
            centre_rows.append(
                f'{code},"{centre_name}",{commune.parish.code},"Sector {place}, {commune.name}"'
            )
            table_rows.extend(f"{code},{number},{commune.code}" for number in range(1, tables + 1))
        importing.import_csv(
            _csv("code,name,parish_code,address", centre_rows),
            spec=table_import.CENTRES,
            progress=False,
        )
        importing.import_csv(
            _csv("centre_code,number,commune_code", table_rows),
            spec=table_import.TABLES,
            progress=False,
        )

    def _demo_tables(self) -> list:
        from voting.models import VotingTable

        return list(
            VotingTable.objects.filter(code__startswith="CV-")
            .select_related("commune")
            .order_by("centre__code", "number")
        )

    def _census(self, rng: random.Random) -> None:
        rows, used = [], set()
        today = datetime.date(2026, 11, 1)
        for council_code in CommunalCouncil.objects.order_by("code").values_list("code", flat=True):
            for _person in range(rng.randint(5, 10)):
                number = rng.randint(3_000_000, 33_000_000)
                while number in used:
                    number += 1
                used.add(number)
                letter = "E" if rng.random() < 0.04 else "V"
                age_days = rng.randint(13 * 365, 85 * 365)
                birth = today - datetime.timedelta(days=age_days)
                name = f"{rng.choice(GIVEN)} {rng.choice(SURNAMES)} {rng.choice(SURNAMES)}"
                rows.append(f"{letter}-{number},{name},{birth.isoformat()},{council_code}")
        importing.import_csv(
            _csv("cedula,full_name,birth_date,council_code", rows),
            spec=importing.RESIDENTS,
            progress=False,
        )

    def _spokespeople(self, rng: random.Random) -> None:
        units = [choice for choice, _label in Spokesperson.Unit.choices]
        serving = set(Spokesperson.objects.values_list("commune_id", "unit"))
        for commune in Commune.objects.filter(code__startswith="COM-").order_by("code"):
            residents = list(
                Resident.objects.filter(
                    council__commune=commune,
                    birth_date__lte=datetime.date(2008, 1, 1),
                    spokesperson_terms__isnull=True,
                ).order_by("cedula")[: len(units)]
            )
            for unit, resident in zip(units, residents, strict=False):
                if (commune.pk, unit) in serving:
                    continue
                services.spokesperson_appoint(
                    resident=resident,
                    commune=commune,
                    unit=unit,
                    term_start=datetime.date(2025, 3, 1)
                    + datetime.timedelta(days=rng.randint(0, 90)),
                    by=None,
                )

    def _accounts(self, commune: Commune) -> list[tuple[str, str]]:
        printed = []
        for local, first, last, kind, state_code in ROLE_ACCOUNTS:
            user = self._user(local, first, last)
            if kind is not None:
                state = State.objects.get(code=state_code) if state_code else None
                staff_role_grant(user=user, kind=kind, state=state, by=None)
                if not Authenticator.objects.filter(
                    user=user, type=Authenticator.Type.TOTP
                ).exists():
                    TOTP.activate(user, DEMO_TOTP_SECRET)
                label = StaffRole.Kind(kind).label
                if kind == StaffRole.Kind.CYCLE_ADMIN:
                    user.is_staff = user.is_superuser = True
                    user.save(update_fields=["is_staff", "is_superuser"])
            elif local == "vocera":
                resident = (
                    Spokesperson.objects.filter(commune=commune, unit="executive").first().resident
                )
                self._link(resident, user)
                label = _("Executive spokesperson, %(commune)s") % {"commune": commune.name}
            else:
                resident = (
                    Resident.objects.filter(
                        council__commune=commune,
                        birth_date__lte=datetime.date(2000, 1, 1),
                        spokesperson_terms__isnull=True,
                    )
                    .filter(user__isnull=True)
                    .order_by("cedula")
                    .first()
                    if not Resident.objects.filter(user=user).exists()
                    else Resident.objects.get(user=user)
                )
                self._link(resident, user)
                label = _("Verified resident, %(commune)s") % {"commune": commune.name}
            printed.append((user.email, str(label)))
        # A few people waiting in the spokesperson's verification queue.
        waiting = (
            Resident.objects.filter(council__commune=commune, user__isnull=True)
            .exclude(claims__status__in=["pending", "approved"])
            .order_by("-cedula")
        )
        for number in range(1, CLAIMANTS + 1):
            user = self._user(f"solicitante{number}", GIVEN[number], SURNAMES[number])
            if ResidentClaim.objects.filter(user=user).exists():
                continue
            resident = waiting.first()
            services.resident_claim_create(
                user=user, cedula=resident.cedula, birth_date=resident.birth_date
            )
        printed.append(
            (
                f"solicitante1..{CLAIMANTS}@{DEMO_EMAIL_DOMAIN}",
                _("Residents with a claim to verify"),
            )
        )
        return printed

    def _rounds(self, rng: random.Random) -> list[str]:
        """A round published last quarter with its results, the current one in voting (all day
        long, so the demo residents can vote whenever they try), and a draft for the next
        quarter, so every cycle page has something real to show. Returns lines to print."""

        from consultations.models import Consultation, PhaseTransition
        from consultations.services import ROMAN, consultation_create_next, proposed_dates

        history = ["scheduled", "assemblies", "validation"]
        now = timezone.now()
        day = datetime.timedelta(days=1)
        current_dates = {  # around today: voting opened yesterday and closes in six days
            "assemblies_open_at": now - 45 * day,
            "validation_opens_at": now - 20 * day,
            "voting_opens_at": now - day,
            "voting_closes_at": now + 6 * day,
            "tally_deadline_at": now + 9 * day,
        }
        today = timezone.localdate(now)
        this_quarter = (today.year, (today.month - 1) // 3 + 1)
        last_quarter = (
            (today.year - 1, 4) if this_quarter[1] == 1 else (today.year, this_quarter[1] - 1)
        )
        rounds = {}
        for (year, quarter), current, dates in [
            (last_quarter, False, proposed_dates(*last_quarter)),
            (this_quarter, True, current_dates),
        ]:
            hours = {"voting_hours_start": ALL_DAY[0], "voting_hours_end": ALL_DAY[1]}
            consultation, created = Consultation.objects.get_or_create(
                year=year,
                quarter=quarter,
                defaults={
                    "name": f"Consulta Popular {year}-{ROMAN[quarter]}",
                    "phase": "validation",
                    "funder_by_rank": ["national"],
                    **(hours if current else {}),
                    **dates,
                },
            )
            rounds[current] = consultation
            if not created:
                continue
            # The history the scheduled job would have written, on the round's own dates; from
            # voting on, the round moves through the services themselves.
            starts = [dates["assemblies_open_at"] - datetime.timedelta(days=20), *dates.values()]
            for index, phase in enumerate(history):
                PhaseTransition.objects.create(
                    consultation=consultation,
                    from_phase="draft" if index == 0 else history[index - 1],
                    to_phase=phase,
                    at=starts[index],
                )
            self._assemblies_and_proposals(rng, consultation, current, dates)
            self._vote(rng, consultation, current=current, now=now)
        self._officer_on_duty(rounds[True], now=now)
        consultation_create_next(now=now)
        return self._rounds_summary(rounds[False], rounds[True])

    def _voters(self, rng: random.Random, day: datetime.date) -> list[User]:
        """The demo voters: census records of every demo commune, verified and linked to an
        account without a password (nobody signs in as them), made once."""
        from consultations.services import years_before

        existing = list(
            User.objects.filter(email__startswith=VOTER_PREFIX, resident__isnull=False).order_by(
                "email"
            )
        )
        if existing:
            return existing
        verifier = User.objects.get(email=f"ministerio@{DEMO_EMAIL_DOMAIN}")
        candidates = list(
            Resident.objects.filter(
                council__commune__code__startswith="COM-",
                user__isnull=True,
                claims__isnull=True,
                spokesperson_terms__isnull=True,
                birth_date__lte=years_before(day, 16),
            )
            .select_related("council")
            .order_by("cedula")
        )
        turnout = {}  # per commune, so the results differ from place to place
        chosen = []
        for resident in candidates:
            commune_id = resident.council.commune_id
            rate = turnout.setdefault(commune_id, rng.uniform(0.3, 0.7))
            if rng.random() < rate:
                chosen.append(resident)
        users = User.objects.bulk_create(
            User(
                email=f"{VOTER_PREFIX}{number:04d}@{DEMO_EMAIL_DOMAIN}",
                first_name=resident.full_name.split(" ")[0],
                last_name=" ".join(resident.full_name.split(" ")[1:]),
                password=make_password(None),
            )
            for number, resident in enumerate(chosen, start=1)
        )
        users = list(
            User.objects.filter(email__in=[user.email for user in users]).order_by("email")
        )
        verified_at = timezone.make_aware(datetime.datetime.combine(day, datetime.time(9)))
        verified_at -= datetime.timedelta(days=60)
        for resident, user in zip(chosen, users, strict=True):
            resident.user = user
            resident.verification = Resident.Verification.VERIFIED
            resident.verified_at = verified_at
            resident.verified_by = verifier
        Resident.objects.bulk_update(
            chosen, ["user", "verification", "verified_at", "verified_by"], batch_size=500
        )
        return users

    def _vote(self, rng: random.Random, consultation, *, current: bool, now) -> None:
        """Open the round's voting as the tick would, and have the demo voters vote online through
        the vote service, at times inside the window and hours. The past round is then closed,
        counted and published by the services; in the current round only some have voted yet,
        and never the accounts printed for the demo."""
        from consultations import services as rounds
        from consultations.models import Consultation, Project
        from voting.counting import consultation_count
        from voting.services import vote_cast, voting_day

        opens = consultation.voting_opens_at
        rounds.consultation_open_voting(consultation=consultation, by=None, now=opens)
        consultation = Consultation.objects.select_related("urn").get(pk=consultation.pk)
        voters = self._voters(rng, voting_day(consultation))
        ballots: dict[int, list[int]] = {}
        for commune_id, project_id in (
            Project.objects.filter(consultation=consultation, status=Project.Status.APPROVED)
            .order_by("pk")
            .values_list("commune_id", "pk")
        ):
            ballots.setdefault(commune_id, []).append(project_id)
        favour = {
            project_id: rng.uniform(0.5, 3.0) for ids in ballots.values() for project_id in ids
        }
        commune_of = dict(
            Resident.objects.filter(user__in=voters).values_list("user_id", "council__commune_id")
        )
        if current:  # a third have voted since yesterday; the rest, like the demo accounts, not yet
            voters = voters[::3]
            closes = now - datetime.timedelta(minutes=5)
        else:
            closes = consultation.voting_closes_at
        start = timezone.localtime(opens)
        for user in voters:
            projects = ballots.get(commune_of[user.pk])
            if not projects:
                continue
            at = opens + datetime.timedelta(
                seconds=rng.randrange(int((closes - opens).total_seconds()))
            )
            local = timezone.localtime(at).time()
            if not consultation.voting_hours_start <= local < consultation.voting_hours_end:
                at = start + datetime.timedelta(seconds=rng.randrange(600))
            choice = rng.choices(projects, [favour[project_id] for project_id in projects])[0]
            vote_cast(consultation=consultation, user=user, project_id=choice, now=at)
        if current:
            return
        assignments = self._table_marks(consultation)
        closed = consultation.voting_closes_at
        rounds.consultation_close_voting(consultation=consultation, by=None, now=closed)
        # The sheets are entered and decided before the count, which then adds them up.
        self._tally_sheets(consultation, assignments, favour, closed=closed)
        consultation_count(
            consultation_id=consultation.pk, now=closed + datetime.timedelta(hours=2)
        )
        rounds.consultation_publish(
            consultation=consultation, by=None, now=consultation.tally_deadline_at
        )

    def _table_voters(self, consultation, commune_id: int):
        """Residents of a commune who may vote and are not in the round's book, without a demo
        account (those vote online, or are kept for whoever tries the demo)."""
        from consultations.services import years_before
        from voting.models import VotingBookEntry
        from voting.services import voting_day

        return (
            Resident.objects.filter(
                council__commune_id=commune_id,
                user__isnull=True,
                claims__isnull=True,
                birth_date__lte=years_before(voting_day(consultation), 18),
            )
            .exclude(
                pk__in=VotingBookEntry.objects.filter(consultation=consultation).values(
                    "resident_id"
                )
            )
            .order_by("cedula")
        )

    def _table_marks(self, consultation) -> list:
        """The past round's tables: two officers each, and residents of the table's commune who
        did not vote online marked in the voting book by them during the day. Returns the
        officers' assignments, two per table."""
        from voting.tables import officer_assign, table_mark

        admin = User.objects.get(email=f"admin@{DEMO_EMAIL_DOMAIN}")
        opens = consultation.voting_opens_at
        tables = self._demo_tables()
        per_commune: dict[int, list] = {}
        for table in tables:
            per_commune.setdefault(table.commune_id, []).append(table)
        assignments = []
        minute = 0
        for number, table in enumerate(tables):
            pair = []
            for officer_number in (2 * number + 1, 2 * number + 2):
                officer, _created = User.objects.get_or_create(
                    email=f"{OFFICER_PREFIX}{officer_number}@{DEMO_EMAIL_DOMAIN}",
                    defaults={
                        "first_name": GIVEN[-officer_number],
                        "last_name": SURNAMES[-officer_number],
                        "password": make_password(None),
                    },
                )
                pair.append(
                    officer_assign(
                        consultation=consultation, table=table, officer=officer, by=admin, now=opens
                    )
                )
            assignments.append(pair)
            siblings = per_commune[table.commune_id]
            voters = list(self._table_voters(consultation, table.commune_id))
            for index, resident in enumerate(voters[siblings.index(table) :: len(siblings)][:8]):
                minute += 17
                table_mark(
                    assignment=pair[index % 2],
                    cedula=resident.cedula,
                    by=pair[index % 2].officer,
                    now=opens + datetime.timedelta(minutes=minute),
                )
        return assignments

    def _tally_sheets(self, consultation, assignments, favour, *, closed) -> None:
        """Each table's two officers enter its sheet, with the scan of the signed sheet; staff
        decide the ones sent to review (see SHEET_STORIES)."""
        from django.core.files.uploadedfile import SimpleUploadedFile

        from voting.tables import ballot_projects, table_marks, tally_decide, tally_enter

        reviewer = User.objects.get(email=f"ministerio@{DEMO_EMAIL_DOMAIN}")
        rng = random.Random(7)  # apart from the main generator: the rest of the demo stays put
        minutes = datetime.timedelta(minutes=1)
        for story, (first, second) in zip(SHEET_STORIES, assignments, strict=False):
            table = first.table
            marks = table_marks(consultation, table)
            projects = [project.pk for project in ballot_projects(consultation, table.commune_id)]
            blank = 1 if marks >= 5 else 0
            chosen = rng.choices(projects, [favour[pk] for pk in projects], k=marks - blank)
            votes = {str(pk): chosen.count(pk) for pk in projects}
            entries = [votes, dict(votes)]
            if story == "disagreed":  # the second officer wrote a vote on the wrong line
                top, other = sorted(votes, key=lambda pk: -votes[pk])[:2]
                entries[1][top], entries[1][other] = votes[top] - 1, votes[other] + 1
            elif story == "annulled":  # both agree, on more ballots than the book's marks
                top = max(votes, key=lambda pk: votes[pk])
                entries[0][top] = entries[1][top] = votes[top] + 4
            sheet = None
            for number, (assignment, figures) in enumerate(
                zip((first, second), entries, strict=True), 1
            ):
                scan = SimpleUploadedFile(
                    f"acta-{table.code}-{number}.pdf",
                    DEMO_MINUTES_PDF,
                    content_type="application/pdf",
                )
                sheet = tally_enter(
                    assignment=assignment,
                    by=assignment.officer,
                    votes=figures,
                    blank=blank,
                    null=0,
                    scan=scan,
                    now=closed + (20 + 15 * number) * minutes,
                )
            if story == "agreed":
                continue
            tally_decide(
                sheet=sheet,
                by=reviewer,
                decision="accept" if story == "disagreed" else "annul",
                reason=REVIEW_REASONS[story],
                entry_id=sheet.entries.order_by("entered_at").first().pk
                if story == "disagreed"
                else None,
                now=closed + 90 * minutes,
            )

    def _officer_on_duty(self, current, *, now) -> None:
        """mesa@… runs the demo accounts' commune's first table in the current round, and has
        marked a few people there already."""
        from consultations.models import Consultation
        from voting.models import OfficerAssignment
        from voting.tables import officer_assign, table_mark

        officer = User.objects.get(email=f"mesa@{DEMO_EMAIL_DOMAIN}")
        current = Consultation.objects.get(pk=current.pk)  # voting was opened on another copy
        if current.phase != Consultation.Phase.VOTING or now >= current.voting_closes_at:
            return
        if OfficerAssignment.objects.filter(consultation=current, officer=officer).exists():
            return
        table = self._demo_tables()[0]
        assignment = officer_assign(
            consultation=current,
            table=table,
            officer=officer,
            by=User.objects.get(email=f"admin@{DEMO_EMAIL_DOMAIN}"),
            now=now,
        )
        for index, resident in enumerate(self._table_voters(current, table.commune_id)[:3]):
            table_mark(
                assignment=assignment,
                cedula=resident.cedula,
                by=officer,
                now=now - datetime.timedelta(minutes=50 - 15 * index),
            )

    def _rounds_summary(self, past, current) -> list[str]:
        from django.db.models import Sum
        from django.utils import formats

        from voting.models import CommuneResult, Count, VotingBookEntry

        count = Count.objects.filter(consultation=past).first()
        # Online and at the tables.
        counted = CommuneResult.objects.filter(consultation=past).aggregate(n=Sum("votes"))["n"]
        voters = User.objects.filter(email__startswith=VOTER_PREFIX).count()
        return [
            _("%(round)s: published, %(votes)d votes counted (count: %(status)s).")
            % {
                "round": past.name,
                "votes": counted or 0,
                "status": count.get_status_display() if count else "-",
            },
            _(
                "%(round)s: voting until %(closes)s, from %(start)s to %(end)s every day; "
                "%(votes)d votes so far. The resident and spokesperson accounts above have "
                "not voted yet."
            )
            % {
                "round": current.name,
                "closes": formats.date_format(
                    timezone.localtime(current.voting_closes_at), "DATETIME_FORMAT"
                ),
                "start": formats.time_format(current.voting_hours_start, "TIME_FORMAT"),
                "end": formats.time_format(current.voting_hours_end, "TIME_FORMAT"),
                "votes": VotingBookEntry.objects.filter(consultation=current).count(),
            },
            _(
                "%(voters)d demo voters (%(prefix)s0001@… and on) voted online; their accounts "
                "have no password."
            )
            % {"voters": voters, "prefix": VOTER_PREFIX},
            *self._tables_summary(past, current),
        ]

    def _tables_summary(self, past, current) -> list[str]:
        from voting.models import OfficerAssignment, TallySheet

        lines = []
        duty = (
            OfficerAssignment.objects.filter(
                consultation=current, officer__email=f"mesa@{DEMO_EMAIL_DOMAIN}"
            )
            .select_related("table__commune", "officer")
            .first()
        )
        if duty is not None:
            lines.append(
                _("%(officer)s runs voting table %(table)s (%(commune)s) in %(round)s.")
                % {
                    "officer": duty.officer.email,
                    "table": duty.table.code,
                    "commune": duty.table.commune.name,
                    "round": current.name,
                }
            )
        sheets = TallySheet.objects.filter(consultation=past).select_related("table")
        if sheets:
            lines.append(
                _("%(round)s: tally sheets %(sheets)s.")
                % {
                    "round": past.name,
                    "sheets": ", ".join(
                        f"{sheet.table.code} {sheet.get_status_display()}" for sheet in sheets
                    ),
                }
            )
        return lines

    def _assemblies_and_proposals(self, rng, consultation, current, dates) -> None:
        """Each demo commune held an assembly (minutes attached), ranked its problems and made
        proposals, in every state a proposal can be in. Written as the services would have left
        them on those past dates (the services themselves refuse to write into a past phase)."""
        from django.core.files.base import ContentFile

        from communes import files
        from communes.models import CommuneFile
        from consultations.models import Assembly, Problem, Project

        recorder = User.objects.get(email=f"ministerio@{DEMO_EMAIL_DOMAIN}")
        statuses = ["approved", "approved", "approved", "rejected"]
        if current:  # some proposals were still on their way when voting opened
            statuses = ["approved", "approved", "submitted", "sent_back", "rejected", "draft"]
        notes = {
            "rejected": "El costo no está respaldado por presupuestos.",
            "sent_back": "Falta indicar el lugar exacto de la obra.",
        }
        held_on = timezone.localdate(dates["assemblies_open_at"]) + datetime.timedelta(days=5)
        for commune in Commune.objects.filter(code__startswith="COM-").order_by("code"):
            minutes = CommuneFile(
                commune=commune,
                kind="pdf",
                original_name=f"acta-asamblea-{commune.code}.pdf",
                size=len(DEMO_MINUTES_PDF),
                sha256=hashlib.sha256(DEMO_MINUTES_PDF).hexdigest(),
                is_public=True,
                uploaded_by=recorder,
            )
            minutes.file.save(files.storage_name("pdf"), ContentFile(DEMO_MINUTES_PDF), save=True)
            councils = list(commune.councils.all())
            eligible = sum(council.residents.count() for council in councils)
            attendance = max(1, round(eligible * rng.uniform(0.25, 0.6)))
            required = max(1, -(-eligible * 20 // 100))
            assembly = Assembly.objects.create(
                consultation=consultation,
                commune=commune,
                held_on=held_on,
                place=f"Casa comunal de {commune.parish.name}",
                attendance=min(attendance, eligible) or 1,
                eligible=eligible,
                quorum_required=required,
                quorum_reached=min(attendance, eligible) >= required,
                minutes=minutes,
                recorded_by=recorder,
            )
            assembly.councils.set(councils)
            chosen = rng.sample(PROJECT_TITLES, rng.randint(3, len(statuses)))
            problems = [
                Problem.objects.create(assembly=assembly, title=problem, priority=rank)
                for rank, (_title, _category, problem) in enumerate(chosen, start=1)
            ]
            Project.objects.bulk_create(
                Project(
                    consultation=consultation,
                    commune=commune,
                    problem=problem,
                    title=title,
                    description=f"{title} en {commune.parish.name}, según lo acordado en asamblea.",
                    category=category,
                    estimated_cost_usd=rng.randrange(3000, 10000, 250),
                    beneficiaries=rng.randint(150, 2500),
                    place=f"Sector {rng.choice(PLACES)}",
                    status=status,
                    decision_note=notes.get(status, ""),
                    decided_by=recorder
                    if status in ("approved", "rejected", "sent_back")
                    else None,
                    decided_at=dates["validation_opens_at"] + datetime.timedelta(days=2)
                    if status in ("approved", "rejected", "sent_back")
                    else None,
                )
                for (title, category, _problem), problem, status in zip(
                    chosen, problems, statuses, strict=False
                )
            )

    def _user(self, local: str, first: str, last: str) -> User:
        email = f"{local}@{DEMO_EMAIL_DOMAIN}"
        user, created = User.objects.get_or_create(
            email=email, defaults={"first_name": first, "last_name": last}
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save(update_fields=["password"])
        EmailAddress.objects.update_or_create(
            user=user, email=email, defaults={"verified": True, "primary": True}
        )
        return user

    def _link(self, resident: Resident, user: User) -> None:
        """Link a demo account to its census record as if a spokesperson had verified it."""
        if resident.user_id == user.pk:
            return
        verifier = User.objects.get(email=f"ministerio@{DEMO_EMAIL_DOMAIN}")
        claim = services.resident_claim_create(
            user=user, cedula=resident.cedula, birth_date=resident.birth_date
        )
        services.resident_claim_approve(claim=claim, by=verifier)

    # The money -------------------------------------------------------------------------------

    def _money(self, first_commune: Commune) -> tuple[list[tuple[str, str]], list[str]]:
        """The published round's money trail, through the funding services: allocations to its
        winners, a state government's pledge, disbursements at every stage, receipts, progress
        with photos, a stalled project, a completed one with its closing report, and social
        oversight's questions, answered or not. Dated between the round's publication and now.
        Returns the accounts to print and lines that sum it up."""
        from consultations.models import Consultation, PhaseTransition
        from funding import services as funding
        from funding.models import Disbursement, FundingSource
        from voting.models import ProjectResult

        past = (
            Consultation.objects.filter(phase=Consultation.Phase.PUBLISHED)
            .order_by("-year", "-quarter")
            .first()
        )
        if past is None:
            return [], []
        published = (
            PhaseTransition.objects.filter(consultation=past, to_phase="published")
            .values_list("at", flat=True)
            .first()
        ) or past.tally_deadline_at
        funding.allocations_for_round(
            consultation_id=past.pk, now=published + datetime.timedelta(hours=1)
        )
        winners = [
            result.project
            for result in ProjectResult.objects.filter(consultation=past, is_winner=True)
            .select_related("project__commune__parish__municipality__state")
            .order_by("commune__code", "rank")
        ]
        cofunder_state = next(
            state for local, *_rest, state in ROLE_ACCOUNTS if local == "cofinanciador"
        )

        def state_of(project):
            return project.commune.parish.municipality.state.code

        home = next((p for p in winners if p.commune_id == first_commune.pk), winners[0])
        lara = next(
            p for p in winners if state_of(p) == cofunder_state and p.commune_id != home.commune_id
        )
        stalled, completed = [
            p for p in winners if p.commune_id not in (home.commune_id, lara.commune_id)
        ][:2]

        # Who acts: the spokespeople of each commune, the ministry, the state's co-funder.
        finance = self._spokesperson_account(home.commune, "finance", FINANCE_PREFIX)
        oversight = self._spokesperson_account(home.commune, "social_oversight", "contraloria")
        finance_of = {home.pk: finance}
        for number, project in enumerate((stalled, completed, lara), start=1):
            finance_of[project.pk] = self._spokesperson_account(
                project.commune, "finance", f"{FINANCE_PREFIX}{number}", password=False
            )
        ministry = User.objects.get(email=f"ministerio@{DEMO_EMAIL_DOMAIN}")
        second, _created = User.objects.get_or_create(
            email=f"{SECOND_APPROVER[0]}@{DEMO_EMAIL_DOMAIN}",
            defaults={
                "first_name": SECOND_APPROVER[1],
                "last_name": SECOND_APPROVER[2],
                "password": make_password(None),
            },
        )
        staff_role_grant(user=second, kind=StaffRole.Kind.MINISTRY_STAFF, by=None)
        cofunder = User.objects.get(email=f"cofinanciador@{DEMO_EMAIL_DOMAIN}")
        state_fund = funding.source_for(FundingSource.Kind.STATE, lara)
        state_fund.staff.add(cofunder)

        printed = [
            (
                finance.email,
                str(_("Finance spokesperson, %(commune)s") % {"commune": home.commune.name}),
            ),
            (
                oversight.email,
                str(
                    _("Social-oversight spokesperson, %(commune)s") % {"commune": home.commune.name}
                ),
            ),
        ]
        if not Disbursement.objects.filter(project__consultation=past).exists():
            self._money_trail(
                published=published,
                home=home,
                stalled=stalled,
                completed=completed,
                lara=lara,
                finance_of=finance_of,
                oversight=oversight,
                ministry=ministry,
                second=second,
                cofunder=cofunder,
                state_fund=state_fund,
            )
        return printed, self._money_summary(past, finance_of, second)

    def _spokesperson_account(
        self, commune: Commune, unit: str, local: str, *, password: bool = True
    ) -> User:
        """The account of the commune's spokesperson of that unit (appointed if the commune has
        none), linked to their census record as a verified claim would."""
        term = (
            Spokesperson.objects.filter(commune=commune, unit=unit, ended_on__isnull=True)
            .select_related("resident__user")
            .order_by("term_start", "pk")
            .first()
        )
        if term is None:
            resident = (
                Resident.objects.filter(
                    council__commune=commune,
                    birth_date__lte=datetime.date(2000, 1, 1),
                    spokesperson_terms__isnull=True,
                    user__isnull=True,
                    claims__isnull=True,
                )
                .order_by("cedula")
                .first()
            )
            term = services.spokesperson_appoint(
                resident=resident,
                commune=commune,
                unit=unit,
                term_start=datetime.date(2025, 3, 1),
                by=None,
            )
        resident = term.resident
        if resident.user_id is not None:
            return resident.user
        first, *rest = resident.full_name.split(" ")
        if password:
            user = self._user(local, first, " ".join(rest))
        else:
            user, _created = User.objects.get_or_create(
                email=f"{local}@{DEMO_EMAIL_DOMAIN}",
                defaults={
                    "first_name": first,
                    "last_name": " ".join(rest),
                    "password": make_password(None),
                },
            )
        self._link(resident, user)
        return User.objects.get(pk=user.pk)  # with the roles it holds now

    def _money_trail(
        self,
        *,
        published,
        home,
        stalled,
        completed,
        lara,
        finance_of,
        oversight,
        ministry,
        second,
        cofunder,
        state_fund,
    ) -> None:
        from django.core.files.uploadedfile import SimpleUploadedFile

        from funding import services as funding
        from funding.models import ProjectStatus

        span = timezone.now() - published
        rng = random.Random(8)  # apart from the main generator: the rest of the demo stays put

        def at(share: float) -> datetime.datetime:
            """A moment between the publication (0) and now (1)."""
            return published + span * share

        def pdf(name: str):
            return SimpleUploadedFile(name, DEMO_MINUTES_PDF, content_type="application/pdf")

        def photo(name: str, number: int):
            return SimpleUploadedFile(name, _demo_photo(number), content_type="image/png")

        def ask(project, amount, purpose, share, *, allocation=None):
            allocation = allocation or project.allocations.get(kind="allocation")
            return funding.disbursement_request(
                allocation=allocation,
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
                upload=pdf(f"factura-{rng.randrange(10**6):06d}.pdf"),
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
            photos=[photo("obra-1.png", 1), photo("obra-2.png", 2)],
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
            photos=[photo("avance.png", 3)],
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
            photos=[photo("entrega.png", 4)],
        )
        funding.closing_report_submit(
            project=completed,
            text="La obra se terminó según lo aprobado en asamblea; se gastaron 9.950 USD de "
            "10.000 USD, con todas sus facturas publicadas.",
            assembly_held_on=timezone.localdate(at(0.58)),
            minutes=pdf("acta-asamblea-cierre.pdf"),
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

    def _money_summary(self, past, finance_of: dict, second: User) -> list[str]:
        from django.db.models import Count, Q, Sum
        from django.db.models.functions import Coalesce

        from funding.models import Disbursement, LedgerEntry
        from funding.services import usd

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
                "allocated": usd(totals["allocated"]),
                "disbursed": usd(totals["disbursed"]),
                "spent": usd(totals["spent"]),
                **stages,
            },
            _(
                "%(finance)s (finance spokespeople of other funded communes) and %(second)s "
                "(a second ministry approver) have no password."
            )
            % {"finance": ", ".join(others), "second": second.email},
        ]


def _demo_photo(number: int) -> bytes:
    """A tiny picture standing in for a photo of the works: sky, ground and a building."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (96, 64), (135, 190, 235))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 44, 95, 63), fill=(120, 100, 70))
    height = 10 + 6 * number
    draw.rectangle((24, 44 - height, 72, 44), fill=(200, 200, 190))
    draw.polygon([(20, 44 - height), (48, 30 - height), (76, 44 - height)], fill=(170, 60, 40))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()
