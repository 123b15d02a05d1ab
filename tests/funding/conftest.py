import pytest

from accounts.models import StaffRole

from ..builders import make_spokesperson, make_staff


@pytest.fixture
def fina(council_a):
    """Fina, finance spokesperson of commune A."""
    return make_spokesperson(
        council_a, "V-33333333", "Fina Contreras", "fina@example.org", "finance"
    )


@pytest.fixture
def olga(council_a):
    """Olga, social-oversight spokesperson of commune A."""
    return make_spokesperson(
        council_a, "V-44444444", "Olga Rivas", "olga@example.org", "social_oversight"
    )


@pytest.fixture
def mateo(db):
    """Mateo, a second national ministry staff member (the second approver)."""
    return make_staff("mateo@example.org", StaffRole.Kind.MINISTRY_STAFF)
