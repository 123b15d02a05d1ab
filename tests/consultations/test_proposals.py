"""Assemblies, problems and proposals: quorum, uploads, limits, phases, permissions, conflicts."""

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from communes.models import CommunalCouncil
from consultations import services
from consultations.models import Assembly, Consultation, Project

from ..builders import census, complete, make_resident, make_staff, minutes, open_round, record

Phase = Consultation.Phase


@pytest.fixture
def assembling(db):
    return open_round()


@pytest.fixture
def with_quorum(assembling, alice, council_a, commune_a):
    census(council_a, adults=19)  # with Alice: 20 who may take part
    return record(assembling, commune_a, alice, councils=[council_a], attendance=5)


def test_quorum_at_first_call_is_the_rounds_share_of_the_eligible(
    assembling, alice, council_a, commune_a
):
    census(council_a, adults=19, children=7)  # children are not counted
    assembly = record(assembling, commune_a, alice, councils=[council_a], attendance=4)
    assert (assembly.eligible, assembly.quorum_required, assembly.quorum_reached) == (20, 4, True)


def test_quorum_at_second_call_uses_the_smaller_share(assembling, alice, council_a, commune_a):
    census(council_a, adults=29)
    second = record(assembling, commune_a, alice, councils=[council_a], attendance=3, call="second")
    assert (second.eligible, second.quorum_required, second.quorum_reached) == (30, 3, True)
    first = record(assembling, commune_a, alice, councils=[council_a], attendance=3)
    assert (first.quorum_required, first.quorum_reached) == (6, False)


def test_quorum_rounds_a_share_of_a_census_not_a_multiple_of_five_up(
    assembling, alice, council_a, commune_a
):
    census(council_a, adults=6)  # with Alice: 7 who may take part; 20 % of 7 is 1.4
    short = record(assembling, commune_a, alice, councils=[council_a], attendance=1)
    assert (short.eligible, short.quorum_required, short.quorum_reached) == (7, 2, False)
    enough = record(assembling, commune_a, alice, councils=[council_a], attendance=2)
    assert (enough.quorum_required, enough.quorum_reached) == (2, True)


@pytest.mark.parametrize(
    ("eligible", "share", "required"),
    [
        (7, "20", 2),
        (5, "20", 1),
        (1, "20", 1),
        (0, "20", 1),
        (101, "10", 11),
        (9, "50", 5),
        (3, "33.33", 1),
    ],
)
def test_the_quorum_is_the_share_of_the_eligible_rounded_up(eligible, share, required):
    consultation = Consultation(quorum_first_call_percent=Decimal(share))
    assert (
        services.quorum_required(consultation=consultation, call="first", eligible=eligible)
        == required
    )


def test_quorum_counts_only_the_convened_councils(assembling, alice, council_a, commune_a):
    census(council_a, adults=9)
    other = CommunalCouncil.objects.create(
        commune=commune_a, code="CC-A-2", name="Otro", families=200
    )
    census(other, adults=40, prefix=30)
    assembly = record(assembling, commune_a, alice, councils=[council_a], attendance=2)
    assert assembly.eligible == 10


def test_a_youth_round_counts_only_its_ages(alice, council_a, commune_a):
    youth = open_round(min_age=15, max_age=35)
    today = timezone.localdate()
    make_resident(council_a, "V-9900001", "Mayor", birth=today.replace(year=today.year - 60))
    make_resident(council_a, "V-9900002", "Joven", birth=today.replace(year=today.year - 20))
    assembly = record(youth, commune_a, alice, councils=[council_a], attendance=1)
    assert assembly.eligible == 1  # only "Joven": Alice (born 1990) and "Mayor" are over 35


def test_a_renamed_executable_is_refused_as_minutes(assembling, alice, council_a, commune_a):
    census(council_a, adults=9)
    with pytest.raises(ValidationError, match="diga lo que diga su nombre"):
        record(
            assembling,
            commune_a,
            alice,
            councils=[council_a],
            attendance=3,
            minutes=minutes("acta.pdf", b"MZ\x90\x00\x03" + b"\x00" * 200),
        )
    assert not Assembly.objects.exists()


def test_attendance_above_the_census_is_refused(assembling, alice, council_a, commune_a):
    with pytest.raises(ValidationError, match="no puede superar"):
        record(assembling, commune_a, alice, councils=[council_a], attendance=50)


def test_attendee_cedulas_are_checked(assembling, alice, council_a, commune_a):
    census(council_a, adults=9)
    with pytest.raises(ValidationError, match="no es una cédula válida"):
        record(
            assembling,
            commune_a,
            alice,
            councils=[council_a],
            attendance=3,
            attendee_cedulas="12345678",
        )
    assembly = record(
        assembling,
        commune_a,
        alice,
        councils=[council_a],
        attendance=3,
        attendee_cedulas="v20000001\nV-20.000.002",
    )
    assert assembly.attendee_cedulas == "V-20000001\nV-20000002"


def test_only_the_communes_spokespeople_record_assemblies(
    assembling, bob, council_a, commune_a, mina
):
    for intruder in (bob, mina):
        with pytest.raises(PermissionDenied):
            record(assembling, commune_a, intruder, councils=[council_a], attendance=1)
    assert not Assembly.objects.exists()


@pytest.mark.parametrize("phase", [Phase.SCHEDULED, Phase.VALIDATION, Phase.VOTING])
def test_assemblies_are_recorded_only_in_their_phase(phase, alice, council_a, commune_a):
    round_ = open_round(phase=phase)
    with pytest.raises(ValidationError, match="fase de asambleas"):
        record(round_, commune_a, alice, councils=[council_a], attendance=1)


def test_problems_keep_the_assemblys_order_and_move_by_one(with_quorum, alice):
    water = services.problem_add(assembly=with_quorum, title="Falta de agua", by=alice)
    light = services.problem_add(assembly=with_quorum, title="Apagones", by=alice)
    roads = services.problem_add(assembly=with_quorum, title="Vías en mal estado", by=alice)
    services.problem_move(problem=roads, direction="up", by=alice)
    assert list(with_quorum.problems.values_list("title", flat=True)) == [
        "Falta de agua",
        "Vías en mal estado",
        "Apagones",
    ]
    services.problem_move(problem=water, direction="up", by=alice)  # already first
    assert with_quorum.problems.first() == water
    assert light.pk


def test_an_assembly_without_quorum_cannot_back_proposals(assembling, alice, council_a, commune_a):
    census(council_a, adults=29)
    record(assembling, commune_a, alice, councils=[council_a], attendance=2)
    with pytest.raises(ValidationError, match="asamblea con quórum"):
        services.project_create(consultation=assembling, commune=commune_a, by=alice, title="Agua")


def test_a_commune_proposes_at_most_the_ballots_maximum(with_quorum, alice, commune_a):
    Consultation.objects.filter(pk=with_quorum.consultation_id).update(max_options=3)
    for number in range(3):
        services.project_create(
            consultation=with_quorum.consultation, commune=commune_a, by=alice, title=f"P{number}"
        )
    with pytest.raises(ValidationError, match="como máximo 3 propuestas"):
        services.project_create(
            consultation=with_quorum.consultation, commune=commune_a, by=alice, title="P4"
        )
    assert Project.objects.count() == 3


def test_the_cost_cannot_exceed_the_rounds_amount(with_quorum, alice, commune_a):
    project = services.project_create(
        consultation=with_quorum.consultation, commune=commune_a, by=alice, title="Agua"
    )
    with pytest.raises(ValidationError, match="por encima del monto"):
        complete(project, alice, estimated_cost_usd=Decimal("10000.01"))
    project.refresh_from_db()
    assert project.estimated_cost_usd is None


def test_submitting_locks_editing_until_taken_back(with_quorum, alice, commune_a):
    project = services.project_create(
        consultation=with_quorum.consultation, commune=commune_a, by=alice, title="Agua"
    )
    with pytest.raises(ValidationError, match="Completa antes de enviar"):
        services.project_submit(project=project, by=alice)
    project = complete(project, alice)
    project = services.project_submit(project=project, by=alice)
    with pytest.raises(ValidationError, match="bloqueada"):
        services.project_update(
            project=project, by=alice, version=project.version, changes={"title": "x"}
        )
    project = services.project_withdraw(project=project, by=alice)
    assert project.status == Project.Status.DRAFT


def test_two_spokespeople_editing_at_once_are_told_of_the_conflict(
    with_quorum, alice, dora, commune_a, council_a
):
    project = services.project_create(
        consultation=with_quorum.consultation, commune=commune_a, by=alice, title="Agua"
    )
    seen_by_both = project.version
    services.project_update(
        project=project, by=alice, version=seen_by_both, changes={"title": "Agua potable"}
    )
    with pytest.raises(ValidationError, match="Alguien más cambió esta propuesta"):
        services.project_update(
            project=project, by=dora, version=seen_by_both, changes={"title": "Agua!"}
        )
    assert Project.objects.get().title == "Agua potable"


def test_ones_own_autosave_still_in_flight_is_not_a_conflict(with_quorum, alice, commune_a):
    project = services.project_create(
        consultation=with_quorum.consultation, commune=commune_a, by=alice, title="Agua"
    )
    page_version = project.version
    services.project_update(project=project, by=alice, version=page_version, changes={"place": "A"})
    # The submit button posts the whole form with the version the page had before that save.
    services.project_update(
        project=project, by=alice, version=page_version, changes={"place": "A", "title": "Agua!"}
    )
    assert Project.objects.get().title == "Agua!"


def test_another_communes_spokesperson_cannot_touch_a_proposal(with_quorum, alice, bob, commune_a):
    project = services.project_create(
        consultation=with_quorum.consultation, commune=commune_a, by=alice, title="Agua"
    )
    with pytest.raises(PermissionDenied):
        services.project_update(
            project=project, by=bob, version=project.version, changes={"title": "Mío"}
        )
    assert Project.objects.get().title == "Agua"


@pytest.fixture
def submitted(with_quorum, alice, commune_a):
    project = services.project_create(
        consultation=with_quorum.consultation, commune=commune_a, by=alice, title="Agua"
    )
    project = services.project_submit(project=complete(project, alice), by=alice)
    Consultation.objects.filter(pk=project.consultation_id).update(phase=Phase.VALIDATION)
    return project


def test_staff_approve_reject_or_send_back_during_validation(
    submitted, mina, alice, eager_tasks, django_capture_on_commit_callbacks
):
    from django.core import mail

    with pytest.raises(ValidationError, match="Indica por qué"):
        services.project_decide(project=submitted, by=mina, decision="reject", note="")
    services.project_decide(
        project=submitted, by=mina, decision="send_back", note="Falta el presupuesto detallado"
    )
    project = Project.objects.get()
    assert project.status == Project.Status.SENT_BACK
    # Sent back, the commune corrects and resubmits during validation.
    project = services.project_update(
        project=project,
        by=alice,
        version=project.version,
        changes={"description": "Con presupuesto"},
    )
    services.project_submit(project=project, by=alice)
    with django_capture_on_commit_callbacks(execute=True):
        services.project_decide(project=project, by=mina, decision="approve")
    assert Project.objects.get().status == Project.Status.APPROVED
    assert any("Aprobada" in message.subject for message in mail.outbox)


def test_staff_decide_only_during_validation_and_only_in_their_state(submitted, commune_b):
    Consultation.objects.filter(pk=submitted.consultation_id).update(phase=Phase.VOTING)
    national = make_staff("nacional@example.org", "ministry_staff")
    with pytest.raises(ValidationError, match="solo durante la validación"):
        services.project_decide(project=submitted, by=national, decision="approve")
    Consultation.objects.filter(pk=submitted.consultation_id).update(phase=Phase.VALIDATION)
    elsewhere = make_staff(
        "lara@example.org", "ministry_staff", state=commune_b.parish.municipality.state
    )
    with pytest.raises(PermissionDenied):
        services.project_decide(project=submitted, by=elsewhere, decision="approve")
    assert Project.objects.get().status == Project.Status.SUBMITTED


def test_nothing_changes_after_voting_opens(submitted, alice):
    Consultation.objects.filter(pk=submitted.consultation_id).update(phase=Phase.VOTING)
    with pytest.raises(ValidationError):
        services.project_update(
            project=submitted, by=alice, version=submitted.version, changes={"title": "x"}
        )
    with pytest.raises(ValidationError):
        services.project_withdraw(project=submitted, by=alice)


@pytest.mark.django_db(transaction=True)
def test_two_tabs_adding_the_last_allowed_proposal_at_once_add_one(alice, council_a, commune_a):
    import threading

    from django.db import connection

    round_ = open_round(max_options=2)
    census(council_a, adults=9)
    record(round_, commune_a, alice, councils=[council_a], attendance=5)
    services.project_create(consultation=round_, commune=commune_a, by=alice, title="Primera")
    barrier = threading.Barrier(2)
    outcomes = []

    def add(title):
        try:
            barrier.wait()
            services.project_create(consultation=round_, commune=commune_a, by=alice, title=title)
            outcomes.append("added")
        except ValidationError:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=add, args=(f"Tab {n}",)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["added", "refused"]
    assert Project.objects.filter(consultation=round_).count() == 2
