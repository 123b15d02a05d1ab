"""The round's phase machine: each transition's preconditions, refusals, and frozen rules."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from audit.models import AuditEntry
from consultations import services
from consultations.models import Consultation, Exclusion, PhaseTransition
from cycle import services as cycle

from ..builders import NOW, approve_projects, hours, make_round

Phase = Consultation.Phase


def phase_of(consultation):
    consultation.refresh_from_db()
    return consultation.phase


def test_a_complete_draft_is_scheduled_and_the_move_recorded(draft, adam):
    cycle.round_schedule(consultation=draft, by=adam, now=NOW)
    assert phase_of(draft) == Phase.SCHEDULED
    transition = PhaseTransition.objects.get(consultation=draft)
    assert (transition.from_phase, transition.to_phase, transition.by) == (
        "draft",
        "scheduled",
        adam,
    )
    assert AuditEntry.objects.filter(
        action="consultation.enter_phase", object_id=str(draft.pk)
    ).exists()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"voting_opens_at": None}, "Faltan fechas"),
        ({"funder_by_rank": []}, "un financista para cada puesto"),
        ({"winners_per_commune": 2}, "un financista para cada puesto"),
        ({"assemblies_open_at": hours(-1)}, "deben abrirse en el futuro"),
    ],
)
def test_a_draft_with_a_problem_is_not_scheduled(adam, changes, message):
    draft = make_round(**changes)
    with pytest.raises(ValidationError) as raised:
        cycle.round_schedule(consultation=draft, by=adam, now=NOW)
    assert any(message in text for text in raised.value.messages)
    assert phase_of(draft) == Phase.DRAFT
    assert not PhaseTransition.objects.exists()


def test_dates_out_of_order_are_explained(db):
    draft = Consultation(name="x", year=2027, quarter=1, funder_by_rank=["national"])
    for field, at in zip(services.DATE_FIELDS, [1, 50, 48, 58, 120], strict=True):
        setattr(draft, field, hours(at))
    assert any("deben seguir el orden" in problem for problem in services.rules_problems(draft))


def test_only_a_cycle_admin_schedules(draft, mina):
    with pytest.raises(PermissionDenied):
        cycle.round_schedule(consultation=draft, by=mina, now=NOW)
    assert phase_of(draft) == Phase.DRAFT


def test_the_job_does_not_move_a_round_before_its_date(scheduled):
    with pytest.raises(ValidationError, match="no ha llegado"):
        cycle.round_open_assemblies(consultation=scheduled, by=None, now=hours(0.5))
    assert phase_of(scheduled) == Phase.SCHEDULED


def test_a_transition_from_the_wrong_phase_is_refused(scheduled):
    with pytest.raises(ValidationError, match="no puede pasar"):
        cycle.round_open_voting(consultation=scheduled, by=None, now=hours(49))
    assert phase_of(scheduled) == Phase.SCHEDULED
    assert PhaseTransition.objects.filter(consultation=scheduled).count() == 1


def test_a_person_moves_a_round_early_only_with_a_reason(scheduled, adam):
    with pytest.raises(ValidationError, match="por qué"):
        cycle.round_open_assemblies(consultation=scheduled, by=adam, reason=" ", now=NOW)
    cycle.round_open_assemblies(
        consultation=scheduled, by=adam, reason="Asambleas adelantadas por el ministerio", now=NOW
    )
    assert phase_of(scheduled) == Phase.ASSEMBLIES


def test_only_a_cycle_admin_moves_a_round_by_hand(scheduled, mina):
    with pytest.raises(PermissionDenied):
        cycle.round_open_assemblies(consultation=scheduled, by=mina, reason="x", now=NOW)


def _to_validation(consultation):
    cycle.round_open_assemblies(consultation=consultation, by=None, now=hours(1))
    cycle.round_open_validation(consultation=consultation, by=None, now=hours(24))


def test_voting_opens_for_communes_with_two_approved_projects_and_leaves_the_rest_off(
    scheduled, commune_a, commune_b
):
    _to_validation(scheduled)
    approve_projects(scheduled, commune_a, 2)
    approve_projects(scheduled, commune_b, 1)
    cycle.round_open_voting(consultation=scheduled, by=None, now=hours(48))
    assert phase_of(scheduled) == Phase.VOTING
    left_off = Exclusion.objects.get(consultation=scheduled)
    assert left_off.commune == commune_b and left_off.kind == Exclusion.Kind.NO_BALLOT
    assert "1 proyecto(s) aprobado(s)" in left_off.reason
    assert scheduled.rules_frozen_at == hours(48)


def test_voting_does_not_open_without_any_ballot(scheduled, commune_a):
    _to_validation(scheduled)
    approve_projects(scheduled, commune_a, 1)
    with pytest.raises(ValidationError, match="nada que votar"):
        cycle.round_open_voting(consultation=scheduled, by=None, now=hours(48))
    assert phase_of(scheduled) == Phase.VALIDATION
    assert not Exclusion.objects.exists()


def test_rules_and_voting_dates_freeze_once_voting_opens(scheduled, commune_a, adam):
    _to_validation(scheduled)
    approve_projects(scheduled, commune_a, 3)
    cycle.round_open_voting(consultation=scheduled, by=None, now=hours(48))
    with pytest.raises(ValidationError, match="ya no pueden cambiar"):
        services.consultation_update(consultation=scheduled, by=adam, changes={"min_age": 16})
    with pytest.raises(ValidationError, match="ya no pueden cambiar"):
        services.consultation_update(
            consultation=scheduled, by=adam, changes={"voting_closes_at": hours(70)}
        )
    scheduled.refresh_from_db()
    assert scheduled.min_age == 15 and scheduled.voting_closes_at == hours(58)
    services.consultation_update(
        consultation=scheduled, by=adam, changes={"name": "Consulta 2027-I (b)"}
    )
    assert Consultation.objects.get(pk=scheduled.pk).name == "Consulta 2027-I (b)"


def test_rules_can_change_before_voting(scheduled, adam):
    services.consultation_update(
        consultation=scheduled, by=adam, changes={"min_age": 15, "max_age": 35}
    )
    assert Consultation.objects.get(pk=scheduled.pk).max_age == 35


def test_an_update_that_breaks_the_rules_changes_nothing(scheduled, adam):
    with pytest.raises(ValidationError, match="financista"):
        services.consultation_update(
            consultation=scheduled, by=adam, changes={"funder_by_rank": ["national", "state"]}
        )
    assert Consultation.objects.get(pk=scheduled.pk).funder_by_rank == ["national"]


def test_the_count_and_the_publication_follow_their_dates(scheduled, commune_a):
    _to_validation(scheduled)
    approve_projects(scheduled, commune_a, 2)
    cycle.round_open_voting(consultation=scheduled, by=None, now=hours(48))
    with pytest.raises(ValidationError):
        cycle.round_close_voting(consultation=scheduled, by=None, now=hours(57))
    cycle.round_close_voting(consultation=scheduled, by=None, now=hours(58))
    with pytest.raises(ValidationError):  # nothing to publish before the count
        cycle.round_publish(consultation=scheduled, by=None, now=hours(120))
    cycle.round_count(consultation_id=scheduled.pk)
    cycle.round_publish(consultation=scheduled, by=None, now=hours(120))
    assert phase_of(scheduled) == Phase.PUBLISHED
    assert [t.to_phase for t in scheduled.transitions.all()] == [
        "scheduled",
        "assemblies",
        "validation",
        "voting",
        "counting",
        "published",
    ]


def test_a_round_is_cancelled_with_a_reason_but_never_once_published(scheduled, adam):
    with pytest.raises(ValidationError, match="por qué"):
        cycle.round_cancel(consultation=scheduled, by=adam, reason="")
    cycle.round_cancel(consultation=scheduled, by=adam, reason="Emergencia nacional")
    assert phase_of(scheduled) == Phase.CANCELLED
    with pytest.raises(ValidationError):
        cycle.round_cancel(consultation=scheduled, by=adam, reason="otra vez")
    with pytest.raises(ValidationError):
        cycle.round_open_assemblies(consultation=scheduled, by=None, now=hours(2))


def test_a_published_round_cannot_be_cancelled(adam, commune_a):
    published = make_round(phase=Phase.PUBLISHED)
    with pytest.raises(ValidationError, match="publicada"):
        cycle.round_cancel(consultation=published, by=adam, reason="x")


def test_the_admin_excludes_a_commune_with_a_reason(scheduled, commune_a, commune_b, adam):
    with pytest.raises(ValidationError, match="por qué"):
        services.commune_exclude(consultation=scheduled, commune=commune_b, by=adam, reason="")
    services.commune_exclude(
        consultation=scheduled, commune=commune_b, by=adam, reason="Comuna en reestructuración"
    )
    assert list(services.participating_communes(scheduled)) == [commune_a]


def test_the_database_refuses_dates_out_of_order(db):
    from django.db import IntegrityError

    with pytest.raises(IntegrityError):
        make_round(voting_closes_at=hours(47))


def test_the_database_keeps_one_live_round_per_quarter(draft):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        make_round(name="Otra")
    Consultation.objects.filter(pk=draft.pk).update(phase=Phase.CANCELLED)
    assert make_round(name="La de reemplazo")
