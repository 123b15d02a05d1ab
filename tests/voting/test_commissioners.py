"""The electoral commissioners (issue 14): appointed by the cycle admin, they make the round's
key on their own machines through their page, and after voting closes k of them decrypt the
communes' sums, each from their own key share, without the key ever being whole.

Each commissioner's steps are done here in-process with ``urncrypto.dkg``, exactly what
``scripts/commissioner.py`` does on their machine; the files go through the pages."""

import json

import pytest
import redis
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.urls import reverse

from audit.models import AuditEntry
from consultations.models import Consultation
from consultations.services import rules_problems
from cycle import services as cycle
from cycle.work import round_count
from urncrypto import KeyShare, SummedBallots, dkg, group, partial_decrypt
from voting import commissioners, services
from voting.models import Commissioner, CommuneResult, Count, PartialDecryption, Urn

from ..builders import (
    DURING_VOTING,
    NOW,
    ballot_of,
    by_title,
    form_data,
    hours,
    make_round,
    make_user,
    make_voter,
    open_voting,
)

CLOSING = 58


# Builders --------------------------------------------------------------------------------


def upload(client, consultation, what, document, *, raw=None):
    """Upload a file on the commissioner's page; returns the page it lands on."""
    content = raw if raw is not None else json.dumps(document).encode()
    response = client.post(
        reverse("cycle:commissioner-upload", args=[consultation.pk]),
        {"what": what, "file": SimpleUploadedFile("archivo.json", content)},
        follow=True,
    )
    assert response.status_code == 200
    return response.content.decode()


def download(client, consultation, what):
    response = client.get(reverse("cycle:commissioner-download", args=[consultation.pk, what]))
    assert response.status_code == 200, response.status_code
    assert response["Content-Disposition"].startswith("attachment")
    return json.loads(response.content)


def page_of(client, consultation):
    response = client.get(reverse("cycle:commissioner", args=[consultation.pk]))
    assert response.status_code == 200
    return response.content.decode()


def client_of(user):
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client


class Commissioners:
    """Three commissioners of a round, each with their own client and, once made, their own
    secret keys, dealer secret and key share (what lives on their machines)."""

    def __init__(self, consultation):
        self.consultation = consultation
        self.people = {i: make_user(f"comisionado{i}@example.org") for i in (1, 2, 3)}
        self.clients = {i: client_of(person) for i, person in self.people.items()}
        self.secrets: dict[int, dkg.CommissionerSecret] = {}
        self.shares: dict[int, KeyShare] = {}

    def appoint(self, adam):
        admin = client_of(adam)
        for i, person in self.people.items():
            admin.post(
                reverse("cycle:commissioner-appoint", args=[self.consultation.pk]),
                {"email": person.email, "index": i},
            )
        assert Commissioner.objects.filter(consultation=self.consultation).count() == 3

    def keygen(self):
        for i, client in self.clients.items():
            self.secrets[i] = dkg.commissioner_keygen(i)  # keygen --index i
            page = upload(client, self.consultation, "keys", self.secrets[i].public().to_json())
            assert "Se guardaron tus claves públicas" in page

    def contribute(self):
        for i, client in self.clients.items():
            ceremony = dkg.Ceremony.from_json(download(client, self.consultation, "ceremony"))
            contribution, _dealer_secret = dkg.contribution_make(ceremony, self.secrets[i])
            page = upload(client, self.consultation, "contribution", contribution.to_json())
            assert "Tu contribución fue verificada y guardada" in page

    def combine(self):
        fingerprints = set()
        for i, client in self.clients.items():
            ceremony = dkg.Ceremony.from_json(download(client, self.consultation, "ceremony"))
            document = download(client, self.consultation, "contributions")
            contributions = [dkg.Contribution.from_json(c) for c in document["contributions"]]
            share, public = dkg.key_share_combine(ceremony, self.secrets[i], contributions)
            self.shares[i] = share
            fingerprint = group.b64(public.key.fingerprint)
            assert f"data-fingerprint>{fingerprint}<" in page_of(client, self.consultation)
            fingerprints.add(fingerprint)
        assert len(fingerprints) == 1

    def partials_file(self, i) -> dict:
        """``commissioner.py decrypt``'s output for commissioner i, from the downloaded sums."""
        document = download(self.clients[i], self.consultation, "sums")
        sums = [SummedBallots.from_json(item) for item in document["communes"]]
        return {
            "round": document["round"],
            "index": i,
            "partials": [partial_decrypt(share=self.shares[i], summed=s).to_json() for s in sums],
        }

    def share_file(self, i) -> dict:
        """``commissioner.py combine``'s key share file."""
        return {**self.shares[i].to_json(), "ceremony": "x"}


@pytest.fixture
def two_of_three(commune_a, commune_b):
    consultation = make_round(key_shares_needed=2, key_shares_total=3, max_options=3)
    ballot_of(consultation, commune_a)
    ballot_of(consultation, commune_b, titles=("Escuela", "Mercado", "Vialidad"))
    return consultation


@pytest.fixture
def keyed(two_of_three, adam):
    """A 2-of-3 round whose commissioners have made its key (each holds their share)."""
    team = Commissioners(two_of_three)
    team.appoint(adam)
    team.keygen()
    team.contribute()
    team.combine()
    return team


def vote_and_close(team, adam, council_a, council_b, commune_a, commune_b):
    """Voting opens on the commissioners' key; A votes 3 Cancha and 1 Agua potable, B 2
    Mercado; voting closes and the count waits for the commissioners."""
    consultation = open_voting(team.consultation, adam)
    urn = Urn.objects.get(consultation=consultation)
    assert (urn.shares_needed, urn.shares_total) == (2, 3)
    a, b = by_title(consultation, commune_a), by_title(consultation, commune_b)
    choices = [(council_a, a["Cancha"])] * 3 + [(council_a, a["Agua potable"])]
    choices += [(council_b, b["Mercado"])] * 2
    for number, (council, project) in enumerate(choices):
        services.vote_cast(
            consultation=consultation,
            user=make_voter(council, number),
            project_id=project.pk,
            now=DURING_VOTING,
        )
    cycle.round_close_voting(consultation=consultation, by=None, now=hours(CLOSING))
    count = round_count(consultation_id=consultation.pk, now=hours(CLOSING))
    assert count.status == Count.Status.WAITING_FOR_KEY
    consultation.refresh_from_db()
    team.consultation = consultation
    return consultation


@pytest.fixture
def closed(keyed, adam, council_a, council_b, commune_a, commune_b):
    vote_and_close(keyed, adam, council_a, council_b, commune_a, commune_b)
    return keyed


def stored_anywhere(needles: list[str]) -> list[str]:
    """Where any of ``needles`` is found: every row of every table (as text, bytea in hex) and
    every value of the cache's Redis database."""
    found = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            for needle in needles:
                cursor.execute(
                    f'SELECT count(*) FROM "{table}" AS t WHERE t::text LIKE %s',  # noqa: S608
                    [f"%{needle}%"],
                )
                if cursor.fetchone()[0]:
                    found.append(f"{table}: {needle}")
    store = redis.Redis.from_url(settings.REDIS_URL)
    for key in store.scan_iter():
        value = store.dump(key) or b""
        found += [f"redis {key!r}" for needle in needles if needle.encode() in value]
    return found


# The whole ceremony, vote and count --------------------------------------------------------


def test_a_two_of_three_round_is_keyed_voted_and_counted_through_the_pages(
    closed, council_a, commune_a, commune_b
):
    team, consultation = closed, closed.consultation
    page = page_of(team.clients[1], consultation)
    assert 'data-step="decrypt"' in page
    assert "0 de 2" in page

    # Commissioner 1 decrypts on their machine and uploads the partial decryptions.
    page = upload(team.clients[1], consultation, "partials", team.partials_file(1))
    assert "2 comunas descifradas" in page
    assert "1 de 2" in page
    assert round_count(consultation_id=consultation.pk).status == Count.Status.WAITING_FOR_KEY

    # Commissioner 3 uploads their key share instead: used for the request, never stored.
    share = team.share_file(3)
    page = upload(team.clients[3], consultation, "share", share)
    assert "2 comunas descifradas" in page
    assert PartialDecryption.objects.filter(consultation=consultation).count() == 4

    count = round_count(consultation_id=consultation.pk)
    assert count.status == Count.Status.DONE
    a, b = by_title(consultation, commune_a), by_title(consultation, commune_b)
    votes = dict(
        CommuneResult.objects.filter(consultation=consultation).values_list("commune", "counted")
    )
    assert votes == {commune_a.pk: 4, commune_b.pk: 2}
    from voting.models import ProjectResult

    totals = dict(
        ProjectResult.objects.filter(consultation=consultation).values_list("project", "votes")
    )
    assert totals[a["Cancha"].pk] == 3
    assert totals[a["Agua potable"].pk] == 1
    assert totals[a["Alumbrado"].pk] == 0
    assert totals[b["Mercado"].pk] == 2

    # No stored field, no cached value holds any commissioner's secret share.
    secrets = [s for i in (1, 2, 3) for s in team.shares[i].to_json()["secrets"]]
    hexed = [group.unb64(s, 32).hex() for s in secrets]
    assert stored_anywhere(secrets + hexed) == []
    # The search does find what is stored: the key's fingerprint, in the urn's row.
    fingerprint = bytes(Urn.objects.get(consultation=consultation).public_key).hex()
    assert stored_anywhere([fingerprint]) == [f"{Urn._meta.db_table}: {fingerprint}"]
    audit = AuditEntry.objects.filter(action="urn.partials_made").get()
    assert audit.after == {"commissioner": 3, "new": 2}


def test_the_page_shows_each_step_with_its_command(two_of_three, adam):
    team = Commissioners(two_of_three)
    team.appoint(adam)
    page = page_of(team.clients[2], two_of_three)
    assert 'data-step="keys"' in page
    assert "python scripts/commissioner.py keygen --index 2" in page
    upload(team.clients[2], two_of_three, "keys", dkg.commissioner_keygen(2).public().to_json())
    page = page_of(team.clients[2], two_of_three)
    assert 'data-step="waiting_keys"' in page
    assert "1 de 3" in page
    # The ceremony is not there until all three have given their keys.
    response = team.clients[2].get(
        reverse("cycle:commissioner-download", args=[two_of_three.pk, "ceremony"]), follow=True
    )
    assert "todavía no está listo" in response.content.decode()


# Appointments ----------------------------------------------------------------------------


def appoint(client, consultation, email, index):
    return client.post(
        reverse("cycle:commissioner-appoint", args=[consultation.pk]),
        {"email": email, "index": index},
        follow=True,
    ).content.decode()


def test_appointments_are_refused_outside_the_rules(two_of_three, adam, alice):
    admin = client_of(adam)
    page = appoint(admin, two_of_three, "nadie@example.org", 1)
    assert "Nadie tiene una cuenta con ese correo" in page
    page = appoint(admin, two_of_three, alice.email, 4)
    assert "entre 1 y 3" in page
    page = appoint(admin, two_of_three, alice.email, 1)
    assert "es el comisionado electoral número 1" in page
    page = appoint(admin, two_of_three, alice.email, 2)
    assert "ya es comisionado o comisionada de esta consulta" in page
    page = appoint(admin, two_of_three, adam.email, 1)
    assert "El número 1 ya tiene" in page
    assert Commissioner.objects.filter(consultation=two_of_three).count() == 1
    assert AuditEntry.objects.filter(action="commissioner.appoint").count() == 1


def test_a_round_without_commissioners_takes_no_appointment(commune_a, adam, alice):
    consultation = make_round()
    page = appoint(client_of(adam), consultation, alice.email, 1)
    assert "no tiene comisionados electorales" in page
    assert not Commissioner.objects.exists()


def test_only_a_cycle_admin_appoints(two_of_three, alice, mina):
    for person in (alice, mina):
        response = client_of(person).post(
            reverse("cycle:commissioner-appoint", args=[two_of_three.pk]),
            {"email": alice.email, "index": 1},
        )
        assert response.status_code == 403
    assert not Commissioner.objects.exists()


def test_an_appointment_is_removed_only_before_its_keys(two_of_three, adam):
    team = Commissioners(two_of_three)
    team.appoint(adam)
    admin = client_of(adam)
    upload(team.clients[1], two_of_three, "keys", dkg.commissioner_keygen(1).public().to_json())
    seats = {seat.index: seat for seat in Commissioner.objects.filter(consultation=two_of_three)}
    page = admin.post(
        reverse("cycle:commissioner-remove", args=[seats[1].pk]), follow=True
    ).content.decode()
    assert "ya entregó sus claves públicas" in page
    admin.post(reverse("cycle:commissioner-remove", args=[seats[2].pk]))
    assert sorted(Commissioner.objects.values_list("index", flat=True)) == [1, 3]
    assert AuditEntry.objects.filter(action="commissioner.remove").count() == 1


def test_appointments_are_frozen_once_voting_opens(keyed, adam, alice):
    consultation = open_voting(keyed.consultation, adam)
    seat = Commissioner.objects.filter(consultation=consultation).first()
    Commissioner.objects.filter(pk=seat.pk).update(keys=None)  # even without keys
    page = (
        client_of(adam)
        .post(reverse("cycle:commissioner-remove", args=[seat.pk]), follow=True)
        .content.decode()
    )
    assert "La votación abrió" in page
    with pytest.raises(ValidationError) as refused:
        commissioners.commissioner_appoint(
            consultation=consultation, email=alice.email, index=3, by=adam
        )
    assert refused.value.code == "commissioners_frozen"
    assert Commissioner.objects.filter(consultation=consultation).count() == 3


@pytest.mark.django_db(transaction=True)
def test_two_admins_appointing_one_number_at_once_make_one_appointment(
    commune_a, adam, alice, carla
):
    from ..concurrency import attempt, run_at_once

    consultation = make_round(key_shares_needed=2, key_shares_total=3)
    results = run_at_once(
        [
            attempt(
                lambda person=person: commissioners.commissioner_appoint(
                    consultation=consultation, email=person.email, index=1, by=adam
                )
            )
            for person in (alice, carla)
        ]
    )
    assert sorted(results) == ["index_taken", "ok"]
    assert Commissioner.objects.filter(consultation=consultation).count() == 1


# Bad files, before voting -----------------------------------------------------------------


def test_a_keys_file_of_another_number_or_malformed_is_refused(two_of_three, adam):
    team = Commissioners(two_of_three)
    team.appoint(adam)
    client = team.clients[1]
    page = upload(client, two_of_three, "keys", dkg.commissioner_keygen(2).public().to_json())
    assert "es para el comisionado número 2" in page
    page = upload(client, two_of_three, "keys", None, raw=b"{not json")
    assert "no es JSON" in page
    page = upload(client, two_of_three, "keys", {"index": 1, "encryption_key": "AAAA"})
    assert "no tiene el formato esperado" in page
    page = upload(client, two_of_three, "keys", None, raw=b" " * (65 * 1024))
    assert "demasiado grande" in page
    assert not Commissioner.objects.filter(keys__isnull=False).exists()
    assert not AuditEntry.objects.filter(action="commissioner.keys_add").exists()


def test_a_contribution_of_another_dealer_or_with_a_bad_proof_is_refused(two_of_three, adam):
    team = Commissioners(two_of_three)
    team.appoint(adam)
    team.keygen()
    ceremony = dkg.Ceremony.from_json(download(team.clients[1], two_of_three, "ceremony"))
    theirs, _secret = dkg.contribution_make(ceremony, team.secrets[2])
    page = upload(team.clients[1], two_of_three, "contribution", theirs.to_json())
    assert "pertenece a otra consulta, comuna, boleta o comisionado" in page
    mine, _secret = dkg.contribution_make(ceremony, team.secrets[1])
    forged = mine.to_json()
    signature = group.unb64(forged["signature"], 64)
    forged["signature"] = group.b64(bytes([signature[0] ^ 1]) + signature[1:])
    page = upload(team.clients[1], two_of_three, "contribution", forged)
    assert "La firma no corresponde a la clave publicada del comisionado." in page
    assert not Commissioner.objects.filter(contribution__isnull=False).exists()
    upload(team.clients[1], two_of_three, "contribution", mine.to_json())
    # Given once: another contribution (made after seeing the others') is refused.
    again, _secret = dkg.contribution_make(ceremony, team.secrets[1])
    page = upload(team.clients[1], two_of_three, "contribution", again.to_json())
    assert "Ya contribuiste" in page
    assert Commissioner.objects.get(consultation=two_of_three, index=1).contribution == (
        mine.to_json()
    )


def test_keys_cannot_change_once_someone_contributed(two_of_three, adam):
    team = Commissioners(two_of_three)
    team.appoint(adam)
    team.keygen()
    ceremony = dkg.Ceremony.from_json(download(team.clients[1], two_of_three, "ceremony"))
    upload(
        team.clients[1],
        two_of_three,
        "contribution",
        dkg.contribution_make(ceremony, team.secrets[1])[0].to_json(),
    )
    page = upload(
        team.clients[2], two_of_three, "keys", dkg.commissioner_keygen(2).public().to_json()
    )
    assert "ya no pueden cambiar" in page
    assert Commissioner.objects.get(consultation=two_of_three, index=2).keys == (
        team.secrets[2].public().to_json()
    )


def test_someone_not_appointed_gets_nothing(closed, alice, adam):
    consultation = closed.consultation
    for person in (alice, adam):
        client = client_of(person)
        assert client.get(reverse("cycle:commissioner", args=[consultation.pk])).status_code == 403
        url = reverse("cycle:commissioner-download", args=[consultation.pk, "sums"])
        assert client.get(url).status_code == 403
        response = client.post(
            reverse("cycle:commissioner-upload", args=[consultation.pk]),
            {
                "what": "partials",
                "file": SimpleUploadedFile("p.json", json.dumps(closed.partials_file(1)).encode()),
            },
        )
        assert response.status_code == 403
    assert not PartialDecryption.objects.exists()


# Bad files, after voting ------------------------------------------------------------------


def nothing_written(consultation):
    assert not PartialDecryption.objects.filter(consultation=consultation).exists()
    assert not AuditEntry.objects.filter(action__startswith="urn.partials").exists()


def test_a_malformed_partials_file_is_refused(closed):
    consultation = closed.consultation
    page = upload(closed.clients[1], consultation, "partials", None, raw=b"\xff\xfe")
    assert "no es JSON" in page
    page = upload(closed.clients[1], consultation, "partials", {"partials": "todas"})
    assert "no tiene el formato esperado" in page
    good = closed.partials_file(1)
    good["partials"][0]["d"] = "no es una lista"
    page = upload(closed.clients[1], consultation, "partials", good)
    assert "no tiene el formato esperado" in page
    nothing_written(consultation)


def test_a_partials_file_of_another_round_is_refused(closed):
    consultation = closed.consultation
    replayed = closed.partials_file(1)
    replayed["round"] = consultation.pk + 1
    page = upload(closed.clients[1], consultation, "partials", replayed)
    assert "pertenece a otra consulta" in page
    # The same file whose partial decryptions name another round, under this round's header.
    replayed = closed.partials_file(1)
    for partial in replayed["partials"]:
        partial["round"] = consultation.pk + 1
    page = upload(closed.clients[1], consultation, "partials", replayed)
    assert "pertenece a otra consulta" in page
    nothing_written(consultation)


def test_a_partial_decryption_with_a_wrong_proof_is_refused(closed):
    consultation = closed.consultation
    tampered = closed.partials_file(1)
    proof = group.unb64(tampered["partials"][-1]["proofs"][0][1], 32)
    flipped = bytes([proof[0] ^ 1]) + proof[1:]
    tampered["partials"][-1]["proofs"][0][1] = group.b64(flipped)
    page = upload(closed.clients[1], consultation, "partials", tampered)
    assert "Una prueba del archivo no se cumple: no se guardó nada." in page
    nothing_written(consultation)


def test_another_commissioners_partials_or_share_are_refused(closed):
    consultation = closed.consultation
    page = upload(closed.clients[2], consultation, "partials", closed.partials_file(1))
    assert "pertenece a otra consulta, comuna, boleta o comisionado" in page
    page = upload(closed.clients[2], consultation, "share", closed.share_file(1))
    assert "pertenece a otra consulta, comuna, boleta o comisionado" in page
    page = upload(closed.clients[2], consultation, "share", {"kind": "urn-key-share"})
    assert "no tiene el formato esperado" in page
    nothing_written(consultation)


def test_nothing_is_decrypted_before_voting_closes(keyed, adam):
    consultation = open_voting(keyed.consultation, adam)
    page = upload(keyed.clients[1], consultation, "share", keyed.share_file(1))
    assert "no están listas para descifrar" in page
    nothing_written(consultation)


@pytest.mark.django_db(transaction=True)
def test_two_commissioners_uploading_at_once_are_both_kept_and_the_count_queued_once(
    monkeypatch, adam, council_a, council_b, commune_a, commune_b
):
    from ..concurrency import attempt, run_at_once

    consultation = make_round(key_shares_needed=2, key_shares_total=3, max_options=3)
    ballot_of(consultation, commune_a)
    ballot_of(consultation, commune_b, titles=("Escuela", "Mercado", "Vialidad"))
    team = Commissioners(consultation)
    team.appoint(adam)
    team.keygen()
    team.contribute()
    team.combine()
    vote_and_close(team, adam, council_a, council_b, commune_a, commune_b)
    files = {i: team.partials_file(i) for i in (1, 2)}
    queued = []
    monkeypatch.setattr(cycle.outbox, "send", lambda task, *args: queued.append(args))
    people = team.people
    results = run_at_once(
        [
            attempt(
                lambda i=i: cycle.round_partials_add(
                    consultation=team.consultation, by=people[i], data=files[i]
                )
            )
            for i in (1, 2)
        ]
    )
    assert results == ["ok", "ok"]
    assert PartialDecryption.objects.filter(consultation=consultation).count() == 4
    assert queued == [(consultation.pk,)]


# The rules: k of n, and production's refusal of the server's own key ---------------------


@pytest.mark.parametrize(
    ("needed", "total", "ok"),
    [(0, 0, True), (2, 3, True), (3, 3, True), (1, 3, False), (4, 3, False), (2, 11, False)],
)
def test_k_of_n_rule(db, needed, total, ok):
    draft = Consultation(
        name="x",
        year=2027,
        quarter=2,
        funder_by_rank=["national"],
        key_shares_needed=needed,
        key_shares_total=total,
    )
    found = any("comisionados" in problem for problem in rules_problems(draft))
    assert found is not ok


def test_production_refuses_to_open_voting_on_the_servers_key_without_a_reason(
    settings, adam, commune_a
):
    settings.URN_SINGLE_KEY_ALLOWED = False
    consultation = make_round()
    ballot_of(consultation, commune_a)
    cycle.round_schedule(consultation=consultation, by=adam, now=NOW)
    cycle.rounds_advance_due(now=hours(48))
    consultation.refresh_from_db()
    assert consultation.phase == Consultation.Phase.VALIDATION
    assert not Urn.objects.filter(consultation=consultation).exists()
    with pytest.raises(ValidationError) as refused:
        cycle.round_advance(consultation=consultation, by=adam, reason="Abrir", now=hours(48))
    assert "el servidor tendría su clave" in refused.value.messages[0]
    consultation.refresh_from_db()
    assert consultation.phase == Consultation.Phase.VALIDATION


def test_a_recorded_reason_opens_voting_on_the_servers_key(settings, adam, commune_a):
    settings.URN_SINGLE_KEY_ALLOWED = False
    consultation = make_round()
    ballot_of(consultation, commune_a)
    admin = client_of(adam)
    edit = reverse("cycle:round-edit", args=[consultation.pk])
    assert 'name="single_key_reason"' in admin.get(edit).content.decode()
    data = form_data(
        key_shares_needed=0,
        key_shares_total=0,
        single_key_reason="Ensayo de una parroquia piloto",
        funder_rank_1="national",
    )
    for name in ("assemblies_open_at", "validation_opens_at", "voting_opens_at"):
        data[name] = getattr(consultation, name).strftime("%Y-%m-%dT%H:%M")
    for name in ("voting_closes_at", "tally_deadline_at"):
        data[name] = getattr(consultation, name).strftime("%Y-%m-%dT%H:%M")
    response = admin.post(edit, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    consultation.refresh_from_db()
    assert consultation.single_key_reason == "Ensayo de una parroquia piloto"
    # The form's times are read in Caracas time: open voting at the round's own opening.
    cycle.round_schedule(consultation=consultation, by=adam, now=NOW)
    cycle.rounds_advance_due(now=consultation.voting_opens_at)
    consultation.refresh_from_db()
    assert consultation.phase == Consultation.Phase.VOTING
    opened = AuditEntry.objects.get(action="urn.open")
    assert opened.after["single_key_reason"] == "Ensayo de una parroquia piloto"
    # Frozen with the other rules once voting opened.
    form = admin.get(edit).content.decode()
    field = form.split('name="single_key_reason"')[0].rsplit("<textarea", 1)[1]
    field += form.split('name="single_key_reason"')[1].split(">", 1)[0]
    assert "disabled" in field
    data["single_key_reason"] = "Otra"
    admin.post(edit, data)
    consultation.refresh_from_db()
    assert consultation.single_key_reason == "Ensayo de una parroquia piloto"


def test_the_reason_is_asked_only_of_a_round_without_commissioners(two_of_three, adam):
    edit = reverse("cycle:round-edit", args=[two_of_three.pk])
    assert 'name="single_key_reason"' not in client_of(adam).get(edit).content.decode()


def test_odd_files_after_voting_get_a_message_never_an_error(closed):
    consultation, client = closed.consultation, closed.clients[1]
    good = closed.partials_file(1)
    first = good["partials"][0]
    odd_partials = [
        [],
        [None],
        ["x"],
        [1, 2],
        [{**first, "round": "a"}],
        [{**first, "commune": []}],
        [{**first, "commune": 10**30}],
        [{**first, "index": True}],
        [{**first, "d": [], "proofs": []}],
        [{**first, "d": ["x"] * len(first["d"])}],
        [{**first, "proofs": [["", ""]] * len(first["proofs"])}],
        [first, first],
    ]
    for partials in odd_partials:
        page = upload(client, consultation, "partials", {**good, "partials": partials})
        assert 'class="message error"' in page, partials
    odd_shares = [
        [],
        {"kind": "urn-key-share", "index": 1, "threshold": 2, "secrets": "x", "key": {}},
        {**closed.share_file(1), "secrets": ["x"]},
        {**closed.share_file(1), "index": "1"},
        {**closed.share_file(1), "key": {"round": consultation.pk}},
    ]
    for share in odd_shares:
        page = upload(client, consultation, "share", share)
        assert 'class="message error"' in page, share
    nothing_written(consultation)


def test_the_round_page_says_how_many_commissioners_have_decrypted(closed, adam):
    """The cycle admin's round page, while the count waits: k of n needed, how many are done."""
    admin = client_of(adam)
    detail = reverse("cycle:round-detail", args=[closed.consultation.pk])
    page = admin.get(detail).content.decode()
    assert 'data-decrypted="0"' in page
    assert "de 2 de los 3 comisionados electorales" in page
