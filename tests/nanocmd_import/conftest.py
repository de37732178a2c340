"""The MariaDB server for the MySQL import tests: started once per session, only when one of
them runs."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.mysql import EphemeralMySQL


@pytest.fixture(scope="session")
def mysql_server() -> Iterator[EphemeralMySQL]:
    with EphemeralMySQL() as server:
        yield server
