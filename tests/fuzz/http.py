"""Post fuzzed bodies to a bridge's ``/webhook`` and count its answers by status class.

Shared by the HTTP property test and ``python -m tests.fuzz``. Besides the counts it keeps
what must never happen: a 5xx or no answer at all, and a body the pure edge refuses (a limit)
that the bridge nevertheless answered 2xx.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

import httpx

from tests.fuzz.edge import DOCUMENTED, read

SIGNATURE_HEADER = "X-Hmac-Signature"


@dataclass(frozen=True)
class Failure:
    index: int
    kind: str
    status: int | None
    """None when the bridge gave no answer (connection error or timeout)."""
    reason: str


@dataclass
class Tally:
    by_class: Counter[str] = field(default_factory=Counter)
    by_status: Counter[int] = field(default_factory=Counter)
    by_kind: dict[str, Counter[str]] = field(default_factory=dict)
    failures: list[Failure] = field(default_factory=list)
    """5xx answers and bodies without an answer."""
    leaks: list[Failure] = field(default_factory=list)
    """Bodies the pure edge refuses that the bridge answered 2xx."""

    @property
    def total(self) -> int:
        return sum(self.by_class.values())

    def add(self, index: int, kind: str, status: int | None, reason: str, refused: bool) -> None:
        klass = "no answer" if status is None else f"{status // 100}xx"
        self.by_class[klass] += 1
        self.by_kind.setdefault(kind, Counter())[klass] += 1
        if status is not None:
            self.by_status[status] += 1
        if status is None or status >= 500:
            self.failures.append(Failure(index, kind, status, reason))
        elif refused and status < 300:
            self.leaks.append(Failure(index, kind, status, reason))

    def summary(self) -> str:
        """One line: the figure to quote."""
        classes = ", ".join(f"{k} {self.by_class[k]}" for k in ("2xx", "4xx", "5xx", "no answer"))
        statuses = ", ".join(f"{s}: {n}" for s, n in sorted(self.by_status.items()))
        leaks = len(self.leaks)
        return f"{self.total} bodies: {classes} ({statuses}); edge refusals answered 2xx: {leaks}"

    def table(self) -> str:
        """Answers per kind of body, one line each."""
        lines = []
        for kind, counts in sorted(self.by_kind.items()):
            cells = "  ".join(f"{k} {counts[k]:5d}" for k in ("2xx", "4xx", "5xx", "no answer"))
            lines.append(f"{kind:16s} {cells}")
        return "\n".join(lines)


def signature_headers(key: str, body: bytes) -> dict[str, str]:
    """NanoMDM's ``X-Hmac-Signature`` for ``body``, or no header without a key."""
    if not key:
        return {}
    digest = hmac.new(key.encode(), body, hashlib.sha256).digest()
    return {SIGNATURE_HEADER: base64.b64encode(digest).decode()}


def edge_refuses(body: bytes) -> bool:
    """Whether the pure parsers refuse ``body`` (so the bridge must answer 4xx)."""
    try:
        read(body)
    except DOCUMENTED:
        return True
    return False


async def post_all(
    http: httpx.AsyncClient,
    url: str,
    items: Iterable[tuple[str, bytes]],
    *,
    concurrency: int = 4,
    hmac_key: str = "",
    tally: Tally | None = None,
) -> Tally:
    """Post every (kind, body) to ``url``, ``concurrency`` at a time; count the answers."""
    tally = tally or Tally()
    slots = asyncio.Semaphore(concurrency)

    async def one(index: int, kind: str, body: bytes) -> None:
        refused = await asyncio.to_thread(edge_refuses, body)
        try:
            reply = await http.post(url, content=body, headers=signature_headers(hmac_key, body))
        except httpx.HTTPError as exc:
            tally.add(index, kind, None, f"{type(exc).__name__}: {exc}", refused)
        else:
            tally.add(index, kind, reply.status_code, reply.text[:300], refused)
        finally:
            slots.release()

    tasks = []
    for index, (kind, body) in enumerate(items):
        await slots.acquire()
        tasks.append(asyncio.create_task(one(index, kind, body)))
    await asyncio.gather(*tasks)
    return tally
