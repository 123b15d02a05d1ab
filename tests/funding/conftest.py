import pytest

from accounts.models import StaffRole
from cycle import services as cycle

from ..conftest import _spokesperson, make_staff
from ..voting.conftest import voting_round  # noqa: F401 (fixtures)
from ..voting.test_results import published  # noqa: F401


@pytest.fixture
def funded(published):  # noqa: F811
    """The published round with its winners' allocations (commune A: "Agua potable")."""
    cycle.round_allocate(consultation_id=published.pk)
    return published


@pytest.fixture
def agua(funded, commune_a):
    return funded.projects.get(commune=commune_a, title="Agua potable")


@pytest.fixture
def fina(council_a):
    """Fina, finance spokesperson of commune A."""
    return _spokesperson(council_a, "V-33333333", "Fina Contreras", "fina@example.org", "finance")


@pytest.fixture
def olga(council_a):
    """Olga, social-oversight spokesperson of commune A."""
    return _spokesperson(
        council_a, "V-44444444", "Olga Rivas", "olga@example.org", "social_oversight"
    )


@pytest.fixture
def mateo(db):
    """Mateo, a second national ministry staff member (the second approver)."""
    return make_staff("mateo@example.org", StaffRole.Kind.MINISTRY_STAFF)
