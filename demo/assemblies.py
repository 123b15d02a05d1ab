"""Each demo commune's citizens' assembly in a round (its signed minutes attached), the problems
it ranked and the proposals it made, in every state a proposal can be in."""

import datetime
import hashlib
import random

from django.core.files.base import ContentFile
from django.utils import timezone

from communes import files
from communes.models import Commune, CommuneFile
from consultations.models import Assembly, Consultation, Problem, Project
from consultations.services import quorum_required

from .documents import MINUTES_PDF
from .names import PLACES, PROJECT_TITLES
from .people import account

# What became of each commune's proposals, in the order they were made (a commune makes three or
# more, so the first statuses are the commonest).
PAST_STATUSES = ["approved", "approved", "approved", "rejected"]
# In the current round some proposals were still on their way when voting opened.
CURRENT_STATUSES = ["approved", "approved", "submitted", "sent_back", "rejected", "draft"]
DECISION_NOTES = {
    "rejected": "El costo no está respaldado por presupuestos.",
    "sent_back": "Falta indicar el lugar exacto de la obra.",
}
DECIDED = ("approved", "rejected", "sent_back")


def assemblies_seed(rng: random.Random, consultation: Consultation, *, statuses: list[str]) -> None:
    """Written as the services would have left them on the round's past dates (the services
    themselves refuse to write into a phase that has gone by): held five days after the
    assemblies opened, decided two days after validation opened."""
    recorder = account("ministerio")
    held_on = timezone.localdate(consultation.assemblies_open_at) + datetime.timedelta(days=5)
    decided_at = consultation.validation_opens_at + datetime.timedelta(days=2)
    for commune in Commune.objects.filter(code__startswith="COM-").order_by("code"):
        minutes = CommuneFile(
            commune=commune,
            kind="pdf",
            original_name=f"acta-asamblea-{commune.code}.pdf",
            size=len(MINUTES_PDF),
            sha256=hashlib.sha256(MINUTES_PDF).hexdigest(),
            is_public=True,
            uploaded_by=recorder,
        )
        minutes.file.save(files.storage_name("pdf"), ContentFile(MINUTES_PDF), save=True)
        councils = list(commune.councils.all())
        eligible = sum(council.residents.count() for council in councils)
        attendance = max(1, round(eligible * rng.uniform(0.25, 0.6)))
        required = quorum_required(
            consultation=consultation, call=Assembly.Call.FIRST, eligible=eligible
        )
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
                decision_note=DECISION_NOTES.get(status, ""),
                decided_by=recorder if status in DECIDED else None,
                decided_at=decided_at if status in DECIDED else None,
            )
            for (title, category, _problem), problem, status in zip(
                chosen, problems, statuses, strict=False
            )
        )
