"""The audit trail: every kind of write lands in it; it cannot be changed; changes are caught."""

import datetime
import io
import threading

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from django.urls import reverse

from audit.models import AuditEntry
from audit.trail import verify
from communes import services
from communes.models import CommunalCouncil, ResidentClaim, Spokesperson

from .builders import make_commune, make_resident, make_user


def actions():
    return list(AuditEntry.objects.order_by("seq").values_list("action", flat=True))


def test_a_claim_and_its_verification_are_recorded_with_who_roles_and_ip(
    client, carla, carla_record, alice
):
    client.force_login(carla)
    client.post(
        reverse("communes:my-participation"),
        {"cedula": carla_record.cedula, "birth_date": "1995-07-14"},
        REMOTE_ADDR="203.0.113.7",
    )
    claim = ResidentClaim.objects.get()
    client.force_login(alice)
    client.post(
        reverse("communes:claim-decide", args=[claim.pk]),
        {"decision": "approve"},
        REMOTE_ADDR="198.51.100.20",
    )
    created, approved = AuditEntry.objects.order_by("seq")
    assert (created.action, created.actor, created.ip) == (
        "census_claim.create",
        "carla@example.org",
        "203.0.113.7",
    )
    assert approved.action == "census_claim.approve"
    assert approved.actor_id == alice.pk and approved.ip == "198.51.100.20"
    assert (
        f"spokesperson:executive@commune:{carla_record.council.commune_id}" in approved.actor_roles
    )
    assert approved.before["status"] == "pending" and approved.after["status"] == "approved"
    assert approved.object_type == "communes.residentclaim" and approved.object_id == str(claim.pk)


def test_the_address_behind_a_trusted_proxy_is_the_clients(client, carla, carla_record, settings):
    settings.TRUSTED_PROXY_HOPS = 1
    client.force_login(carla)
    client.post(
        reverse("communes:my-participation"),
        {"cedula": carla_record.cedula, "birth_date": "1995-07-14"},
        REMOTE_ADDR="10.0.0.2",
        HTTP_X_FORWARDED_FOR="192.0.2.99, 203.0.113.50",
    )
    assert AuditEntry.objects.get().ip == "203.0.113.50"


def test_rejections_terms_and_conversions_are_recorded(carla, carla_record, alice, mina, commune_a):
    claim = services.resident_claim_create(
        user=carla, cedula=carla_record.cedula, birth_date=carla_record.birth_date
    )
    services.resident_claim_reject(claim=claim, by=mina, reason="No coincide la foto")
    resident = make_resident(carla_record.council, "V-9876543", "Nueva Vocera")
    term = services.spokesperson_appoint(
        resident=resident,
        commune=commune_a,
        unit=Spokesperson.Unit.FINANCE,
        term_start=datetime.date(2026, 1, 10),
        by=mina,
    )
    services.spokesperson_end_term(spokesperson=term, on=datetime.date(2026, 6, 1), by=mina)
    circuit = make_commune("COM-C", "010102", "Circuito Comunal", kind="circuit")
    services.commune_convert_circuit(commune=circuit, on=datetime.date(2026, 2, 1), by=mina)
    assert actions() == [
        "census_claim.create",
        "census_claim.reject",
        "spokesperson.appoint",
        "spokesperson.end_term",
        "commune.convert_circuit",
    ]
    reject = AuditEntry.objects.get(action="census_claim.reject")
    assert reject.after["rejection_reason"] == "No coincide la foto"
    conversion = AuditEntry.objects.get(action="commune.convert_circuit")
    assert conversion.before == {"kind": "circuit", "became_commune_on": None}
    assert conversion.after == {"kind": "commune", "became_commune_on": "2026-02-01"}
    assert verify() == []


def test_admin_adds_changes_and_deletes_are_recorded(client, adam, commune_a):
    client.force_login(adam)
    client.post(
        reverse("admin:communes_communalcouncil_add"),
        {
            "commune": commune_a.pk,
            "code": "CC-NEW",
            "name": "Consejo Nuevo",
            "families": 150,
            "kind": "urban",
        },
    )
    council = CommunalCouncil.objects.get(code="CC-NEW")
    client.post(
        reverse("admin:communes_communalcouncil_change", args=[council.pk]),
        {
            "commune": commune_a.pk,
            "code": "CC-NEW",
            "name": "Consejo Renombrado",
            "families": 160,
            "kind": "urban",
        },
    )
    client.post(
        reverse("admin:communes_communalcouncil_delete", args=[council.pk]), {"post": "yes"}
    )
    assert actions() == ["admin.add", "admin.change", "admin.delete"]
    change = AuditEntry.objects.get(action="admin.change")
    assert change.before["name"] == "Consejo Nuevo" and change.after["name"] == "Consejo Renombrado"
    assert AuditEntry.objects.get(action="admin.delete").before["families"] == 160


def test_imports_are_recorded(tmp_path, commune_a):
    path = tmp_path / "councils.csv"
    path.write_text(f"code,name,commune_code,families\nCC-1,Consejo,{commune_a.code},120\n")
    call_command("import_councils", str(path), "--no-progress", stdout=io.StringIO())
    entry = AuditEntry.objects.get(action="import.communalcouncil")
    assert entry.actor == "system" and entry.after["created"] == 1


def test_the_database_refuses_to_change_or_delete_an_entry(alice, carla, carla_record):
    services.resident_claim_create(
        user=carla, cedula=carla_record.cedula, birth_date=carla_record.birth_date
    )
    entry = AuditEntry.objects.get()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEntry.objects.filter(pk=entry.pk).update(actor="someone else")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEntry.objects.filter(pk=entry.pk).delete()
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("UPDATE audit_auditentry SET action = 'x'")
    assert AuditEntry.objects.get().actor == "carla@example.org"


def _tamper(sql):
    """What an insider with the database owner's rights could do: switch the trigger off."""
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE audit_auditentry DISABLE TRIGGER audit_entry_append_only")
        cursor.execute(sql)
        cursor.execute("ALTER TABLE audit_auditentry ENABLE TRIGGER audit_entry_append_only")


@pytest.fixture
def three_entries(carla, carla_record, mina, council_a):
    for number in range(3):
        person = make_user(f"p{number}@example.org")
        record = make_resident(council_a, f"V-555000{number}", f"Persona {number}")
        services.resident_claim_create(
            user=person, cedula=record.cedula, birth_date=record.birth_date
        )
    call_command("audit_verify", stdout=io.StringIO())


def test_audit_verify_catches_a_planted_change(three_entries):
    _tamper("UPDATE audit_auditentry SET actor = 'nobody@example.org' WHERE seq = 2")
    with pytest.raises(CommandError, match="NOT intact"):
        call_command("audit_verify")
    assert verify() == ["entry 2: its content was changed after it was written"]


def test_audit_verify_catches_a_removed_entry(three_entries):
    _tamper("DELETE FROM audit_auditentry WHERE seq = 2")
    problems = verify()
    assert "gap: entries 2..2 are missing" in problems
    assert "entry 3: does not follow the entry before it" in problems


def test_audit_verify_catches_a_rewritten_hash(three_entries):
    _tamper("UPDATE audit_auditentry SET after = '{}'::jsonb, hash = repeat('a', 64) WHERE seq = 3")
    assert verify() == ["entry 3: its content was changed after it was written"]


@pytest.mark.django_db(transaction=True)
def test_concurrent_writes_keep_one_unbroken_chain(council_a):
    people = [make_user(f"racer{n}@example.org") for n in range(8)]
    records = [make_resident(council_a, f"V-777000{n}", f"Persona {n}") for n in range(8)]
    barrier = threading.Barrier(len(people))
    errors = []

    def claim(person, record):
        try:
            barrier.wait()
            services.resident_claim_create(
                user=person, cedula=record.cedula, birth_date=record.birth_date
            )
        except Exception as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=claim, args=pair) for pair in zip(people, records, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert list(AuditEntry.objects.order_by("seq").values_list("seq", flat=True)) == list(
        range(1, 9)
    )
    assert verify() == []


def test_admins_can_search_the_trail_but_not_edit_it(client, adam, carla, carla_record):
    services.resident_claim_create(
        user=carla, cedula=carla_record.cedula, birth_date=carla_record.birth_date
    )
    client.force_login(adam)
    page = client.get(reverse("admin:audit_auditentry_changelist"), {"q": "carla@example.org"})
    assert page.status_code == 200 and "census_claim.create" in page.content.decode()
    entry = AuditEntry.objects.get()
    response = client.post(
        reverse("admin:audit_auditentry_delete", args=[entry.pk]), {"post": "yes"}
    )
    assert response.status_code == 403
    assert AuditEntry.objects.count() == 1
