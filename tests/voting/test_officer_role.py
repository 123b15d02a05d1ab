"""Assigning a polling officer grants the role through the audited service that grants roles."""

from accounts.models import StaffRole
from audit.models import AuditEntry
from voting import tables
from voting.models import VotingCentre, VotingTable

from ..builders import hours, make_round, make_user


def a_table(commune, number):
    centre, _new = VotingCentre.objects.get_or_create(
        code="E-0009", defaults={"name": "Liceo Andrés Bello", "parish": commune.parish}
    )
    return VotingTable.objects.create(
        code=f"E-0009-{number}", centre=centre, number=number, commune=commune
    )


def test_the_officer_role_is_granted_once_audited_and_ends_old_sessions(
    voting_round, commune_a, adam
):
    pedro = make_user("pedro.oficial@example.org")
    epoch = pedro.session_epoch
    tables.officer_assign(
        consultation=voting_round,
        table=a_table(commune_a, 1),
        officer=pedro,
        by=adam,
        now=hours(47),
    )
    role = StaffRole.objects.get(user=pedro)
    assert (role.kind, role.state) == (StaffRole.Kind.POLLING_OFFICER, None)
    grant = AuditEntry.objects.get(action="staff_role.grant", object_id=str(role.pk))
    assert grant.actor_id == adam.pk
    pedro.refresh_from_db()
    assert pedro.session_epoch == epoch + 1  # the roles kept in his sessions are stale
    # A second round's assignment finds the role granted already: no new grant.
    later = make_round(year=2027, quarter=2, name="Consulta Popular 2027-II")
    tables.officer_assign(
        consultation=later, table=a_table(commune_a, 2), officer=pedro, by=adam, now=hours(47)
    )
    assert StaffRole.objects.filter(user=pedro).count() == 1
    assert AuditEntry.objects.filter(action="staff_role.grant").count() == 1
