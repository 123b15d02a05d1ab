"""The online vote: demo voters (census records with an account nobody signs in to) casting
their ballots through the vote service, at times inside the round's window and hours."""

import datetime
import random

from django.contrib.auth.hashers import make_password
from django.utils import timezone

from accounts.models import User
from communes.models import Resident
from consultations.models import Consultation, Project
from consultations.services import years_before
from voting.eligibility import voting_day
from voting.services import vote_cast

from .people import EMAIL_DOMAIN, account

VOTER_PREFIX = "votante"  # the demo voters' email addresses: votante0001@… and on


def voters_seed(rng: random.Random, day: datetime.date) -> list[User]:
    """The demo voters: census records of every demo commune, verified and linked to an
    account without a password (nobody signs in as them), made once."""
    existing = list(
        User.objects.filter(email__startswith=VOTER_PREFIX, resident__isnull=False).order_by(
            "email"
        )
    )
    if existing:
        return existing
    verifier = account("ministerio")
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
            email=f"{VOTER_PREFIX}{number:04d}@{EMAIL_DOMAIN}",
            first_name=resident.full_name.split(" ")[0],
            last_name=" ".join(resident.full_name.split(" ")[1:]),
            password=make_password(None),
        )
        for number, resident in enumerate(chosen, start=1)
    )
    users = list(User.objects.filter(email__in=[user.email for user in users]).order_by("email"))
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


def online_votes_cast(
    rng: random.Random, consultation: Consultation, *, until: datetime.datetime, every: int = 1
) -> dict[int, float]:
    """Every ``every``-th demo voter votes between the opening and ``until``, each commune's
    projects favoured unevenly so that results differ. Returns each project's favour, for the
    tables' sheets to follow the same leaning."""
    opens = consultation.voting_opens_at
    voters = voters_seed(rng, voting_day(consultation))
    ballots: dict[int, list[int]] = {}
    for commune_id, project_id in (
        Project.objects.filter(consultation=consultation, status=Project.Status.APPROVED)
        .order_by("pk")
        .values_list("commune_id", "pk")
    ):
        ballots.setdefault(commune_id, []).append(project_id)
    favour = {project_id: rng.uniform(0.5, 3.0) for ids in ballots.values() for project_id in ids}
    commune_of = dict(
        Resident.objects.filter(user__in=voters).values_list("user_id", "council__commune_id")
    )
    start = timezone.localtime(opens)
    for user in voters[::every]:
        projects = ballots.get(commune_of[user.pk])
        if not projects:
            continue
        at = opens + datetime.timedelta(seconds=rng.randrange(int((until - opens).total_seconds())))
        local = timezone.localtime(at).time()
        if not consultation.voting_hours_start <= local < consultation.voting_hours_end:
            at = start + datetime.timedelta(seconds=rng.randrange(600))
        choice = rng.choices(projects, [favour[project_id] for project_id in projects])[0]
        vote_cast(consultation=consultation, user=user, project_id=choice, now=at)
    return favour
