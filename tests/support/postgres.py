"""An ephemeral PostgreSQL cluster for tests, or a server named by ``MDMFLOW_TEST_POSTGRES_URL``.

The cluster lives in a temporary directory, listens on a free port of 127.0.0.1 with ``trust``
authentication and durability switched off, and is stopped (``pg_ctl -m immediate``) and deleted
on exit. ``initdb`` refuses to run as root, so as root the server tools run as the ``postgres``
OS user through ``runuser``.

Missing server binaries are an error, never a reason to skip: ``bash .ci/run`` installs them.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Self

import asyncpg
from sqlalchemy.engine import URL, make_url

from tests.support.servers import free_port, run_coroutine

ENV_URL = "MDMFLOW_TEST_POSTGRES_URL"
SERVER_USER = "postgres"
_REQUIRED_TOOLS = ("initdb", "pg_ctl")
_DB_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
_START_ATTEMPTS = 3
_COMMAND_TIMEOUT_S = 120.0


class PostgresError(RuntimeError):
    """The test PostgreSQL server cannot be found, started, used or stopped."""


def _has_tools(directory: Path) -> bool:
    return all((directory / tool).is_file() for tool in _REQUIRED_TOOLS)


def _version_key(directory: Path) -> tuple[int, ...]:
    # /usr/lib/postgresql/<version>/bin: sort by the numeric parts of <version>.
    return tuple(int(part) for part in re.findall(r"\d+", directory.parent.name))


def find_pg_bin() -> Path | None:
    """The directory holding ``initdb`` and ``pg_ctl``, or None when they are not installed.

    Looks at ``pg_config --bindir`` first, then Debian's ``/usr/lib/postgresql/*/bin`` (newest
    version first), then ``PATH``.
    """
    pg_config = shutil.which("pg_config")
    if pg_config is not None:
        try:
            done = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, timeout=30, check=False
            )
        except (OSError, subprocess.SubprocessError):
            done = None
        if done is not None and done.returncode == 0:
            bindir = Path(done.stdout.strip())
            if done.stdout.strip() and _has_tools(bindir):
                return bindir
    debian = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=_version_key, reverse=True)
    for bindir in debian:
        if _has_tools(bindir):
            return bindir
    initdb = shutil.which("initdb")
    if initdb is not None:
        bindir = Path(initdb).resolve().parent
        if _has_tools(bindir):
            return bindir
    return None


def _quote_ident(name: str) -> str:
    if not _DB_NAME.fullmatch(name):
        raise ValueError(f"database name {name!r} must match {_DB_NAME.pattern}")
    return f'"{name}"'


def unique_database_name(prefix: str = "mdmflow_test") -> str:
    return f"{prefix}_{uuid.uuid4().hex[:16]}"


class EphemeralPostgres:
    """A PostgreSQL server for one test session; use as a context manager.

    ``url`` names a database created for the session; :meth:`create_database` makes more.
    With ``MDMFLOW_TEST_POSTGRES_URL`` set, that server is used instead of starting one, and
    the databases made here are dropped again on exit.
    """

    def __init__(self, external_url: str | None = None) -> None:
        if external_url is None:
            external_url = os.environ.get(ENV_URL) or None
        self._external: URL | None = None
        if external_url is not None:
            try:
                self._external = make_url(external_url)
            except Exception as exc:
                raise PostgresError(f"{ENV_URL} is not a database URL: {exc}") from None
        self._bindir: Path | None = None
        self._tmpdir: Path | None = None
        self._port: int | None = None
        self._created: list[str] = []
        self._url: str | None = None

    # -- public API ------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """``postgresql+asyncpg://`` URL of the session database."""
        if self._url is None:
            raise PostgresError("the test PostgreSQL server is not started")
        return self._url

    @property
    def external(self) -> bool:
        return self._external is not None

    def start(self) -> Self:
        if self._url is not None:
            return self
        if self._external is None:
            self._start_cluster()
        try:
            self._url = self.create_database(unique_database_name())
        except BaseException:
            with contextlib.suppress(PostgresError):
                self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop the cluster and delete its directory (or drop the databases made externally)."""
        self._url = None
        if self._external is not None:
            created, self._created = self._created, []
            if created:
                run_coroutine(self._drop_databases(created))
            return
        tmpdir, self._tmpdir = self._tmpdir, None
        if tmpdir is None:
            return
        try:
            if (tmpdir / "data" / "postmaster.pid").exists():
                self._run_tool(
                    "pg_ctl", "-D", str(tmpdir / "data"), "-m", "immediate", "-w", "stop"
                )
        finally:
            shutil.rmtree(tmpdir, ignore_errors=True)

    def create_database(self, name: str) -> str:
        """Create an empty database ``name`` and return its ``postgresql+asyncpg://`` URL."""
        quoted = _quote_ident(name)
        run_coroutine(self._admin_execute(f"CREATE DATABASE {quoted}"))
        self._created.append(name)
        return self._url_for(name)

    def drop_database(self, name: str) -> None:
        """Drop a database made by :meth:`create_database`, closing its remaining connections."""
        run_coroutine(self._drop_databases([name]))
        if name in self._created:
            self._created.remove(name)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- the server ------------------------------------------------------------------------

    def _admin_url(self) -> URL:
        if self._external is not None:
            return self._external
        if self._port is None:
            raise PostgresError("the test PostgreSQL server is not started")
        return URL.create(
            "postgresql+asyncpg",
            username=SERVER_USER,
            host="127.0.0.1",
            port=self._port,
            database="postgres",
        )

    def _url_for(self, database: str) -> str:
        url = self._admin_url().set(drivername="postgresql+asyncpg", database=database)
        return url.render_as_string(hide_password=False)

    async def _admin_execute(self, *statements: str) -> None:
        admin = self._admin_url()
        try:
            conn = await asyncpg.connect(
                host=admin.host,
                port=admin.port,
                user=admin.username,
                password=admin.password,
                database=admin.database,
                timeout=30,
            )
        except Exception as exc:
            shown = admin.render_as_string(hide_password=True)
            raise PostgresError(f"cannot connect to PostgreSQL at {shown}: {exc}") from exc
        try:
            for statement in statements:
                await conn.execute(statement)
        except Exception as exc:
            raise PostgresError(f"{statements[0]!r} failed: {exc}") from exc
        finally:
            await conn.close()

    async def _drop_databases(self, names: Sequence[str]) -> None:
        await self._admin_execute(
            *(f"DROP DATABASE IF EXISTS {_quote_ident(name)} WITH (FORCE)" for name in names)
        )

    def _start_cluster(self) -> None:
        bindir = find_pg_bin()
        if bindir is None:
            raise PostgresError(
                "PostgreSQL server binaries (initdb, pg_ctl) are required to run the tests "
                "but were not found via pg_config, /usr/lib/postgresql/*/bin or PATH; install "
                "the Debian package 'postgresql' (bash .ci/run does), or set "
                f"{ENV_URL} to a server the tests may create databases in"
            )
        self._bindir = bindir
        tmpdir = Path(tempfile.mkdtemp(prefix="mdmflow-pg-"))
        self._tmpdir = tmpdir
        try:
            self._prepare_dir(tmpdir)
            data = tmpdir / "data"
            self._run_tool(
                "initdb",
                "-D",
                str(data),
                "-A",
                "trust",
                "-U",
                SERVER_USER,
                "--no-sync",
                "-E",
                "UTF8",
                "--locale=C",
            )
            last_error: PostgresError | None = None
            for _ in range(_START_ATTEMPTS):
                port = free_port()
                try:
                    self._run_tool(
                        "pg_ctl",
                        "-D",
                        str(data),
                        "-l",
                        str(tmpdir / "server.log"),
                        "-o",
                        f"-p {port} -k {tmpdir} -c listen_addresses=127.0.0.1 -c fsync=off "
                        "-c synchronous_commit=off -c full_page_writes=off",
                        "-w",
                        "-t",
                        "60",
                        "start",
                    )
                except PostgresError as exc:
                    # Most likely another process took the port between probe and start.
                    last_error = exc
                    continue
                self._port = port
                return
            assert last_error is not None
            raise last_error
        except BaseException:
            with contextlib.suppress(PostgresError):
                self.stop()
            raise

    def _prepare_dir(self, tmpdir: Path) -> None:
        if os.geteuid() != 0:
            return
        import pwd

        try:
            account = pwd.getpwnam(SERVER_USER)
        except KeyError:
            raise PostgresError(
                f"running as root, the test PostgreSQL server must run as the OS user "
                f"{SERVER_USER!r}, which does not exist (installing the 'postgresql' package "
                "creates it)"
            ) from None
        os.chown(tmpdir, account.pw_uid, account.pw_gid)
        self._run(self._as_server_user(["test", "-w", str(tmpdir), "-a", "-x", str(tmpdir)]))

    def _as_server_user(self, argv: list[str]) -> list[str]:
        if os.geteuid() != 0:
            return argv
        runuser = shutil.which("runuser") or "/usr/sbin/runuser"
        return [runuser, "-u", SERVER_USER, "--", *argv]

    def _run_tool(self, tool: str, *args: str) -> None:
        assert self._bindir is not None
        self._run(self._as_server_user([str(self._bindir / tool), *args]))

    def _run(self, argv: list[str]) -> None:
        cwd = self._tmpdir
        try:
            done = subprocess.run(
                argv,
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=_COMMAND_TIMEOUT_S,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise PostgresError(
                f"command timed out after {_COMMAND_TIMEOUT_S:.0f}s: {shlex.join(argv)}"
                f"{self._log_tail()}"
            ) from None
        except OSError as exc:
            raise PostgresError(f"cannot run {shlex.join(argv)}: {exc}") from None
        if done.returncode != 0:
            output = (done.stderr.strip() or done.stdout.strip() or "(no output)")[-4000:]
            raise PostgresError(
                f"command failed with exit code {done.returncode}: {shlex.join(argv)}\n"
                f"{output}{self._log_tail()}"
            )

    def _log_tail(self) -> str:
        if self._tmpdir is None:
            return ""
        log = self._tmpdir / "server.log"
        try:
            text = log.read_text(errors="replace")
        except OSError:
            return ""
        return f"\nserver log ({log}):\n{text[-4000:]}" if text.strip() else ""
