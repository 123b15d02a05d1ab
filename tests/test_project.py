"""The project as a whole: deployment files, settings, translations, static files, Celery."""

import ast
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import polib
import pytest
from django.conf import settings

ROOT = Path(settings.BASE_DIR)
PRODUCTION_ENV = {
    "DEBUG": "0",
    "SECRET_KEY": "a-production-like-secret-key-of-fifty-characters-or-more-0123456789",
    "ALLOWED_HOSTS": "comunas.example.org",
    "EMAIL_HOST": "smtp.example.org",
    "DATABASE_URL": os.environ.get("DATABASE_URL", ""),
    "REDIS_URL": os.environ.get("REDIS_URL", ""),
}


def run_manage(*args, env=None, cwd=ROOT):
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in PRODUCTION_ENV and not k.startswith("SECURE_")
    }
    clean.pop("SESSION_COOKIE_SECURE", None)
    clean.pop("CSRF_COOKIE_SECURE", None)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=cwd,
        env={**clean, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_compose_file_follows_the_compose_specification():
    result = subprocess.run(
        [
            Path(sys.executable).parent / "check-jsonschema",
            "--builtin-schema",
            "vendor.compose-spec",
            str(ROOT / "docker-compose.yml"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_runs_every_part_with_health_checks():
    text = (ROOT / "docker-compose.yml").read_text()
    for service in ["db:", "redis:", "web:", "worker:", "beat:"]:
        assert f"\n  {service}" in text
    assert text.count("healthcheck:") >= 4
    assert "gunicorn" in text


def test_check_deploy_is_clean_with_production_variables():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr


def test_check_deploy_refuses_console_email_in_production():
    env = {key: value for key, value in PRODUCTION_ENV.items() if key != "EMAIL_HOST"}
    result = run_manage("check", "--deploy", env=env)
    assert result.returncode != 0
    assert "mail.E001" in result.stderr


def test_secret_key_is_required_when_debug_is_off():
    result = run_manage("check", env={**PRODUCTION_ENV, "SECRET_KEY": ""})
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_env_example_documents_every_variable_the_settings_read():
    documented = set(re.findall(r"^([A-Z_]+)=", (ROOT / ".env.example").read_text(), re.M))
    source = (ROOT / "config" / "settings.py").read_text()
    read = set(
        re.findall(
            r"""(?:environ\.get|environ\[|env_bool|env_list)\(?\s*["']([A-Z_]+)["']""", source
        )
    )
    assert read, "the pattern found no variables"
    assert read - documented == set()
    compose = (ROOT / "docker-compose.yml").read_text()
    assert documented - read - {"POSTGRES_PASSWORD"} == set()
    assert "POSTGRES_PASSWORD" in compose


def test_spanish_catalogue_is_complete_and_compiled():
    po = polib.pofile(str(ROOT / "locale" / "es" / "LC_MESSAGES" / "django.po"))
    assert po.untranslated_entries() == []
    assert po.fuzzy_entries() == []
    mo = polib.mofile(str(ROOT / "locale" / "es" / "LC_MESSAGES" / "django.mo"))
    compiled = {(entry.msgctxt, entry.msgid): (entry.msgstr, entry.msgstr_plural) for entry in mo}
    for entry in po.translated_entries():
        assert (entry.msgctxt, entry.msgid) in compiled, f"not compiled: {entry.msgid!r}"


def test_every_string_in_the_code_is_in_the_catalogue(tmp_path):
    """makemessages finds no string that the Spanish catalogue lacks."""
    po_path = ROOT / "locale" / "es" / "LC_MESSAGES" / "django.po"
    known = {(entry.msgctxt, entry.msgid) for entry in polib.pofile(str(po_path))}
    sources = [path for path in ROOT.iterdir() if (path / "apps.py").exists()]
    for folder in [*sources, ROOT / "config", ROOT / "templates"]:
        shutil.copytree(folder, tmp_path / folder.name)
    shutil.copy(ROOT / "manage.py", tmp_path)
    (tmp_path / "locale").mkdir()
    result = run_manage("makemessages", "--locale", "es", env={"DEBUG": "1"}, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    fresh = polib.pofile(str(tmp_path / "locale" / "es" / "LC_MESSAGES" / "django.po"))
    missing = [entry.msgid for entry in fresh if (entry.msgctxt, entry.msgid) not in known]
    assert missing == [], "run `make messages` and translate these"


def test_static_files_build_with_the_production_manifest(tmp_path):
    result = run_manage(
        "collectstatic", "--noinput", env={**PRODUCTION_ENV, "STATIC_ROOT": str(tmp_path)}
    )
    assert result.returncode == 0, result.stderr
    manifest = (tmp_path / "staticfiles.json").read_text()
    assert "htmx-2.0.11.min.js" in manifest and "css/site.css" in manifest


def test_htmx_is_served_from_our_own_static_files_not_a_cdn():
    base = (ROOT / "templates" / "base.html").read_text()
    assert "https://" not in base and "//unpkg" not in base
    assert (ROOT / "static" / "vendor" / "htmx-2.0.11.min.js").stat().st_size > 40_000


def test_find_python_explains_when_there_is_no_python_312(tmp_path):
    result = subprocess.run(
        ["/bin/bash", str(ROOT / "scripts" / "find-python")],
        env={"PATH": str(tmp_path), "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 1
    assert "No Python 3.12 or newer found" in result.stderr


def test_find_python_finds_one_here():
    result = subprocess.run(
        ["/bin/bash", str(ROOT / "scripts" / "find-python")],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    found = result.stdout.strip()
    version = subprocess.run(
        [found, "-c", "import sys; print(sys.version_info >= (3, 12))"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert version.stdout.strip() == "True"


@pytest.mark.django_db(transaction=True)
def test_a_task_travels_through_redis_to_a_real_worker(settings):
    """The beat's session cleanup runs on a Celery worker fed by the Redis broker."""
    from celery.contrib.testing.worker import start_worker
    from django.contrib.sessions.models import Session
    from django.utils import timezone

    from accounts.tasks import sessions_clear_expired_task
    from config.celery import app

    assert app.conf.broker_url.startswith("redis://")
    assert "accounts.tasks.sessions_clear_expired_task" in {
        entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()
    }
    Session.objects.create(
        session_key="expired",
        session_data="",
        expire_date=timezone.now() - timezone.timedelta(days=1),
    )
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        sessions_clear_expired_task.delay()
        for _ in range(200):
            if not Session.objects.filter(session_key="expired").exists():
                break
            time.sleep(0.1)
    assert not Session.objects.filter(session_key="expired").exists()


def test_the_lock_file_pins_every_declared_dependency_within_its_range():
    import tomllib

    from packaging.requirements import Requirement

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = [Requirement(text) for text in project["dependencies"]]
    declared += [Requirement(text) for text in project["optional-dependencies"]["dev"]]
    pinned = dict(
        re.findall(
            r"^([a-z0-9][a-z0-9._-]*)==([^\s\\]+)", (ROOT / "requirements.lock").read_text(), re.M
        )
    )

    def canonical(name):
        return re.sub(r"[-_.]+", "-", name).lower()

    pinned = {canonical(name): version for name, version in pinned.items()}
    for requirement in declared:
        version = pinned.get(canonical(requirement.name))
        assert version is not None, f"{requirement.name} is not in requirements.lock: run make lock"
        assert requirement.specifier.contains(version), f"{requirement} but the lock has {version}"


def test_manage_py_runs_bare_in_development_mode():
    """A developer's `python manage.py ...` needs no variables; production sets DEBUG=0."""
    result = run_manage("check")
    assert result.returncode == 0, result.stderr


def test_the_web_server_never_defaults_to_development_mode():
    clean = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY"}}
    result = subprocess.run(
        [sys.executable, "-c", "import config.wsgi"],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def imports_of_test_modules(folder: Path) -> list[str]:
    """Every import, function-local ones included, by which a file under ``folder`` reaches a test
    module (``test_*.py``) or a conftest. Shared helpers live in tests/builders/ and shared
    fixtures in the conftest.py files, which pytest finds by itself."""
    package = folder.name
    found = []
    for path in sorted(folder.rglob("*.py")):
        here = path.relative_to(folder.parent).with_suffix("").parts[:-1]
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = here[: len(here) - node.level + 1]
                    module = ".".join([*base, *([node.module] if node.module else [])])
                else:
                    module = node.module or ""
                targets = [module] + [f"{module}.{alias.name}" for alias in node.names]
            elif isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                continue
            for target in targets:
                parts = target.split(".")
                if parts[0] == package and (parts[-1].startswith("test_") or "conftest" in parts):
                    found.append(f"{path.relative_to(folder.parent)}:{node.lineno} {target}")
                    break
    return found


def test_no_test_module_imports_another_test_module_or_a_conftest():
    assert imports_of_test_modules(ROOT / "tests") == []


def test_the_import_check_finds_each_way_of_reaching_a_test_module(tmp_path):
    tests = tmp_path / "tests"
    (tests / "voting").mkdir(parents=True)
    (tests / "conftest.py").write_text("from .builders import make_user\n")
    (tests / "builders.py").write_text("import datetime\n")
    (tests / "voting" / "test_results.py").write_text(
        "from ..builders import make_user\n"
        "from ..conftest import make_staff\n"
        "from .test_tables import make_table\n"
        "from . import test_count\n"
        "import tests.funding.test_money\n"
        "def test_x():\n"
        "    from tests.voting.conftest import close_now\n"
    )
    assert imports_of_test_modules(tests) == [
        "tests/voting/test_results.py:2 tests.conftest",
        "tests/voting/test_results.py:3 tests.voting.test_tables",
        "tests/voting/test_results.py:4 tests.voting.test_count",
        "tests/voting/test_results.py:5 tests.funding.test_money",
        "tests/voting/test_results.py:7 tests.voting.conftest",
    ]
