import datetime

import pytest
from django.conf import settings
from django.core.cache import cache
from django.utils import translation

from accounts.models import StaffRole, User
from communes.models import CommunalCouncil, Commune, Parish, Resident, Spokesperson

PASSWORD = "a-long-test-password-1"


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
        from config import replica

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
    # So are the urns' private keys.
    settings.URN_KEY_DIR = tmp_path / "urn-keys"
    # A round kept in memory by an earlier test's vote may share this test's primary key.
    from voting.selectors import forget_rounds_in_voting

    forget_rounds_in_voting()
    # A request in an earlier test may have left another language active in this thread.
    translation.activate(settings.LANGUAGE_CODE)


def make_user(email: str, **extra) -> User:
    user = User.objects.create_user(email=email, password=PASSWORD, **extra)
    from allauth.account.models import EmailAddress

    EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    return user


def close_response(response) -> None:
    """Close a streamed response (its file) without the request_finished signal closing the test's
    database connection, as Django's test client does for the responses it closes itself."""
    from django.core.signals import request_finished
    from django.db import close_old_connections

    request_finished.disconnect(close_old_connections)
    try:
        response.close()
    finally:
        request_finished.connect(close_old_connections)


def give_totp(user) -> str:
    """Set up TOTP two-step verification for a user, as they would on the setup page."""
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    return secret


def make_staff(email: str, kind: str, state=None, *, totp: bool = True) -> User:
    user = make_user(email)
    StaffRole.objects.create(user=user, kind=kind, state=state)
    if totp:
        give_totp(user)
    return user


def make_commune(code: str, parish_code: str, name: str, **extra) -> Commune:
    return Commune.objects.create(
        code=code,
        name=name,
        parish=Parish.objects.get(code=parish_code),
        registered_on=datetime.date(2020, 5, 1),
        **extra,
    )


def make_resident(council, cedula: str, name: str, birth=datetime.date(1990, 4, 2), user=None):
    resident = Resident.objects.create(
        cedula=cedula, full_name=name, birth_date=birth, council=council
    )
    if user is not None:
        verifier = User.objects.filter(email="verifier@example.org").first() or make_user(
            "verifier@example.org"
        )
        Resident.objects.filter(pk=resident.pk).update(
            user=user,
            verification=Resident.Verification.VERIFIED,
            verified_by=verifier,
            verified_at=datetime.datetime(2026, 1, 5, tzinfo=datetime.UTC),
        )
        resident.refresh_from_db()
    return resident


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


def _spokesperson(council, cedula, name, email, unit="executive"):
    user = make_user(email)
    resident = make_resident(council, cedula, name, user=user)
    Spokesperson.objects.create(
        resident=resident,
        commune=council.commune,
        unit=unit,
        term_start=datetime.date(2025, 1, 1),
        term_end=datetime.date(2028, 1, 1),
    )
    return user


@pytest.fixture
def alice(council_a):
    """Alice, executive spokesperson of commune A."""
    return _spokesperson(council_a, "V-11111111", "Alicia Pérez", "alice@example.org")


@pytest.fixture
def bob(council_b):
    """Bob, executive spokesperson of commune B."""
    return _spokesperson(council_b, "V-22222222", "Roberto Díaz", "bob@example.org")


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
