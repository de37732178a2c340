"""Apple's and NanoMDM's example commands rebuild exactly from our command models.

This is what proves our field aliases are Apple's key names: a command validated from a real
``Command`` dictionary (by alias) serializes back to the very same dictionary and plist.
"""

from __future__ import annotations

import plistlib
from pathlib import Path
from typing import Any, get_args

import pytest
from pydantic import TypeAdapter, ValidationError

from mdmflow.mdm import commands
from mdmflow.mdm.commands import AnyCommand, MDMCommand
from tests.conformance.corpus import files, rel, require_corpus

require_corpus()

COMMANDS = files("commands/*.plist", "synthetic/commands/*.plist")
ADAPTER: TypeAdapter[MDMCommand] = TypeAdapter(AnyCommand)
MODELED = {
    cls.model_fields["request_type"].default: cls
    for cls in get_args(get_args(AnyCommand)[0])
    if isinstance(cls, type) and issubclass(cls, MDMCommand)
}


def load(path: Path) -> dict[str, Any]:
    body = plistlib.loads(path.read_bytes())
    assert isinstance(body, dict)
    return body


def test_corpus_has_commands() -> None:
    assert len(COMMANDS) >= 15
    assert len(MODELED) == 10
    assert MODELED["RotateFileVaultKey"] is commands.RotateFileVaultKey


@pytest.mark.parametrize("path", COMMANDS, ids=rel)
def test_command_round_trips_through_model(path: Path) -> None:
    body = load(path)
    command = body["Command"]
    request_type = command["RequestType"]
    assert path.name.startswith(f"{request_type}--")
    if request_type not in MODELED:
        with pytest.raises(ValidationError):
            ADAPTER.validate_python(command, by_alias=True)
        return
    model = ADAPTER.validate_python(command, by_alias=True)
    assert type(model) is MODELED[request_type]
    assert model.command_dict() == command
    assert plistlib.loads(model.to_plist(body["CommandUUID"])) == body
    # Through Temporal's JSON and back, still the same command.
    assert ADAPTER.validate_json(ADAPTER.dump_json(model)) == model
