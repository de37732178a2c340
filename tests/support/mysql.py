"""An ephemeral MariaDB server for tests, or the MySQL server ``MDMFLOW_TEST_MYSQL_URL`` names.

The server lives in a temporary directory, listens on a free port of 127.0.0.1 (root without a
password, as ``mariadb-install-db --auth-root-authentication-method=normal`` makes it), runs
with durability off, and is stopped and deleted on exit. As root, the server runs as the
``mysql`` OS user the Debian package creates.

Missing server binaries are an error, never a reason to skip: ``bash .ci/run`` installs
``mariadb-server``.
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
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self

from sqlalchemy import text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import create_async_engine

from tests.support.servers import free_port, run_coroutine

ENV_URL = "MDMFLOW_TEST_MYSQL_URL"
SERVER_USER = "mysql"
TEST_USER = "nanocmd"
TEST_PASSWORD = "nanocmd-test-pw@1"
_NAME = re.compile(r"[a-z_][a-z0-9_]{0,63}")
_TIMEOUT_S = 120.0
_START_ATTEMPTS = 3


class MySQLError(RuntimeError):
    """The test MySQL server cannot be found, started, used or stopped."""


def _tool(*names: str) -> str | None:
    path = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/usr/local/sbin"])
    for name in names:
        found = shutil.which(name, path=path)
        if found is not None:
            return found
    return None


def unique_database_name(prefix: str = "nanocmd_test") -> str:
    return f"{prefix}_{uuid.uuid4().hex[:16]}"


@dataclass(frozen=True)
class MySQLDatabase:
    """A database of its own with a user of its own (password with an '@', as real ones have)."""

    name: str
    host: str
    port: int
    user: str
    password: str

    def go_dsn(self) -> str:
        """The DSN as NanoCMD's ``-storage-dsn`` takes it (go-sql-driver's format)."""
        return (
            f"{self.user}:{self.password}@tcp({self.host}:{self.port})/{self.name}?parseTime=true"
        )

    def url(self) -> URL:
        return URL.create(
            "mysql+asyncmy",
            username=self.user,
            password=self.password,
            host=self.host,
            port=self.port,
            database=self.name,
        )


class EphemeralMySQL:
    """A MariaDB server for one test session; use as a context manager."""

    def __init__(self, external_url: str | None = None) -> None:
        external_url = external_url or os.environ.get(ENV_URL) or None
        self._external: URL | None = make_url(external_url) if external_url else None
        self._tmpdir: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._port: int | None = None
        self._created: list[str] = []
        self._users: list[str] = []

    def start(self) -> Self:
        if self._external is None and self._process is None:
            self._start_server()
        return self

    def stop(self) -> None:
        created, self._created = self._created, []
        users, self._users = self._users, []
        if self._external is not None:
            drops = [f"DROP DATABASE IF EXISTS `{n}`" for n in created]
            drops += [f"DROP USER IF EXISTS '{u}'@'%'" for u in users]
            if drops:
                run_coroutine(self._admin(*drops))
            return
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=_TIMEOUT_S)
        tmpdir, self._tmpdir = self._tmpdir, None
        if tmpdir is not None:
            shutil.rmtree(tmpdir, ignore_errors=True)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def create_database(self, name: str | None = None) -> MySQLDatabase:
        """An empty database and a user that may do anything in it, reachable over TCP."""
        name = name or unique_database_name()
        if not _NAME.fullmatch(name):
            raise ValueError(f"database name {name!r} must match {_NAME.pattern}")
        admin = self._admin_url()
        user = f"{TEST_USER}_{name[-8:]}"
        run_coroutine(
            self._admin(
                f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4",
                f"CREATE USER '{user}'@'%' IDENTIFIED BY '{TEST_PASSWORD}'",
                f"GRANT ALL ON `{name}`.* TO '{user}'@'%'",
            )
        )
        self._created.append(name)
        self._users.append(user)
        return MySQLDatabase(
            name, admin.host or "127.0.0.1", admin.port or 3306, user, TEST_PASSWORD
        )

    def _admin_url(self) -> URL:
        if self._external is not None:
            return self._external.set(drivername="mysql+asyncmy")
        if self._port is None:
            raise MySQLError("the test MySQL server is not started")
        return URL.create("mysql+asyncmy", username="root", host="127.0.0.1", port=self._port)

    async def _admin(self, *statements: str) -> None:
        engine = create_async_engine(self._admin_url())
        try:
            async with engine.begin() as conn:
                for statement in statements:
                    await conn.execute(text(statement))
        except Exception as exc:
            raise MySQLError(f"{statements[0]!r} failed: {exc}") from exc
        finally:
            await engine.dispose()

    def _start_server(self) -> None:
        server = _tool("mariadbd", "mysqld")
        install = _tool("mariadb-install-db", "mysql_install_db")
        admin = _tool("mariadb-admin", "mysqladmin")
        if server is None or install is None or admin is None:
            raise MySQLError(
                "MariaDB server binaries (mariadbd, mariadb-install-db, mariadb-admin) are "
                "required to run the NanoCMD MySQL import tests but were not found; install the "
                f"Debian package 'mariadb-server' (bash .ci/run does), or set {ENV_URL} to a "
                "server the tests may create databases and users in"
            )
        tmpdir = Path(tempfile.mkdtemp(prefix="mdmflow-mysql-"))
        self._tmpdir = tmpdir
        as_user = ["--user=" + SERVER_USER] if os.geteuid() == 0 else []
        try:
            if os.geteuid() == 0:
                shutil.chown(tmpdir, SERVER_USER, SERVER_USER)
            self._run(
                [
                    install,
                    "--no-defaults",
                    f"--datadir={tmpdir / 'data'}",
                    "--auth-root-authentication-method=normal",
                    "--skip-test-db",
                    *as_user,
                ]
            )
            last: MySQLError | None = None
            for _ in range(_START_ATTEMPTS):
                port = free_port()
                try:
                    self._launch(server, admin, tmpdir, port, as_user)
                except MySQLError as exc:  # most likely the port was taken meanwhile
                    last = exc
                    continue
                self._port = port
                return
            assert last is not None
            raise last
        except BaseException:
            self.stop()
            raise

    def _launch(self, server: str, admin: str, tmpdir: Path, port: int, as_user: list[str]) -> None:
        log = tmpdir / "server.log"
        self._process = subprocess.Popen(
            [
                server,
                "--no-defaults",
                f"--datadir={tmpdir / 'data'}",
                f"--socket={tmpdir / 'mysqld.sock'}",
                f"--pid-file={tmpdir / 'mysqld.pid'}",
                f"--log-error={log}",
                f"--port={port}",
                "--bind-address=127.0.0.1",
                "--skip-log-bin",
                "--innodb-flush-log-at-trx-commit=0",
                "--innodb-doublewrite=0",
                *as_user,
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            # mariadb-admin --wait retries until the server answers (or the process is gone).
            self._run(
                [
                    admin,
                    "--no-defaults",
                    f"--socket={tmpdir / 'mysqld.sock'}",
                    "--user=root",
                    "--wait=60",
                    "--connect-timeout=5",
                    "ping",
                ]
            )
            if self._process.poll() is not None:
                raise MySQLError(f"mariadbd exited with {self._process.returncode}{self._log()}")
        except MySQLError:
            process, self._process = self._process, None
            if process.poll() is None:
                process.kill()
                process.wait(timeout=_TIMEOUT_S)
            raise

    def _run(self, argv: list[str]) -> None:
        try:
            done = subprocess.run(
                argv,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=_TIMEOUT_S,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise MySQLError(f"timed out: {shlex.join(argv)}{self._log()}") from None
        except OSError as exc:
            raise MySQLError(f"cannot run {shlex.join(argv)}: {exc}") from None
        if done.returncode != 0:
            output = (done.stderr.strip() or done.stdout.strip() or "(no output)")[-4000:]
            raise MySQLError(
                f"exit code {done.returncode}: {shlex.join(argv)}\n{output}{self._log()}"
            )

    def _log(self) -> str:
        if self._tmpdir is None:
            return ""
        with contextlib.suppress(OSError):
            tail = (self._tmpdir / "server.log").read_text(errors="replace")[-4000:]
            if tail.strip():
                return f"\nserver log:\n{tail}"
        return ""
