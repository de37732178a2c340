"""How one command of a content workflow ended, as its result reports it.

NanoCMD only logs a count per status when these workflows end; here every command's outcome
is part of the workflow result (readable in the Web UI and with ``temporal workflow result``),
with the device's error chain when it refused.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from mdmflow.mdm.reports import CommandStatus, ErrorChainItem
from mdmflow.workflows.models import CommandResult


class CommandOutcome(BaseModel):
    """One command's end: ``status`` is None when no final answer (Acknowledged, Error,
    CommandFormatError) came before the step timeout; NotNow is not an answer."""

    model_config = ConfigDict(frozen=True)
    request_type: str
    target: str = ""
    """What the command was about: a profile name, a manifest URL; empty for DeviceConfigured."""
    command_uuid: str
    status: CommandStatus | None = None
    error_chain: list[ErrorChainItem] = Field(default_factory=list)

    @property
    def acknowledged(self) -> bool:
        return self.status is CommandStatus.ACKNOWLEDGED

    def problem(self) -> str:
        """One sentence for a command that did not succeed (empty when it did)."""
        if self.acknowledged:
            return ""
        if self.status is None or not self.status.is_final:
            return "the device did not answer before the step timeout"
        chain = "; ".join(
            f"{e.localized_description or e.us_english_description or ''} "
            f"({e.error_domain} {e.error_code})".strip()
            for e in self.error_chain
        )
        return f"the device answered {self.status}" + (f": {chain}" if chain else "")


def outcome(result: CommandResult, target: str = "") -> CommandOutcome:
    return CommandOutcome(
        request_type=result.request_type,
        target=target,
        command_uuid=result.command_uuid,
        status=result.status if result.status is None or result.status.is_final else None,
        error_chain=result.error_chain,
    )


def status_counts(outcomes: list[CommandOutcome]) -> dict[str, int]:
    """NanoCMD's ``count_<status>`` log fields, with ``NoAnswer`` for unanswered commands."""
    counts: dict[str, int] = {}
    for item in outcomes:
        key = str(item.status) if item.status is not None else "NoAnswer"
        counts[key] = counts.get(key, 0) + 1
    return counts
