"""NanoCMD's ``-storage-dsn`` (go-sql-driver's format) read as go-sql-driver reads it."""

from __future__ import annotations

import pytest

from mdmflow.nanocmd_import.godsn import DSNError, mysql_url


@pytest.mark.parametrize(
    ("dsn", "expected"),
    [
        (
            "nanocmd:s3cret@tcp(db.example.com:3307)/nanocmd?parseTime=true",
            ("nanocmd", "s3cret", "db.example.com", 3307, "nanocmd", {}),
        ),
        # the last '@' ends the credentials; the first ':' splits user and password
        (
            "admin:p@ss:w@rd@tcp(10.0.0.5)/cmd",
            ("admin", "p@ss:w@rd", "10.0.0.5", 3306, "cmd", {}),
        ),
        ("root@/nanocmd", ("root", None, "127.0.0.1", 3306, "nanocmd", {})),
        ("/nanocmd", (None, None, "127.0.0.1", 3306, "nanocmd", {})),
        ("u:p@tcp([::1]:3306)/x", ("u", "p", "::1", 3306, "x", {})),
        (
            "u:p@unix(/run/mysqld/mysqld.sock)/x?charset=utf8mb4,utf8",
            ("u", "p", "localhost", None, "x", {"charset": "utf8mb4"}),
        ),
        (
            "mysql://u:p@db:3306/nanocmd",
            ("u", "p", "db", 3306, "nanocmd", {}),
        ),
    ],
)
def test_go_dsns_become_urls(dsn: str, expected: tuple[object, ...]) -> None:
    url = mysql_url(dsn)
    user, password, host, port, database, query = expected
    assert url.drivername == "mysql+asyncmy"
    assert (url.username, url.password, url.host, url.port, url.database) == (
        user,
        password,
        host,
        port,
        database,
    )
    assert {k: v for k, v in url.query.items() if k != "unix_socket"} == query


def test_unix_socket_path_is_kept() -> None:
    url = mysql_url("u:p@unix(/run/mysqld/mysqld.sock)/x")
    assert url.query["unix_socket"] == "/run/mysqld/mysqld.sock"


@pytest.mark.parametrize(
    ("dsn", "message"),
    [
        ("", "empty"),
        ("user:pass@tcp(db:3306)", "needs '/<database>'"),
        ("u:p@udp(db:3306)/x", "network 'udp' is not supported"),
        ("u:p@tcp(db:port)/x", "is not a number"),
        ("u:p@tcp(db:3306)/x?tls=true", "tls= in the DSN is not supported"),
    ],
)
def test_unusable_dsns_say_why(dsn: str, message: str) -> None:
    with pytest.raises(DSNError, match=message):
        mysql_url(dsn)
