"""A throw-away PostgreSQL server for the tests: Debian's ``postgresql`` package, run from a
temporary folder on a free port of 127.0.0.1, stopped and removed afterwards.

``initdb`` refuses to run as root, so as root the server runs as the ``postgres`` user the
package creates (through ``runuser``). Every step that cannot be done raises
:class:`ServerUnavailable` with the reason, which the fixture turns into a skip.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

ROLE = "cpm"
DATABASE = "crm"
PASSWORD = "S3cret/Pw@9x-Kq"  # needs escaping in a URL: '/' and '@'
SUPERUSER = "postgres"


class ServerUnavailable(RuntimeError):
    """The server cannot be started here (the reason is the message)."""


def _bin_dir() -> Path:
    """Debian's server binaries (``/usr/lib/postgresql/<version>/bin``), else those on PATH."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if candidates:
        return Path(candidates[-1]).parent
    found = shutil.which("initdb")
    if (
        found
        and (Path(found).parent / "pg_ctl").exists()
        and (Path(found).parent / "psql").exists()
    ):
        return Path(found).parent
    raise ServerUnavailable(
        "PostgreSQL is not installed (apt-get install postgresql; .ci/run does it)"
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class PostgresServer:
    """A running server: ``url`` logs in as :data:`ROLE` with :data:`PASSWORD`."""

    base: Path
    port: int
    bin_dir: Path
    prefix: list[str]

    @property
    def host(self) -> str:
        return "127.0.0.1"

    def url(self, password: str | None = PASSWORD, *, in_query: bool = False) -> str:
        """``postgresql+psycopg2://cpm:<password>@127.0.0.1:<port>/crm`` (password escaped), the
        password in the query string with ``in_query``, or none with ``password=None``."""
        base = f"postgresql+psycopg2://{ROLE}"
        where = f"@{self.host}:{self.port}/{DATABASE}"
        if password is None:
            return base + where
        if in_query:
            return f"{base}{where}?password={quote(password, safe='')}"
        return f"{base}:{quote(password, safe='')}{where}"

    def run(self, *command: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [*self.prefix, *command], capture_output=True, text=True, timeout=120, check=False
        )

    def psql(self, sql: str) -> None:
        done = self.run(
            str(self.bin_dir / "psql"), "-h", str(self.base), "-p", str(self.port),
            "-U", SUPERUSER, "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-c", sql,
        )  # fmt: skip
        if done.returncode:
            raise ServerUnavailable(f"psql failed: {done.stderr.strip()[:300]}")

    def stop(self) -> None:
        self.run(str(self.bin_dir / "pg_ctl"), "-D", str(self.base / "data"), "-m", "fast", "stop")
        shutil.rmtree(self.base, ignore_errors=True)


def start() -> PostgresServer:
    """Initialise and start a server with role :data:`ROLE` (password :data:`PASSWORD`) owning
    database :data:`DATABASE`; host logins need the password (scram-sha-256)."""
    bin_dir = _bin_dir()
    prefix: list[str] = []
    owner = None
    if os.geteuid() == 0:
        try:
            owner = pwd.getpwnam(SUPERUSER)
        except KeyError:
            raise ServerUnavailable("running as root and there is no postgres user") from None
        runuser = shutil.which("runuser")
        if runuser is None:
            raise ServerUnavailable("running as root and runuser is missing")
        prefix = [runuser, "-u", SUPERUSER, "--"]
    base = Path(tempfile.mkdtemp(prefix="cpm-pg-"))
    os.chmod(base, 0o755)
    if owner is not None:
        os.chown(base, owner.pw_uid, owner.pw_gid)
    server = PostgresServer(base=base, port=_free_port(), bin_dir=bin_dir, prefix=prefix)
    init = server.run(
        str(bin_dir / "initdb"), "-D", str(base / "data"), "-U", SUPERUSER, "-E", "UTF8",
        "--no-locale", "--auth-local=trust", "--auth-host=scram-sha-256",
    )  # fmt: skip
    if init.returncode:
        shutil.rmtree(base, ignore_errors=True)
        raise ServerUnavailable(f"initdb failed: {init.stderr.strip()[:300]}")
    options = (
        f"-c listen_addresses=127.0.0.1 -p {server.port} -k {base} -c fsync=off "
        "-c shared_buffers=16MB -c max_connections=30"
    )
    started = server.run(
        str(bin_dir / "pg_ctl"), "-D", str(base / "data"), "-l", str(base / "server.log"),
        "-w", "-t", "60", "-o", options, "start",
    )  # fmt: skip
    if started.returncode:
        log = (base / "server.log").read_text(errors="replace")[-300:] if owner is None else ""
        server.stop()
        raise ServerUnavailable(f"pg_ctl start failed: {started.stderr.strip()[:300]} {log}")
    try:
        server.psql(f"CREATE ROLE {ROLE} LOGIN PASSWORD '{PASSWORD}'")
        server.psql(f"CREATE DATABASE {DATABASE} OWNER {ROLE}")
    except ServerUnavailable:
        server.stop()
        raise
    return server
