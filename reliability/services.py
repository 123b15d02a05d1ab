"""A PostgreSQL cluster and a Redis server of the reliability runs' own, on free ports.

The runs stop, restart and kill these on purpose; the PostgreSQL and Redis the test suite (and
anything else on the machine) uses are never touched.
"""

import glob
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def program(name: str) -> str:
    """A program's full path, or a clear stop when it is not installed."""
    found = shutil.which(name)
    if found is None:
        raise SystemExit(f"{name} is not installed; the reliability runs need it.")
    return found


def _bindir() -> Path:
    found = shutil.which("pg_ctl")
    if found:  # a link to the version's folder (which also holds pg_basebackup): follow it
        return Path(found).resolve().parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if not versions:
        raise SystemExit("PostgreSQL's server programs (pg_ctl, initdb) are not installed.")
    return Path(versions[-1]).parent



def port_wait(port: int, what: str) -> None:
    """Wait up to 10 s for a server of ours to accept connections on the loopback port."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"{what} did not start")

class Postgres:
    """initdb into a folder, then start, restart (fast) and stop it with pg_ctl."""

    def __init__(self, workdir: Path, port: int | None = None):
        self.port = port or free_port()
        self.dir = workdir / "pg"
        self.log = workdir / "pg.log"
        self.bin = _bindir()
        self.as_root = os.geteuid() == 0  # PostgreSQL refuses to run as root: run it as postgres

    def _run(self, *command: str) -> None:
        prefix = [program("runuser"), "-u", "postgres", "--"] if self.as_root else []
        subprocess.run(  # noqa: S603 -- PostgreSQL's own programs, fixed arguments
            [*prefix, *command], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )

    def init(self) -> "Postgres":
        self.dir.mkdir(parents=True)
        if self.as_root:
            shutil.chown(self.dir.parent, "postgres")
            shutil.chown(self.dir, "postgres")
        self._run(
            str(self.bin / "initdb"),
            "-D",
            str(self.dir),
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
        )
        return self

    def start(self) -> None:
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1"
        self._run(
            str(self.bin / "pg_ctl"),
            "-D",
            str(self.dir),
            "-o",
            options,
            "-l",
            str(self.log),
            "-w",
            "start",
        )

    def restart(self) -> None:
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.dir), "-m", "fast", "-w", "restart")

    def stop(self) -> None:
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.dir), "-m", "fast", "-w", "stop")

    def url(self, name: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{name}"


class Redis:
    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.process = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(  # noqa: S603 -- redis-server, fixed arguments
            [
                program("redis-server"),
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        port_wait(self.port, "redis-server")

    def stop(self) -> None:
        """Shut the server on this port down, whichever process started it."""
        subprocess.run(  # noqa: S603 -- redis-cli, fixed arguments
            [program("redis-cli"), "-p", str(self.port), "shutdown", "nosave"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        if self.process is not None:
            self.process.wait(timeout=10)
            self.process = None


class Replica(Postgres):
    """A streaming replica of `primary`, copied with pg_basebackup (-R: it follows the primary
    as soon as it starts), with its own folder and port."""

    def __init__(self, workdir: Path, primary: Postgres, name: str, port: int | None = None):
        super().__init__(workdir, port)
        self.primary = primary
        self.dir = workdir / f"pg-replica-{name}"
        self.log = workdir / f"pg-replica-{name}.log"

    def init(self) -> "Replica":
        if self.as_root:
            shutil.chown(self.dir.parent, "postgres")
        self._run(
            str(self.bin / "pg_basebackup"),
            "-h",
            "127.0.0.1",
            "-p",
            str(self.primary.port),
            "-U",
            "postgres",
            "-D",
            str(self.dir),
            "-R",
            "-X",
            "stream",
            "--checkpoint=fast",
            "--no-sync",
        )
        return self

    def sql(self, statement: str):
        """One statement on the replica's `postgres` database; its first value."""
        import psycopg

        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            row = conn.execute(statement).fetchone()
        return row[0] if row else None


def pgbouncer_binary() -> str:
    """PgBouncer's program: installed with Debian's package when missing and run as root (CI
    runs on a fresh machine), otherwise a clear stop."""
    found = shutil.which("pgbouncer") or next(iter(glob.glob("/usr/sbin/pgbouncer")), None)
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        apt = program("apt-get")
        subprocess.run([apt, "update", "-qq"], check=True, env=env)  # noqa: S603 -- fixed
        subprocess.run(  # noqa: S603 -- Debian's package manager, fixed arguments
            [apt, "install", "-y", "-qq", "pgbouncer"],
            check=True,
            env=env,
            stdout=subprocess.DEVNULL,
        )
        found = shutil.which("pgbouncer") or next(iter(glob.glob("/usr/sbin/pgbouncer")), None)
    if found is None:
        raise SystemExit("pgbouncer is not installed (as root: apt-get install pgbouncer).")
    return found


class PgBouncer:
    """PgBouncer in transaction mode in front of `postgres`, every database, trust auth."""

    def __init__(self, workdir: Path, postgres: Postgres, port: int | None = None):
        self.port = port or free_port()
        self.dir = workdir / "pgbouncer"
        self.postgres = postgres
        self.process = None
        self.as_root = os.geteuid() == 0

    def start(self, pool_size: int = 20) -> None:
        binary = pgbouncer_binary()
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / "users.txt").write_text('"postgres" ""\n')
        (self.dir / "pgbouncer.ini").write_text(
            "[databases]\n"
            f"* = host=127.0.0.1 port={self.postgres.port}\n"
            "[pgbouncer]\n"
            "listen_addr = 127.0.0.1\n"
            f"listen_port = {self.port}\n"
            "unix_socket_dir =\n"
            "auth_type = trust\n"
            f"auth_file = {self.dir / 'users.txt'}\n"
            "pool_mode = transaction\n"
            f"default_pool_size = {pool_size}\n"
            "max_client_conn = 2000\n"
            "ignore_startup_parameters = extra_float_digits,options\n"
            f"logfile = {self.dir / 'pgbouncer.log'}\n"
        )
        prefix = []
        if self.as_root:  # PgBouncer refuses to run as root, as PostgreSQL does
            for path in (self.dir, *self.dir.iterdir()):
                shutil.chown(path, "postgres")
            prefix = [program("runuser"), "-u", "postgres", "--"]
        self.process = subprocess.Popen(  # noqa: S603 -- PgBouncer, fixed arguments
            [*prefix, binary, str(self.dir / "pgbouncer.ini")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        port_wait(self.port, "pgbouncer")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()  # runuser passes it on
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def url(self, name: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{name}"
