"""Passwords are kept with Argon2id at OWASP's settings; older hashes move over at sign-in."""

import pytest
from django.contrib.auth.hashers import (
    Argon2PasswordHasher,
    PBKDF2PasswordHasher,
    check_password,
    make_password,
)
from django.urls import reverse

from accounts.models import StaffRole, User

from ..builders import PASSWORD, make_staff, make_user

ARGON2ID_OWASP = "argon2$argon2id$v=19$m=19456,t=2,p=1$"


@pytest.fixture
def real_hashers(settings):
    """The project's own hashers (the suite otherwise hashes with MD5, for speed)."""
    from importlib import import_module

    settings.PASSWORD_HASHERS = import_module("config.settings").PASSWORD_HASHERS


def test_new_passwords_are_argon2id_at_owasp_settings(real_hashers):
    encoded = make_password(PASSWORD)
    assert encoded.startswith(ARGON2ID_OWASP)
    assert check_password(PASSWORD, encoded)
    assert not check_password("another-password", encoded)


@pytest.mark.parametrize(
    "old_hasher",
    [PBKDF2PasswordHasher(), Argon2PasswordHasher()],  # Django's Argon2: 100 MiB, 8 lanes
    ids=["pbkdf2", "argon2-django-costs"],
)
def test_an_older_hash_is_upgraded_at_the_next_sign_in(client, db, real_hashers, old_hasher):
    alice = make_user("alice@example.org")
    User.objects.filter(pk=alice.pk).update(password=make_password(PASSWORD, hasher=old_hasher))
    before = User.objects.get(pk=alice.pk).password
    assert not before.startswith(ARGON2ID_OWASP)

    response = client.post(
        reverse("account_login"), {"login": "alice@example.org", "password": PASSWORD}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:home-for-user")
    after = User.objects.get(pk=alice.pk).password
    assert after.startswith(ARGON2ID_OWASP)
    assert check_password(PASSWORD, after)


def test_a_wrong_password_upgrades_nothing(client, db, real_hashers):
    alice = make_user("alice@example.org")
    old = make_password(PASSWORD, hasher="pbkdf2_sha256")
    User.objects.filter(pk=alice.pk).update(password=old)
    client.post(reverse("account_login"), {"login": "alice@example.org", "password": "wrong-one"})
    assert User.objects.get(pk=alice.pk).password == old


def test_staff_still_need_their_totp_code_after_the_upgrade(client, db, real_hashers):
    mina = make_staff("mina@example.org", StaffRole.Kind.MINISTRY_STAFF)
    User.objects.filter(pk=mina.pk).update(password=make_password(PASSWORD, hasher="pbkdf2_sha256"))
    response = client.post(
        reverse("account_login"), {"login": "mina@example.org", "password": PASSWORD}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_authenticate")
    assert User.objects.get(pk=mina.pk).password.startswith(ARGON2ID_OWASP)
    # The password alone signs nobody in: the staff page still asks for the code.
    page = client.get(reverse("communes:claims-queue"))
    assert page.status_code == 302
    assert page["Location"].startswith(reverse("account_login"))
