import datetime

import pytest
from django.conf import settings
from django.core.cache import cache
from django.utils import translation

from accounts.models import StaffRole
from communes.models import CommunalCouncil, Parish
from cycle import services as cycle
from funding import services as funding
from funding.models import FundingSource
from voting.models import VotingCentre, VotingTable

from .builders import (
    ANA_BIRTH,
    ballot_of,
    by_title,
    cast,
    count_and_publish,
    give_totp,
    live_round_for,
    make_commune,
    make_resident,
    make_round,
    make_spokesperson,
    make_staff,
    make_user,
    non_voters,
    open_voting,
)
from .builders.access import access_world


def pytest_configure(config):
    engine = settings.DATABASES["default"]["ENGINE"]
    if "postgresql" not in engine:
        pytest.exit(
            "The tests run against PostgreSQL: use `make test` or set DATABASE_URL "
            f"(got {engine}).",
            returncode=2,
        )
    manifest = settings.STATIC_ROOT / "staticfiles.json"
    if not settings.DEBUG and not manifest.exists():
        pytest.exit(f"No {manifest}: run `make test`, which collects static files first.", 2)


def _load_territory():
    from communes.models import Municipality, State
    from communes.territory import territory_load

    if not Parish.objects.exists():
        territory_load(State, Municipality, Parish)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    # A reused test database may have been emptied by a transactional test of an earlier run.
    with django_db_blocker.unblock():
        _load_territory()


@pytest.fixture(autouse=True)
def _territory_after_flush(request):
    """Transactional tests empty every table when they end, the migration's territory included."""
    marker = request.node.get_closest_marker("django_db")
    transactional = (marker is not None and marker.kwargs.get("transaction")) or (
        "live_server" in request.fixturenames
    )
    if transactional:
        request.getfixturevalue("transactional_db")
        _load_territory()


@pytest.fixture(autouse=True)
def _primary_only(request, monkeypatch):
    """Public pages read the primary but in the replica's own tests (marked `replica`): a mirror
    alias is another connection, which would not see a test's uncommitted rows."""
    if request.node.get_closest_marker("replica") is None:
        import replica

        monkeypatch.setattr(replica, "enabled", lambda: False)


@pytest.fixture(autouse=True)
def _clean_slate(settings, tmp_path):
    # Hashing with PBKDF2's full cost would make every login in the suite slow.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # The cache is the test Redis database: rate-limit counters of one test must not leak into
    # the next (or into the next run).
    cache.clear()
    # WhiteNoise would index every collected static file for each test client it starts (0.2 s
    # each); looking files up on demand serves the same files.
    settings.WHITENOISE_AUTOREFRESH = True
    # Uploaded files of a test go to its own folder.
    settings.MEDIA_ROOT = tmp_path / "media"
    # So are the server's key shares of 1-of-1 rounds.
    settings.URN_KEY_DIR = tmp_path / "urn-keys"
    # A round kept in memory by an earlier test's vote may share this test's primary key.
    from voting.selectors import forget_rounds_in_voting

    forget_rounds_in_voting()
    # A request in an earlier test may have left another language active in this thread.
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture
def commune_a(db):
    # Parish Altagracia, Libertador, Distrito Capital.
    return make_commune("COM-0101-901", "010101", "Comuna Altos de Lídice")


@pytest.fixture
def commune_b(db):
    # Parish Catedral, Iribarren, Lara (another state).
    return make_commune("COM-1303-902", "130301", "Comuna Negra Hipólita")


@pytest.fixture
def council_a(commune_a):
    return CommunalCouncil.objects.create(
        commune=commune_a, code="CC-A-1", name="Consejo Comunal La Ceiba", families=220
    )


@pytest.fixture
def council_b(commune_b):
    return CommunalCouncil.objects.create(
        commune=commune_b, code="CC-B-1", name="Consejo Comunal El Cují", families=180
    )


@pytest.fixture
def alice(council_a):
    """Alice, executive spokesperson of commune A."""
    return make_spokesperson(council_a, "V-11111111", "Alicia Pérez", "alice@example.org")


@pytest.fixture
def bob(council_b):
    """Bob, executive spokesperson of commune B."""
    return make_spokesperson(council_b, "V-22222222", "Roberto Díaz", "bob@example.org")


@pytest.fixture
def carla(db):
    """Carla, a signed-up person who has not claimed a census record yet."""
    return make_user("carla@example.org")


@pytest.fixture
def carla_record(council_a):
    return make_resident(council_a, "V-12345678", "Carla Medina", birth=datetime.date(1995, 7, 14))


@pytest.fixture
def mina(db):
    """Mina, national ministry staff, with two-step verification set up."""
    return make_staff("mina@example.org", StaffRole.Kind.MINISTRY_STAFF)


@pytest.fixture
def adam(db):
    """Adam, cycle admin (a superuser of the Django admin), with two-step verification set up."""
    user = make_user("adam@example.org", is_staff=True, is_superuser=True)
    StaffRole.objects.create(user=user, kind=StaffRole.Kind.CYCLE_ADMIN)
    give_totp(user)
    return user


@pytest.fixture
def eager_tasks():
    """Run Celery tasks in the caller, as soon as they are sent (on commit, for queued ones)."""
    from config.celery import app

    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


# The people and objects the apps' tests share ---------------------------------------------------


@pytest.fixture
def voting_round(adam, commune_a, commune_b, council_a, council_b):
    """A round in voting: communes A and B each have three approved projects."""
    consultation = make_round()
    ballot_of(consultation, commune_a)
    ballot_of(consultation, commune_b, titles=("Escuela", "Mercado", "Vialidad"))
    return open_voting(consultation, adam)


@pytest.fixture
def live_round(commune_a, commune_b):
    return live_round_for(commune_a, commune_b)


@pytest.fixture
def published(voting_round, adam, council_a, council_b, commune_a, commune_b):
    """Commune A: Agua potable 3, Cancha 2, Alumbrado 0, three who did not vote (eligible 8).
    Commune B: Escuela 1, Mercado 1 (a tie the lot breaks), Vialidad 0, two non-voters (4)."""
    a, b = by_title(voting_round, commune_a), by_title(voting_round, commune_b)
    n = cast(voting_round, council_a, a["Agua potable"], 3, first=1)
    n = cast(voting_round, council_a, a["Cancha"], 2, first=n)
    n = cast(voting_round, council_b, b["Escuela"], 1, first=n)
    cast(voting_round, council_b, b["Mercado"], 1, first=n)
    non_voters(council_a, 3, first=1)
    non_voters(council_b, 2, first=10)
    return count_and_publish(voting_round, adam)


@pytest.fixture
def funded(published):
    """The published round with its winners' allocations (commune A: "Agua potable")."""
    cycle.round_allocate(consultation_id=published.pk)
    return published


@pytest.fixture
def agua(funded, commune_a):
    return funded.projects.get(commune=commune_a, title="Agua potable")


@pytest.fixture
def carlos(agua):
    """Carlos, co-funder staff of commune A's state government (its funding source's staff)."""
    state = agua.commune.parish.municipality.state
    user = make_staff("carlos@example.org", StaffRole.Kind.COFUNDER_STAFF, state=state)
    funding.source_for(FundingSource.Kind.STATE, agua).staff.add(user)
    return user


@pytest.fixture
def ana(council_a):
    """Ana, on commune A's census, with no account (she votes at a table)."""
    return make_resident(council_a, "V-14555666", "Ana Teresa Rangel", birth=ANA_BIRTH)


@pytest.fixture
def centres_of_a(commune_a, commune_b):
    """Commune A votes at two tables of Escuela Bolivariana and one of the Casa Comunal; commune
    B at a table of its own in the same school."""
    school = VotingCentre.objects.create(
        code="CV-0101-01",
        name="Escuela Bolivariana Lídice",
        parish=commune_a.parish,
        address="Calle Real de Lídice, frente a la plaza",
    )
    house = VotingCentre.objects.create(
        code="CV-0101-02", name="Casa Comunal La Ceiba", parish=commune_a.parish
    )
    for centre, number, commune in [
        (school, 1, commune_a),
        (school, 2, commune_a),
        (school, 3, commune_b),
        (house, 1, commune_a),
    ]:
        VotingTable.objects.create(
            code=f"{centre.code}-{number}", centre=centre, number=number, commune=commune
        )
    return school, house


@pytest.fixture
def world(council_a, council_b, commune_a, commune_b):
    """Real people of every role, a pending claim of commune A and a private file of A."""
    return access_world(council_a, council_b, commune_a, commune_b)
