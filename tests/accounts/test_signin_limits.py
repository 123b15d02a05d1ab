"""Sign-in limits that stop guessing, not crowds (issue 18; accounts/signin_limits.py).

A whole infocentro signs in from one address; failures lock the account that was guessed at,
not the address; an address trying passwords across many accounts raises an alarm that is
audited and shown to staff; a client's own X-Forwarded-For moves none of it."""

import datetime

import pytest
import time_machine
from django.contrib.auth.hashers import make_password
from django.test import Client
from django.urls import reverse

from accounts import signin_limits
from accounts.models import User
from audit.models import AuditEntry

from ..builders import PASSWORD

INFOCENTRO = "190.202.81.10"
ELSEWHERE = "186.24.9.77"
# The middle of a minute: every test's counting windows stay the same while it runs.
FROZEN = datetime.datetime(2027, 3, 1, 9, 30, 20, tzinfo=datetime.UTC)


@pytest.fixture(autouse=True)
def _frozen_clock():
    with time_machine.travel(FROZEN, tick=False):
        yield


@pytest.fixture
def pauses(monkeypatch):
    """The delays sign-ins waited, recorded instead of waited."""
    waited = []
    monkeypatch.setattr(signin_limits, "pause", waited.append)
    return waited


def residents(count: int, prefix: str = "vecina") -> list[User]:
    """People with a confirmed email address and the tests' password (hashed once)."""
    from allauth.account.models import EmailAddress

    password = make_password(PASSWORD)
    users = User.objects.bulk_create(
        User(email=f"{prefix}{n}@example.org", password=password) for n in range(count)
    )
    EmailAddress.objects.bulk_create(
        EmailAddress(user=user, email=user.email, verified=True, primary=True) for user in users
    )
    return users


def sign_in(email: str, password: str = PASSWORD, *, address: str = INFOCENTRO, **extra):
    """One sign-in from ``address``, on a browser of its own; (response, the client)."""
    client = Client(REMOTE_ADDR=address, **extra)
    response = client.post(reverse("account_login"), {"login": email, "password": password})
    return response, client


def signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def alarms():
    return list(AuditEntry.objects.filter(action="signin.alarm").order_by("seq"))


def test_two_hundred_residents_sign_in_from_one_address_within_a_minute(db, pauses):
    people = residents(200)
    outcomes = [sign_in(person.email) for person in people]
    assert [response.status_code for response, _client in outcomes] == [302] * 200
    assert all(signed_in(client) for _response, client in outcomes)
    assert pauses == []  # within the address's allowance: nobody even waited


def test_eleven_wrong_passwords_lock_that_account_and_not_the_address(db, pauses):
    alicia, roberto = residents(2)
    for _attempt in range(10):
        response, _client = sign_in(alicia.email, "no-es-la-clave")
        assert response.status_code == 200
        assert "no son correctas" in response.content.decode()
    response, client = sign_in(alicia.email, "no-es-la-clave")
    assert "Demasiados intentos fallidos" in response.content.decode()
    # Locked: even the right password, from another address and another host name.
    response, client = sign_in(alicia.email, address=ELSEWHERE, HTTP_HOST="localhost")
    assert "Demasiados intentos fallidos" in response.content.decode()
    assert not signed_in(client)
    # The address is not locked: a neighbour at the same infocentro signs in.
    response, client = sign_in(roberto.email)
    assert response.status_code == 302 and signed_in(client)
    assert pauses == []


def test_an_account_is_locked_whatever_addresses_the_guesses_come_from(db):
    (alicia,) = residents(1)
    for number in range(11):
        sign_in(alicia.email, f"clave-{number}", address=f"203.0.113.{number + 1}")
    response, client = sign_in(alicia.email, address="198.51.100.1")
    assert "Demasiados intentos fallidos" in response.content.decode()
    assert not signed_in(client)


def test_a_right_password_does_not_count_against_the_account(db):
    (alicia,) = residents(1)
    for _round in range(3):
        for _attempt in range(4):
            sign_in(alicia.email, "olvidada")
        _response, client = sign_in(alicia.email)
        assert signed_in(client)


def test_fifty_accounts_failing_from_one_address_raise_the_alarm_once(db, pauses, mina):
    people = residents(50)
    for person in people:
        response, _client = sign_in(person.email, "123456")
        assert response.status_code == 200
    (alarm,) = alarms()
    assert alarm.ip == INFOCENTRO and alarm.object_id == INFOCENTRO
    assert alarm.actor == "system"
    assert alarm.after == {
        "address": INFOCENTRO,
        "accounts": 30,
        "failures": 30,
        "trusted_network": False,
        "window_minutes": 10,
    }
    # Nobody is kept out by the alarm: the next resident signs in from the same address.
    (late,) = residents(1, prefix="tarde")
    response, client = sign_in(late.email)
    assert signed_in(client)
    # Staff see it.
    staff = Client()
    staff.force_login(mina)
    page = staff.get(reverse("accounts:signin-alarms")).content.decode()
    assert INFOCENTRO in page and f'data-alarm="{alarm.seq}"' in page


def test_one_account_failing_many_times_is_not_an_alarm(db):
    (alicia,) = residents(1)
    for _attempt in range(40):
        sign_in(alicia.email, "no")
    assert alarms() == []


def test_a_trusted_network_has_allowances_of_its_own(db, settings, pauses):
    settings.TRUSTED_NETWORKS = ["190.202.81.0/24", "2800:40::/32"]
    for person in residents(50):
        sign_in(person.email, "123456")
    assert alarms() == []  # 50 accounts: under the trusted networks' 150
    for person in residents(30, prefix="otra"):
        sign_in(person.email, "123456", address=ELSEWHERE)
    (alarm,) = alarms()
    assert alarm.after["address"] == ELSEWHERE and alarm.after["trusted_network"] is False
    assert signin_limits.is_trusted("2800:40:1::9")
    assert not signin_limits.is_trusted("no-es-una-direccion")


def test_past_its_allowance_an_address_is_slowed_not_refused(db, settings, pauses):
    settings.SIGNIN_LIMITS = {
        **settings.SIGNIN_LIMITS,
        "address": {"signins_per_minute": 5, "failures_per_window": 100, "alarm_accounts": 30},
    }
    people = residents(12)
    outcomes = [sign_in(person.email) for person in people]
    assert all(signed_in(client) for _response, client in outcomes)
    # The sixth waits a second, then a fifth of a second more for each sign-in past the five.
    assert pauses == pytest.approx([1.2, 1.4, 1.6, 1.8, 2.0, 2.2, 2.4])
    # ... up to the maximum.
    for person in residents(40, prefix="mas"):
        sign_in(person.email)
    assert max(pauses) == settings.SIGNIN_SLOWDOWN_MAX_SECONDS
    # Another address is not slowed by this one's crowd.
    pauses.clear()
    (other,) = residents(1, prefix="lejos")
    sign_in(other.email, address=ELSEWHERE)
    assert pauses == []


def test_many_failures_from_an_address_slow_its_sign_ins(db, settings, pauses):
    settings.SIGNIN_LIMITS = {
        **settings.SIGNIN_LIMITS,
        "address": {"signins_per_minute": 300, "failures_per_window": 4, "alarm_accounts": 30},
    }
    for person in residents(5):
        sign_in(person.email, "mal")
    assert pauses == []  # each was checked before its own failure counted
    (next_one,) = residents(1, prefix="siguiente")
    _response, client = sign_in(next_one.email)
    assert signed_in(client)
    assert pauses == [1.25]  # five failures: a quarter past the allowance of four


def test_a_spoofed_forwarded_for_moves_nothing_without_a_trusted_proxy(db, settings, pauses):
    settings.TRUSTED_PROXY_HOPS = 0
    settings.TRUSTED_NETWORKS = ["10.8.0.0/16"]
    (alicia,) = residents(1, prefix="alicia")
    # The account's lock ignores the header.
    for number in range(11):
        sign_in(alicia.email, "no", HTTP_X_FORWARDED_FOR=f"10.8.0.{number}")
    response, _client = sign_in(alicia.email, HTTP_X_FORWARDED_FOR="10.8.9.9")
    assert "Demasiados intentos fallidos" in response.content.decode()
    # The alarm counts the connection's address, and claiming a trusted network's address in
    # the header gives no trusted allowance.
    for number, person in enumerate(residents(29)):
        sign_in(person.email, "no", HTTP_X_FORWARDED_FOR=f"10.8.1.{number}")
    (alarm,) = alarms()
    assert alarm.after["address"] == INFOCENTRO and alarm.after["trusted_network"] is False


def test_behind_one_proxy_only_the_address_it_saw_counts(db, settings, pauses):
    settings.TRUSTED_PROXY_HOPS = 1
    proxy = "10.0.0.2"
    for number, person in enumerate(residents(30)):
        # The client wrote the first part; the load balancer appended the address it saw.
        sign_in(
            person.email,
            "no",
            address=proxy,
            HTTP_X_FORWARDED_FOR=f"198.51.100.{number}, {INFOCENTRO}",
        )
    (alarm,) = alarms()
    assert alarm.after["address"] == INFOCENTRO
