"""Rate limits, with clear Spanish messages; the census claim cannot be used to enumerate.
(Signing in has limits of its own, per account and never per address: test_signin_limits.py.)"""

from django.urls import reverse

from communes.models import ResidentClaim

from ..builders import PASSWORD


def test_signup_is_limited_per_address(client, db):
    statuses = [
        client.post(
            reverse("account_signup"),
            {"email": f"n{n}@example.org", "password1": PASSWORD, "password2": PASSWORD},
        ).status_code
        for n in range(12)
    ]
    assert statuses[:10] == [302] * 10
    assert statuses[10] == 429
    page = client.post(reverse("account_signup"), {"email": "x@example.org"})
    assert "Demasiados intentos" in page.content.decode()


def test_password_reset_is_limited_per_email(client, alice):
    statuses = [
        client.post(reverse("account_reset_password"), {"email": "alice@example.org"}).status_code
        for _attempt in range(4)
    ]
    assert statuses[:3] == [302, 302, 302]
    assert statuses[3] == 429


def test_census_claim_allows_five_tries_an_hour(client, carla, carla_record):
    client.force_login(carla)
    url = reverse("communes:my-participation")
    for day in range(1, 6):
        client.post(url, {"cedula": carla_record.cedula, "birth_date": f"1995-07-{day:02d}"})
    # The sixth try, even with the right birth date, is refused before looking anything up.
    page = client.post(url, {"cedula": carla_record.cedula, "birth_date": "1995-07-14"})
    assert "Demasiados intentos de reclamar un registro" in page.content.decode()
    assert not ResidentClaim.objects.exists()
