"""One module answers "may this user do this to this object"; the rule holds across communes."""

import datetime

import pytest

from accounts import permissions
from accounts.models import StaffRole
from communes.models import ResidentClaim, Spokesperson

from ..builders import make_resident, make_user


@pytest.fixture
def claim_in_a(council_a, carla):
    record = make_resident(council_a, "V-12345678", "Carla Medina")
    return ResidentClaim.objects.create(resident=record, user=carla)


def test_spokesperson_decides_claims_of_their_own_commune_only(alice, bob, claim_in_a):
    assert permissions.can(alice, "communes.decide_claim", claim_in_a)
    assert not permissions.can(bob, "communes.decide_claim", claim_in_a)


def test_ministry_staff_of_a_state_decide_only_there(claim_in_a, commune_b):
    capital = make_user("capital@example.org")
    StaffRole.objects.create(
        user=capital,
        kind=StaffRole.Kind.MINISTRY_STAFF,
        state=claim_in_a.resident.council.commune.parish.municipality.state,
    )
    lara = make_user("lara@example.org")
    StaffRole.objects.create(
        user=lara, kind=StaffRole.Kind.MINISTRY_STAFF, state=commune_b.parish.municipality.state
    )
    assert permissions.can(capital, "communes.decide_claim", claim_in_a)
    assert not permissions.can(lara, "communes.decide_claim", claim_in_a)


def test_other_staff_roles_do_not_verify_residents(claim_in_a):
    for kind in [
        StaffRole.Kind.COFUNDER_STAFF,
        StaffRole.Kind.POLLING_OFFICER,
        StaffRole.Kind.CYCLE_ADMIN,
    ]:
        user = make_user(f"{kind}@example.org")
        state = claim_in_a.resident.council.commune.parish.municipality.state
        StaffRole.objects.create(user=user, kind=kind, state=state)
        assert not permissions.can(user, "communes.decide_claim", claim_in_a)


def test_a_term_that_ended_grants_nothing(alice, claim_in_a):
    Spokesperson.objects.filter(resident__user=alice).update(ended_on=datetime.date(2025, 6, 1))
    permissions.forget_roles(alice)
    assert not permissions.can(alice, "communes.decide_claim", claim_in_a)


def test_an_inactive_account_may_do_nothing(alice, claim_in_a):
    alice.is_active = False
    assert not permissions.can(alice, "communes.decide_claim", claim_in_a)


def test_anonymous_visitors_may_do_nothing(claim_in_a):
    from django.contrib.auth.models import AnonymousUser

    for action in set(permissions.RULES) - permissions.PUBLIC_RULES:
        assert not permissions.can(AnonymousUser(), action, claim_in_a)


def test_unknown_actions_are_an_error_not_a_permission(alice):
    with pytest.raises(KeyError):
        permissions.can(alice, "communes.rule_nobody_wrote")


def test_roles_are_read_in_a_fixed_number_of_queries(alice, django_assert_num_queries):
    """One round trip for the resident record, the spokesperson terms and the staff roles."""
    permissions.forget_roles(alice)
    with django_assert_num_queries(1):
        permissions.roles_of(alice)
        permissions.roles_of(alice)


def test_roles_are_kept_in_the_session_for_the_day_and_a_role_change_ends_it(client, alice):
    import time_machine
    from django.urls import reverse

    my_communes = reverse("communes:my-communes")
    client.force_login(alice)
    with time_machine.travel(datetime.datetime(2027, 3, 1, 15, tzinfo=datetime.UTC), tick=False):
        assert client.get(my_communes).status_code == 200
        kept = client.session[permissions.SESSION_ROLES]
        assert kept["day"] == "2027-03-01"
        # The term ends in the database without going through a service (it never should):
        # the kept roles last until the day changes.
        Spokesperson.objects.filter(resident__user=alice).update(term_end=datetime.date(2027, 3, 1))
        assert client.get(my_communes).status_code == 200
    with time_machine.travel(datetime.datetime(2027, 3, 2, 15, tzinfo=datetime.UTC), tick=False):
        assert client.get(my_communes).status_code == 403
        assert client.session[permissions.SESSION_ROLES]["roles"]["units"] == []

    # A role change through the services ends every session of the person at once.
    Spokesperson.objects.filter(resident__user=alice).update(term_end=datetime.date(2028, 1, 1))
    permissions.roles_changed(alice)
    response = client.get(my_communes)
    assert response.status_code == 302
    assert reverse("account_login") in response["Location"]
