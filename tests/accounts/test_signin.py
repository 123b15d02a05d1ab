import re

from django.core import mail
from django.urls import reverse

from accounts.models import User

from ..builders import PASSWORD


def test_sign_up_confirms_the_email_in_spanish(client, db):
    response = client.post(
        reverse("account_signup"),
        {"email": "nueva@example.org", "password1": PASSWORD, "password2": PASSWORD},
    )
    assert response.status_code == 302
    user = User.objects.get(email="nueva@example.org")
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["nueva@example.org"]
    assert "Confirma" in message.subject or "confirm" in message.body.lower()
    link = re.search(r"https?://[^/\s]+(/cuentas/confirm-email/\S+)", message.body).group(1)
    confirm_page = client.get(link)
    assert confirm_page.status_code == 200
    client.post(link)
    assert user.emailaddress_set.get().verified


def test_sign_up_refuses_a_weak_password_in_spanish(client, db):
    response = client.post(
        reverse("account_signup"),
        {"email": "debil@example.org", "password1": "12345678", "password2": "12345678"},
    )
    assert response.status_code == 200
    assert "contraseña" in response.content.decode().lower()
    assert not User.objects.filter(email="debil@example.org").exists()


def test_login_with_email_and_password(client, alice):
    response = client.post(
        reverse("account_login"), {"login": "alice@example.org", "password": PASSWORD}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:home-for-user")


def test_login_with_a_wrong_password_says_so_in_spanish(client, alice):
    response = client.post(
        reverse("account_login"), {"login": "alice@example.org", "password": "wrong"}
    )
    assert response.status_code == 200
    assert "no son correctas" in response.content.decode()


def test_login_page_uses_the_site_layout(client, db):
    page = client.get(reverse("account_login")).content.decode()
    assert 'class="site-header"' in page
    assert '<html lang="es">' in page


def test_password_reset_sends_a_link_in_spanish(client, alice):
    response = client.post(reverse("account_reset_password"), {"email": "alice@example.org"})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    assert "contraseña" in mail.outbox[0].body.lower()
    link = re.search(r"https?://[^/\s]+(/cuentas/password/reset/key/\S+)", mail.outbox[0].body)
    assert client.get(link.group(1), follow=True).status_code == 200


def test_the_signed_in_person_is_loaded_whole_and_an_inactive_one_is_nobody(client, alice):
    """accounts.backends loads the user with one fixed statement; the same user as the ORM's,
    and the same rule: a deactivated account is signed out."""
    from django.contrib.auth import get_user

    from accounts.backends import ModelBackend

    loaded = ModelBackend().get_user(alice.pk)
    fields = [field.attname for field in User._meta.concrete_fields]
    assert [getattr(loaded, name) for name in fields] == [
        getattr(User.objects.get(pk=alice.pk), name) for name in fields
    ]
    assert loaded._state.adding is False and loaded._state.db == "default"
    assert ModelBackend().get_user(10**9) is None

    client.post(reverse("account_login"), {"login": "alice@example.org", "password": PASSWORD})
    assert get_user(client).pk == alice.pk
    User.objects.filter(pk=alice.pk).update(is_active=False)
    assert not get_user(client).is_authenticated
