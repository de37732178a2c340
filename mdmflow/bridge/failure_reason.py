"""Why a device workflow ended badly, as a sentence, from its close event.

``describe()`` does not carry a closed workflow's failure; the close event does (one event,
fetched with the close-event filter). The failure is decoded through the client's converter, so
an encrypted failure message reads in clear for an operator who holds the key.
"""

from __future__ import annotations

from temporalio.client import Client, WorkflowHistoryEventFilterType
from temporalio.exceptions import FailureError


def sentence(text: str) -> str:
    """``text`` with a capital first letter and a full stop, so every reason reads alike."""
    text = " ".join(text.split())
    if not text:
        return ""
    text = text[0].upper() + text[1:]
    return text if text[-1] in ".!?" else text + "."


async def failure_reason(client: Client, workflow_id: str, run_id: str | None) -> str | None:
    """The reason the run failed, timed out or was terminated; None for any other ending."""
    handle = client.get_workflow_handle(workflow_id, run_id=run_id)
    events = handle.fetch_history_events(
        event_filter_type=WorkflowHistoryEventFilterType.CLOSE_EVENT
    )
    async for event in events:
        if event.HasField("workflow_execution_failed_event_attributes"):
            failure = event.workflow_execution_failed_event_attributes.failure
            exc = await client.data_converter.decode_failure(failure)
            message = exc.message if isinstance(exc, FailureError) else str(exc)
            return sentence(message) or "The workflow failed without saying why."
        if event.HasField("workflow_execution_timed_out_event_attributes"):
            return "The workflow timed out."
        if event.HasField("workflow_execution_terminated_event_attributes"):
            reason = event.workflow_execution_terminated_event_attributes.reason
            return sentence(f"Terminated: {reason}" if reason else "Terminated")
    return None
