"""The database keeps the registry's invariants even when code slips."""

import datetime

import pytest
from django.db import IntegrityError, transaction

from accounts.models import StaffRole
from communes.models import CommunalCouncil, Commune, ResidentClaim, Spokesperson

from ..builders import make_commune, make_resident, make_user


def refused(callable_):
    with pytest.raises(IntegrityError), transaction.atomic():
        callable_()


def test_resident_cedula_must_be_stored_normalised(council_a):
    refused(lambda: make_resident(council_a, "v12345678", "Sin Normalizar"))
    refused(lambda: make_resident(council_a, "V-0123456", "Cero Inicial"))


def test_a_cedula_belongs_to_one_resident(council_a, council_b):
    make_resident(council_a, "V-12345678", "Primera")
    refused(lambda: make_resident(council_b, "V-12345678", "Segunda"))


def test_registry_code_is_unique(commune_a):
    refused(lambda: make_commune(commune_a.code, "010102", "Otra comuna"))


def test_bank_account_has_twenty_digits(db):
    refused(lambda: make_commune("COM-X", "010101", "Cuenta corta", bank_account="0102"))
    assert make_commune("COM-Y", "010101", "Cuenta buena", bank_account="0" * 19 + "1")


def test_only_a_commune_has_a_conversion_date(db):
    refused(
        lambda: make_commune(
            "COM-Z",
            "010101",
            "Circuito",
            kind="circuit",
            became_commune_on=datetime.date(2024, 1, 1),
        )
    )


def test_council_has_at_least_one_family(commune_a):
    refused(
        lambda: CommunalCouncil.objects.create(
            commune=commune_a, code="CC-0", name="Vacío", families=0
        )
    )


def test_a_record_is_held_by_one_open_claim(carla, carla_record):
    ResidentClaim.objects.create(resident=carla_record, user=carla)
    other = make_user("other@example.org")
    refused(lambda: ResidentClaim.objects.create(resident=carla_record, user=other))


def test_an_account_holds_one_open_claim(carla, carla_record, council_a):
    ResidentClaim.objects.create(resident=carla_record, user=carla)
    second = make_resident(council_a, "V-7654321", "Otra Persona")
    refused(lambda: ResidentClaim.objects.create(resident=second, user=carla))


def test_a_rejected_claim_frees_the_record(carla, carla_record, mina):
    ResidentClaim.objects.create(
        resident=carla_record,
        user=carla,
        status=ResidentClaim.Status.REJECTED,
        decided_by=mina,
        decided_at=datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC),
        rejection_reason="No coincide",
    )
    assert ResidentClaim.objects.create(resident=carla_record, user=make_user("real@example.org"))


def test_a_claimant_never_decides_their_own_claim(carla, carla_record):
    refused(
        lambda: ResidentClaim.objects.create(
            resident=carla_record,
            user=carla,
            status=ResidentClaim.Status.APPROVED,
            decided_by=carla,
            decided_at=datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC),
        )
    )


def test_a_rejection_needs_a_reason(carla, carla_record, mina):
    refused(
        lambda: ResidentClaim.objects.create(
            resident=carla_record,
            user=carla,
            status=ResidentClaim.Status.REJECTED,
            decided_by=mina,
            decided_at=datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC),
        )
    )


def test_a_resident_holds_one_unit_at_a_time(alice, commune_a):
    resident = alice.resident
    refused(
        lambda: Spokesperson.objects.create(
            resident=resident,
            commune=commune_a,
            unit=Spokesperson.Unit.FINANCE,
            term_start=datetime.date(2025, 6, 1),
            term_end=datetime.date(2028, 6, 1),
        )
    )


def test_a_term_ends_after_it_starts(council_a, commune_a):
    resident = make_resident(council_a, "V-3333333", "Tercera")
    refused(
        lambda: Spokesperson.objects.create(
            resident=resident,
            commune=commune_a,
            unit=Spokesperson.Unit.FINANCE,
            term_start=datetime.date(2025, 6, 1),
            term_end=datetime.date(2025, 6, 1),
        )
    )


def test_verified_record_names_its_account_and_verifier(council_a):
    refused(
        lambda: (
            make_resident(council_a, "V-4444444", "Sin Cuenta")
            .__class__.objects.filter(cedula="V-4444444")
            .update(verification="verified")
        )
    )


def test_cofunder_staff_always_have_a_state(carla):
    refused(lambda: StaffRole.objects.create(user=carla, kind=StaffRole.Kind.COFUNDER_STAFF))


def test_a_national_role_is_granted_once(carla):
    StaffRole.objects.create(user=carla, kind=StaffRole.Kind.MINISTRY_STAFF)
    refused(lambda: StaffRole.objects.create(user=carla, kind=StaffRole.Kind.MINISTRY_STAFF))


def test_a_circuit_becomes_a_commune_and_keeps_its_councils(db):
    from communes.services import commune_convert_circuit

    circuit = make_commune("COM-C", "010101", "Circuito Comunal El Samán", kind="circuit")
    council = CommunalCouncil.objects.create(commune=circuit, code="CC-C", name="CC", families=150)
    converted = commune_convert_circuit(commune=circuit, on=datetime.date(2025, 2, 1), by=None)
    assert converted.pk == circuit.pk
    assert converted.kind == Commune.Kind.COMMUNE
    assert converted.became_commune_on == datetime.date(2025, 2, 1)
    council.refresh_from_db()
    assert council.commune_id == circuit.pk
