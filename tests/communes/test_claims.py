"""A resident claims their census record; a spokesperson of their commune verifies it."""

import datetime
import threading

import pytest
from django.db import connection
from django.urls import reverse

from communes.models import Resident, ResidentClaim

from ..builders import make_resident, make_user

CLAIM_URL = reverse("communes:my-participation")


def claim(client, user, cedula="V-12.345.678", birth_date="1995-07-14"):
    client.force_login(user)
    return client.post(CLAIM_URL, {"cedula": cedula, "birth_date": birth_date}, follow=True)


def test_resident_claims_and_spokesperson_verifies(client, carla, carla_record, alice):
    response = claim(client, carla)
    assert "Reclamo recibido" in response.content.decode()
    pending = ResidentClaim.objects.get()
    assert pending.status == ResidentClaim.Status.PENDING
    assert pending.resident == carla_record

    client.force_login(alice)
    queue = client.get(reverse("communes:claims-queue"))
    assert "Carla Medina" in queue.content.decode()
    response = client.post(
        reverse("communes:claim-decide", args=[pending.pk]),
        {"decision": "approve"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert "Verificado." in response.content.decode()
    carla_record.refresh_from_db()
    assert carla_record.user == carla
    assert carla_record.verification == Resident.Verification.VERIFIED
    assert carla_record.verified_by == alice
    assert carla_record.verified_at is not None


def test_plain_form_rejection_without_javascript(client, carla, carla_record, alice):
    claim(client, carla)
    pending = ResidentClaim.objects.get()
    client.force_login(alice)
    response = client.post(
        reverse("communes:claim-decide", args=[pending.pk]),
        {"decision": "reject", "reason": "No es la persona del censo"},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == reverse("communes:claims-queue")
    pending.refresh_from_db()
    assert pending.status == ResidentClaim.Status.REJECTED
    carla_record.refresh_from_db()
    assert carla_record.user is None
    assert carla_record.verification == Resident.Verification.REJECTED

    client.force_login(carla)
    page = client.get(CLAIM_URL).content.decode()
    assert "No es la persona del censo" in page


def test_rejection_without_reason_changes_nothing(client, carla, carla_record, alice):
    claim(client, carla)
    pending = ResidentClaim.objects.get()
    client.force_login(alice)
    response = client.post(
        reverse("communes:claim-decide", args=[pending.pk]),
        {"decision": "reject", "reason": "  "},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 422
    assert "Indica por qué" in response.content.decode()
    pending.refresh_from_db()
    assert pending.status == ResidentClaim.Status.PENDING


def test_wrong_birth_date_and_unknown_cedula_get_the_same_message(client, carla, carla_record):
    wrong_date = claim(client, carla, birth_date="1995-07-15").content.decode()
    unknown = claim(client, carla, cedula="V-99999999").content.decode()
    message = "No encontramos un registro del censo con esa cédula y fecha de nacimiento"
    assert message in wrong_date and message in unknown
    assert not ResidentClaim.objects.exists()


def test_malformed_cedula_is_explained(client, carla, carla_record):
    page = claim(client, carla, cedula="12345678").content.decode()
    assert "no es una cédula válida" in page
    assert not ResidentClaim.objects.exists()


def test_nobody_claims_a_record_another_account_holds(client, carla, carla_record):
    claim(client, carla)
    intruder = make_user("intruder@example.org")
    page = claim(client, intruder).content.decode()
    assert "ya está asociado a otra cuenta" in page
    assert ResidentClaim.objects.filter(user=intruder).count() == 0


def test_an_account_claims_only_one_record(client, carla, carla_record, council_a):
    claim(client, carla)
    make_resident(council_a, "V-7654321", "Otra Persona", birth=datetime.date(1980, 1, 1))
    page = claim(client, carla, cedula="V-7654321", birth_date="1980-01-01").content.decode()
    assert "Tu cuenta ya tiene" in page
    assert ResidentClaim.objects.filter(user=carla).count() == 1


def test_spokesperson_of_another_commune_cannot_see_or_decide(client, carla, carla_record, bob):
    claim(client, carla)
    pending = ResidentClaim.objects.get()
    client.force_login(bob)
    assert "Carla Medina" not in client.get(reverse("communes:claims-queue")).content.decode()
    response = client.post(
        reverse("communes:claim-decide", args=[pending.pk]), {"decision": "approve"}
    )
    assert response.status_code == 404
    pending.refresh_from_db()
    assert pending.status == ResidentClaim.Status.PENDING


def test_ministry_staff_can_verify_any_commune(client, carla, carla_record, mina):
    claim(client, carla)
    pending = ResidentClaim.objects.get()
    client.force_login(mina)
    client.post(reverse("communes:claim-decide", args=[pending.pk]), {"decision": "approve"})
    pending.refresh_from_db()
    assert pending.status == ResidentClaim.Status.APPROVED


def test_residents_without_a_role_get_no_queue(client, carla):
    client.force_login(carla)
    assert client.get(reverse("communes:claims-queue")).status_code == 403


def test_a_decided_claim_is_not_decided_again(client, carla, carla_record, alice, mina):
    claim(client, carla)
    pending = ResidentClaim.objects.get()
    client.force_login(alice)
    client.post(reverse("communes:claim-decide", args=[pending.pk]), {"decision": "approve"})
    client.force_login(mina)
    response = client.post(
        reverse("communes:claim-decide", args=[pending.pk]),
        {"decision": "reject", "reason": "tarde"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 422
    pending.refresh_from_db()
    assert pending.status == ResidentClaim.Status.APPROVED
    assert pending.decided_by == alice


def test_the_decide_url_refuses_get(client, alice, carla, carla_record):
    claim(client, carla)
    client.force_login(alice)
    pk = ResidentClaim.objects.get().pk
    assert client.get(reverse("communes:claim-decide", args=[pk])).status_code == 405


@pytest.mark.django_db(transaction=True)
def test_two_accounts_claiming_one_record_at_once_leave_one_holder(council_a):
    from communes.services import resident_claim_create

    record = make_resident(
        council_a, "V-12345678", "Carla Medina", birth=datetime.date(1995, 7, 14)
    )
    users = [make_user(f"racer{n}@example.org") for n in range(6)]
    barrier = threading.Barrier(len(users))
    outcomes = []

    def attempt(user):
        try:
            barrier.wait()
            resident_claim_create(user=user, cedula="V-12345678", birth_date=record.birth_date)
            outcomes.append("claimed")
        except Exception as error:
            outcomes.append(type(error).__name__)
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=(user,)) for user in users]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert outcomes.count("claimed") == 1
    assert outcomes.count("ValidationError") == len(users) - 1
    assert ResidentClaim.objects.filter(resident=record).count() == 1
