"""A per-enrollment command queue with NanoMDM's semantics.

A command leaves the queue only with a final status (Acknowledged, Error, CommandFormatError).
NotNow keeps it queued; the session that got NotNow skips it (the caller passes the skipped
UUIDs), so the next session, after the next push, offers it again. A CommandUUID is accepted
once per enrollment, even after it completed, as NanoMDM's storage keeps completed commands.
"""

from __future__ import annotations

from collections.abc import Container, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from mdmflow.mdm.plist import PlistError, load_dict


class CommandDecodeError(ValueError):
    """The enqueued body is not a command plist with CommandUUID and Command.RequestType."""


class InvalidCommandError(CommandDecodeError):
    """The plist parses but lacks CommandUUID or Command.RequestType."""


class DuplicateCommandError(ValueError):
    """The CommandUUID was already enqueued to this enrollment."""


@dataclass(frozen=True, slots=True)
class PendingCommand:
    """The exact bytes a server enqueued plus their parsed form (shared by all targets)."""

    uuid: str
    request_type: str
    raw: bytes
    plist: Mapping[str, Any]


def decode_command(raw: bytes) -> PendingCommand:
    """Parse only what an MDM server checks: the plist, CommandUUID and RequestType."""
    try:
        plist = load_dict(raw)
    except PlistError as exc:
        raise CommandDecodeError(str(exc)) from None
    command_uuid = plist.get("CommandUUID")
    body = plist.get("Command")
    request_type = body.get("RequestType") if isinstance(body, dict) else None
    if not isinstance(command_uuid, str) or not command_uuid:
        raise InvalidCommandError("invalid command")
    if not isinstance(request_type, str) or not request_type:
        raise InvalidCommandError("invalid command")
    return PendingCommand(command_uuid, request_type, raw, plist)


class CommandQueue:
    """Commands waiting for one enrollment, in enqueue order."""

    __slots__ = ("_pending", "_seen")

    def __init__(self) -> None:
        self._pending: dict[str, PendingCommand] = {}
        self._seen: set[str] = set()

    def add(self, command: PendingCommand) -> None:
        if command.uuid in self._seen:
            raise DuplicateCommandError(f"command already exists: {command.uuid}")
        self._seen.add(command.uuid)
        self._pending[command.uuid] = command

    def next(self, skip: Container[str]) -> PendingCommand | None:
        """The oldest command not in ``skip`` (the UUIDs this session got NotNow for)."""
        return next((cmd for uuid, cmd in self._pending.items() if uuid not in skip), None)

    def finish(self, command_uuid: str) -> None:
        """Drop a command that got a final status."""
        self._pending.pop(command_uuid, None)

    def clear(self) -> None:
        self._pending.clear()

    def __iter__(self) -> Iterator[PendingCommand]:
        return iter(list(self._pending.values()))
