"""Staff need TOTP before any staff page; sessions end on inactivity and on a change of role."""

from allauth.mfa.models import Authenticator
from django.test import Client
from django.urls import reverse

from accounts.models import StaffRole
from audit.models import AuditEntry

from ..builders import PASSWORD, give_totp, make_staff


def test_staff_without_totp_are_sent_to_set_it_up(client, db):
    nadia = make_staff("nadia@example.org", StaffRole.Kind.MINISTRY_STAFF, totp=False)
    client.force_login(nadia)
    response = client.get(reverse("communes:claims-queue"))
    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_activate_totp")
    setup = client.get(response["Location"], follow=True)
    assert "verificación en dos pasos" in setup.content.decode()
    # Public pages stay open.
    assert client.get(reverse("communes:directory")).status_code == 200


def test_admin_users_without_totp_cannot_open_the_admin(client, db):
    from accounts.models import User

    root = User.objects.create_superuser(email="root@example.org", password=PASSWORD)
    client.force_login(root)
    assert client.get(reverse("admin:index"))["Location"] == reverse("mfa_activate_totp")
    give_totp(root)
    assert client.get(reverse("admin:index")).status_code == 200


def test_staff_with_totp_get_in(client, mina):
    client.force_login(mina)
    assert client.get(reverse("communes:claims-queue")).status_code == 200


def test_every_kind_of_staff_is_gated(client, commune_a):
    state = commune_a.parish.municipality.state
    for kind in StaffRole.Kind.values:
        user = make_staff(f"{kind}@example.org", kind, totp=False, state=state)
        client.force_login(user)
        response = client.get(reverse("communes:my-participation"))
        assert response["Location"] == reverse("mfa_activate_totp"), kind


def test_residents_do_not_need_totp(client, carla):
    client.force_login(carla)
    assert client.get(reverse("communes:my-participation")).status_code == 200


def test_staff_cannot_remove_their_own_second_factor(client, mina):
    from allauth.mfa.adapter import get_adapter

    totp = Authenticator.objects.get(user=mina, type=Authenticator.Type.TOTP)
    assert not get_adapter().can_delete_authenticator(totp)


def test_an_admin_resets_a_lost_device_and_it_is_audited(client, mina, adam):
    other_session = Client()
    other_session.force_login(mina)
    client.force_login(adam)
    client.post(
        reverse("admin:accounts_user_changelist"),
        {"action": "reset_two_factor", "_selected_action": [mina.pk]},
    )
    assert not Authenticator.objects.filter(user=mina).exists()
    entry = AuditEntry.objects.get(action="user.mfa_reset")
    assert entry.actor == "adam@example.org" and entry.object_id == str(mina.pk)
    assert "totp" in entry.before["authenticators"]
    # Mina's sessions ended; at her next sign-in she sets up a new device.
    assert other_session.get(reverse("communes:claims-queue"))["Location"].startswith(
        reverse("account_login")
    )


def test_staff_sessions_end_after_thirty_minutes_idle(client, mina, settings):
    client.force_login(mina)
    client.get(reverse("communes:claims-queue"))
    assert client.session.get_expiry_age() == settings.STAFF_SESSION_IDLE_SECONDS == 1800


def test_resident_sessions_keep_the_default_length(client, carla, settings):
    client.force_login(carla)
    client.get(reverse("communes:my-participation"))
    assert client.session.get_expiry_age() == settings.SESSION_COOKIE_AGE


def test_a_change_of_role_ends_every_session(client, carla, adam):
    carla_phone = Client()
    carla_phone.force_login(carla)
    assert carla_phone.get(reverse("communes:my-participation")).status_code == 200
    client.force_login(adam)
    client.post(
        reverse("admin:accounts_staffrole_add"),
        {"user": carla.pk, "kind": StaffRole.Kind.POLLING_OFFICER, "state": ""},
    )
    assert StaffRole.objects.filter(user=carla).exists()
    response = carla_phone.get(reverse("communes:my-participation"))
    assert response["Location"].startswith(reverse("account_login"))


def test_a_password_change_ends_other_sessions_but_not_this_one(carla):
    laptop, phone = Client(), Client()
    laptop.login(email="carla@example.org", password=PASSWORD)
    phone.login(email="carla@example.org", password=PASSWORD)
    response = laptop.post(
        reverse("account_change_password"),
        {
            "oldpassword": PASSWORD,
            "password1": "another-long-pass-2",
            "password2": "another-long-pass-2",
        },
    )
    assert response.status_code == 302
    assert laptop.get(reverse("communes:my-participation")).status_code == 200
    assert phone.get(reverse("communes:my-participation")).status_code == 302


def test_setting_up_a_second_factor_and_changing_the_password_are_audited(client, carla):
    from allauth.mfa import signals

    totp = Authenticator.objects.create(user=carla, type=Authenticator.Type.TOTP, data={})
    signals.authenticator_added.send(
        sender=Authenticator, request=None, user=carla, authenticator=totp
    )
    client.force_login(carla)
    client.post(
        reverse("account_change_password"),
        {
            "oldpassword": PASSWORD,
            "password1": "another-long-pass-2",
            "password2": "another-long-pass-2",
        },
    )
    entries = AuditEntry.objects.filter(actor_id=carla.pk).order_by("seq")
    actions = list(entries.values_list("action", flat=True))
    assert actions == ["account.authenticator_added", "account.password_changed"]
