"""Walk every URL the project registers, as every role, against the access table.

Fails when a URL has no row in accounts/access.py, when a row names a URL that no longer exists,
when a role gets more than its row allows (and, for our own pages, when an allowed role is kept
out), and when a refused request wrote anything.
"""

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from accounts import access
from audit.models import AuditEntry
from communes.models import ResidentClaim

from ..builders import close_response
from ..builders.access import probes


def url_names(patterns=None, namespace=None):
    """Every URL pattern's name, namespaced; unnamed ones as "<namespace>:*"."""
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            inner = pattern.namespace
            if inner:
                inner = f"{namespace}:{inner}" if namespace else inner
            yield from url_names(pattern.url_patterns, inner or namespace)
        elif isinstance(pattern, URLPattern):
            if pattern.name:
                yield f"{namespace}:{pattern.name}" if namespace else pattern.name
            else:
                yield f"{namespace}:*"


def test_every_url_has_a_row_and_every_row_a_url():
    names = set(url_names())
    missing = sorted(name for name in names if access.allowed_roles(name) is None)
    assert missing == [], "add these URLs to accounts/access.py"
    stale = sorted(name for name in access.ACCESS if not name.endswith(":*") and name not in names)
    assert stale == [], "these rows name URLs that no longer exist"


def refused(response) -> bool:
    if response.status_code in (403, 404):
        return True
    location = response.get("Location", "") if response.status_code == 302 else ""
    return location.startswith((reverse("account_login"), reverse("admin:login")))


OURS = (
    "home",
    "voting:where-to-vote",  # issue 16
    "healthz",  # the health probe (issue 9)
    "favicon",
    "communes:",
    "accounts:",
    "consultations:",
    "cycle:commissioner",  # issue 14: the appointed commissioner's page (resident B in the walk)
    # The voting tables' pages (the results are 404 in the walk: its rounds are not published).
    "voting:officer",
    "voting:table",
    "voting:sheet",
    "voting:round-tables",
    "voting:tables-import",
    # The public money trail's list and a funded project's page (its rounds are not published).
    "funding:money-list",
    "funding:money-project",
    # The money pages where people work (issue 8).
    "funding:commune-money",
    "funding:project-workspace",
    "funding:disbursement",
    "funding:receipt-add",
    "funding:progress-add",
    "funding:closing-report-",
    "funding:flag-",
    "funding:payments",
    "funding:pledge",
    "funding:oversight",
    "funding:project-ledger",
    "funding:ledger-reverse",
)


@pytest.mark.parametrize("role", access.ROLES)
def test_no_role_gets_more_than_the_table_allows(role, world):
    people, claim = world["people"], world["claim"]
    walked = probes(world)
    assert set(walked) >= {name for name in set(url_names()) if not name.startswith("admin:")}
    over, under = [], []
    client = Client()
    if people[role] is not None:
        client.force_login(people[role])
    for name, (method, url, data) in walked.items():
        ResidentClaim.objects.filter(pk=claim.pk).update(
            status=ResidentClaim.Status.PENDING, decided_by=None, decided_at=None
        )
        audit_before = AuditEntry.objects.count()
        response = getattr(client, method)(url, data or {})
        close_response(response)
        assert response.status_code != 405, f"{name}: the probe uses the wrong method"
        allowed = role in access.allowed_roles(name)
        if refused(response):
            if allowed and name.startswith(OURS):
                under.append(f"{name} ({response.status_code})")
            assert AuditEntry.objects.count() == audit_before, f"{name}: a refused request wrote"
            assert ResidentClaim.objects.get(pk=claim.pk).status == ResidentClaim.Status.PENDING
        elif not allowed:
            over.append(f"{name} ({response.status_code})")
    assert over == [], f"{role} gets more than the table allows"
    assert under == [], f"{role} is kept out of pages the table allows"
