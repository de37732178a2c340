"""Await workflows the bridge starts with IDs a test cannot know (event-handler deliveries).

The bridge starts each event-handler workflow as ``<handler>/<enrollment ID>/<random UUID>``.
Visibility (``list_workflows``) would find it only eventually, which means polling. Instead
``running_stack`` gives its client a :class:`StartRecorder` among its interceptors (as the SDK's
own test environments add theirs): every start made through that client, the bridge's included,
is remembered as ``stack.started``, so a test long-polls the handler's result like any other
workflow's. Nothing is faked: the interceptor only watches.

The bridge awaits an AllCommandResponse delivery's start *before* it signals the command's
workflow, so once that workflow has the report (a signal in its history, or its result), the
handler's start is already recorded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeVar

from temporalio.client import (
    Client,
    Interceptor,
    OutboundInterceptor,
    StartWorkflowInput,
    WorkflowHandle,
)

R = TypeVar("R")


@dataclass(frozen=True)
class Started:
    workflow_type: str
    workflow_id: str


@dataclass
class StartRecorder(Interceptor):
    """A client interceptor remembering each workflow started through the client, in order."""

    started: list[Started] = field(default_factory=list)

    def intercept_client(self, next: OutboundInterceptor) -> OutboundInterceptor:
        return _Recording(next, self.started)

    def ids(self, workflow_type: str, id_prefix: str = "") -> list[str]:
        return [
            s.workflow_id
            for s in self.started
            if s.workflow_type == workflow_type and s.workflow_id.startswith(id_prefix)
        ]

    async def results(
        self, client: Client, workflow_type: str, result_type: type[R], id_prefix: str = ""
    ) -> list[R]:
        """The results of the recorded workflows of this type, each awaited (long-poll)."""
        found = []
        for workflow_id in self.ids(workflow_type, id_prefix):
            handle: WorkflowHandle[Any, R] = client.get_workflow_handle(
                workflow_id, result_type=result_type
            )
            found.append(await handle.result())
        return found


class _Recording(OutboundInterceptor):
    def __init__(self, next: OutboundInterceptor, started: list[Started]) -> None:
        super().__init__(next)
        self._started = started

    async def start_workflow(self, input: StartWorkflowInput) -> WorkflowHandle[Any, Any]:
        handle = await super().start_workflow(input)
        self._started.append(Started(input.workflow, handle.id))
        return handle


def recording_client(client: Client, recorder: StartRecorder) -> Client:
    """The same connection, namespace and converter as ``client``, with ``recorder`` added."""
    config = client.config()
    config["interceptors"] = [*config["interceptors"], recorder]
    return Client(**config)
