"""NanoCMD's ``-storage-dsn`` for MySQL (Go's go-sql-driver format) as a SQLAlchemy URL.

An admin copies the DSN NanoCMD runs with (``user:pass@tcp(db.example.com:3306)/nanocmd``) and
the importer connects with the same credentials. ``mysql://`` URLs work too.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs

from sqlalchemy.engine import URL, make_url

DRIVER = "mysql+asyncmy"
_NET_ADDR = re.compile(r"(?P<net>[A-Za-z0-9_]+)(?:\((?P<addr>.*)\))?")
_DEFAULT_ADDR = {"tcp": "127.0.0.1:3306", "unix": "/tmp/mysql.sock"}


class DSNError(ValueError):
    """The DSN is in neither Go's MySQL format nor a ``mysql://`` URL; the text says why."""


def mysql_url(dsn: str) -> URL:
    """The URL to connect to NanoCMD's MySQL database with (driver ``asyncmy``)."""
    text = dsn.strip()
    if not text:
        raise DSNError("the MySQL DSN is empty")
    if re.match(r"^mysql(\+\w+)?://", text):
        try:
            return make_url(text).set(drivername=DRIVER)
        except Exception as exc:
            raise DSNError(f"not a MySQL URL: {exc}") from None
    return _from_go_dsn(text)


def _from_go_dsn(dsn: str) -> URL:
    # [user[:password]@][net[(addr)]]/dbname[?param=value&...]; as Go's parser: the last '/'
    # ends the address, the last '@' before it ends the credentials.
    slash = dsn.rfind("/")
    if slash < 0:
        raise DSNError("a Go MySQL DSN needs '/<database>' (user:pass@tcp(host:3306)/nanocmd)")
    head, tail = dsn[:slash], dsn[slash + 1 :]
    database, _, query_text = tail.partition("?")
    at = head.rfind("@")
    credentials, net_addr = (head[:at], head[at + 1 :]) if at >= 0 else ("", head)
    user, _, password = credentials.partition(":")
    match = _NET_ADDR.fullmatch(net_addr or "tcp")
    if match is None:
        raise DSNError(f"cannot read the address {net_addr!r} (expected tcp(host:port))")
    net = match["net"]
    if net not in _DEFAULT_ADDR:
        raise DSNError(f"network {net!r} is not supported; use tcp(host:port) or unix(/path)")
    addr = match["addr"] or _DEFAULT_ADDR[net]
    query: dict[str, str] = {}
    params = {key: values[-1] for key, values in parse_qs(query_text).items()}
    if params.get("tls", "false") != "false":
        raise DSNError("tls= in the DSN is not supported by the importer; connect without TLS")
    if "charset" in params:
        query["charset"] = params["charset"].split(",")[0]
    host: str | None
    port: int | None
    if net == "unix":
        host, port, query["unix_socket"] = "localhost", None, addr
    else:
        host, port = _host_port(addr)
    return URL.create(
        DRIVER,
        username=user or None,
        password=password or None,
        host=host,
        port=port,
        database=database or None,
        query=query,
    )


def _host_port(addr: str) -> tuple[str, int]:
    if addr.startswith("["):  # [::1]:3306
        host, _, rest = addr[1:].partition("]")
        port_text = rest.removeprefix(":")
    else:
        host, _, port_text = addr.rpartition(":") if ":" in addr else (addr, "", "")
    if port_text and not port_text.isdigit():
        raise DSNError(f"the port in {addr!r} is not a number")
    return host or "127.0.0.1", int(port_text) if port_text else 3306
