"""Public pages read the replica (DATABASE_REPLICA_URL); a visitor's own writes, every write and
everything else the primary; a replica that fails is left for the primary, never a 500.

The replica alias is a mirror of the test database here (another connection to it), so these
tests commit what they make (transactional). Lag is made by saying the replica has not replayed
a position; a real streaming replica that lags and stops is `make reliability`'s."""

import pytest
from django.conf import settings
from django.db import connections
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

import replica

pytestmark = [
    pytest.mark.replica,
    pytest.mark.django_db(transaction=True, databases=["default", "replica"]),
]


@pytest.fixture(autouse=True)
def _replica_up():
    assert "replica" in settings.DATABASES, (
        "These tests need the replica alias: run them with DATABASE_REPLICA_URL set to the test "
        "database's URL (make test does)."
    )
    replica._down_until = 0.0
    yield
    replica._down_until = 0.0


def reads(client, url, **extra):
    """The response, and the queries it made on the primary and on the replica."""
    with (
        CaptureQueriesContext(connections["default"]) as primary,
        CaptureQueriesContext(connections["replica"]) as mirror,
    ):
        response = client.get(url, **extra)
        if getattr(response, "streaming", False):
            response.body = b"".join(response.streaming_content)  # read: its queries run now
    return response, primary.captured_queries, mirror.captured_queries


def on(queries, table: str) -> int:
    return sum(f'"{table}"' in query["sql"] for query in queries)


def test_results_open_data_money_and_directory_read_the_replica(client, published):
    pk = published.pk
    pages = {
        reverse("voting:results-list"): "voting_communeresult",
        reverse("voting:results-round", args=[pk]): "voting_communeresult",
        reverse("voting:results-commune", args=[pk, "COM-0101-901"]): "voting_projectresult",
        reverse("voting:results-projects-csv", args=[pk]): "voting_projectresult",
        reverse("voting:results-communes-json", args=[pk]): "voting_communeresult",
        reverse("funding:money-list"): "consultations_consultation",
        reverse("communes:directory") + "?q=Comuna": "communes_commune",
    }
    for url, table in pages.items():
        response, primary, mirror = reads(client, url)
        assert response.status_code == 200, url
        assert on(mirror, table) >= 1, f"{url} did not read {table} from the replica"
        assert on(primary, table) == 0, f"{url} read {table} from the primary"


def test_a_signed_in_persons_own_pages_and_every_post_use_the_primary(client, carla):
    client.force_login(carla)
    response, primary, mirror = reads(client, reverse("communes:my-participation"))
    assert response.status_code == 200
    assert mirror == [] and primary
    with CaptureQueriesContext(connections["replica"]) as mirror:
        client.post(reverse("set_language"), {"language": "es", "next": "/"})
    assert mirror.captured_queries == []


def test_after_a_write_public_reads_wait_for_the_replica_to_replay_it(
    client, commune_a, monkeypatch
):
    client.post(reverse("set_language"), {"language": "es", "next": "/"})
    position = client.cookies[replica.COOKIE].value
    assert "/" in position  # the primary's WAL position, as PostgreSQL writes it
    directory = reverse("communes:directory") + "?q=Comuna"

    # The replica has not replayed it yet: this visitor reads the primary, the cookie stays.
    monkeypatch.setattr(replica, "_replayed", lambda position: False)
    response, primary, mirror = reads(client, directory)
    assert response.status_code == 200
    assert on(primary, "communes_commune") >= 1 and on(mirror, "communes_commune") == 0
    assert replica.COOKIE not in response.cookies
    assert client.cookies[replica.COOKIE].value == position

    # Once it has, the replica again, and the cookie goes.
    monkeypatch.undo()
    monkeypatch.setattr(replica, "enabled", lambda: True)
    response, primary, mirror = reads(client, directory)
    assert on(mirror, "communes_commune") >= 1 and on(primary, "communes_commune") == 0
    assert response.cookies[replica.COOKIE].value == ""  # deleted


def test_the_replay_check_asks_the_replica_itself(commune_a):
    """The mirror is the primary itself here: not replaying, it has every write."""
    with CaptureQueriesContext(connections["replica"]) as mirror:
        assert replica._replayed("0/1") is True
    assert "pg_last_wal_replay_lsn" in mirror.captured_queries[0]["sql"]


def test_a_replica_that_does_not_answer_leaves_the_pages_to_the_primary(client, published):
    broken = connections["replica"]
    broken.close()
    port = broken.settings_dict["PORT"]
    broken.settings_dict["PORT"] = "1"  # nothing listens there: connection refused
    try:
        for url in (
            reverse("voting:results-round", args=[published.pk]),
            reverse("voting:results-projects-csv", args=[published.pk]),
            reverse("communes:directory") + "?q=Comuna",
        ):
            replica._down_until = 0.0  # each page meets the failure itself
            with CaptureQueriesContext(connections["default"]) as primary:
                response = client.get(url)
                if getattr(response, "streaming", False):
                    response.body = b"".join(response.streaming_content)
            assert response.status_code == 200, url
            assert primary.captured_queries, url
            assert replica._down_until > 0, url
        # For a few seconds after a failure the replica is not even tried.
        assert replica.read_alias() == "default"
    finally:
        broken.close()
        broken.settings_dict["PORT"] = port


def test_the_router_writes_and_migrates_only_the_primary_and_reads_it_outside_public_pages(
    commune_a,
):
    from communes.models import Commune

    router = replica.PrimaryReplicaRouter()
    assert router.db_for_write(Commune) == "default"
    assert router.db_for_read(Commune) == "default"
    assert router.allow_migrate("default", "communes") and not router.allow_migrate(
        "replica", "communes"
    )
    assert replica.read_alias() == "default"  # no request: a job, a command
    # An object read from the replica is saved to the primary.
    token = replica._reading.set("replica")
    try:
        commune = Commune.objects.get(pk=commune_a.pk)
    finally:
        replica._reading.reset(token)
    assert commune._state.db == "replica"
    commune.name = "Comuna renombrada"
    commune.save(update_fields=["name"])
    assert Commune.objects.using("default").get(pk=commune_a.pk).name == "Comuna renombrada"
