"""The long work after voting closes, run by jobs and by the tick, never in a request: the count
and the allocations. Both take a round's id and are safe to run twice or at once.

They queue nothing, so the jobs that run them (``jobs.py``) import nothing that queues those
jobs: ``services`` → ``jobs`` → ``work``, no circle.
"""

from django.core.exceptions import ValidationError

from funding.services import allocations_for_round
from voting import closing, counting
from voting.models import Count


def round_count(*, consultation_id: int, now=None) -> Count | None:
    """Count a round in counting: what the count job runs, and what the tick retries until the
    count is done (a killed worker, commissioners' partial decryptions that arrived late).

    Returns None when there is nothing to do: the round has left counting (counted, then
    published or cancelled), or another run of the same count holds its lock. Run twice, it
    writes the same results: the count is deterministic and replaces its own rows.
    """
    if not counting.consultation_awaits_count(consultation_id):
        return None
    # The urn's rewrite comes first, whatever happens to the count (done once; a no-op after).
    closing.urn_rewrite(consultation_id=consultation_id, now=now)
    try:
        return counting.consultation_count(consultation_id=consultation_id, now=now)
    except ValidationError as error:
        if error.code == "wrong_phase":  # published or cancelled since the check above
            return None
        raise


def round_allocate(*, consultation_id: int, now=None) -> int:
    """Give each winning project of a published round its allocation, from the funder the round's
    rule names for its rank; returns how many it created. Safe twice or at once: it creates only
    what is missing, and the database refuses a second allocation of a project.

    Each winner's allocation, its ledger entry and its audit entry are one transaction, not the
    whole round: the audit trail takes a lock for each entry until its transaction ends, and a
    national round's thousands of winners in one transaction would hold every other audited
    write in the country for that long. A run cut short leaves whole allocations; the next run
    (the tick's, every minute) adds the rest.
    """
    return allocations_for_round(consultation_id=consultation_id, now=now)
