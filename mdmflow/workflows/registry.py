"""Every MDM workflow the worker runs and the bridge can start, by NanoCMD name."""

from __future__ import annotations

from typing import Any

from mdmflow.workflows.certprof import CertProfWorkflow
from mdmflow.workflows.cmdplan import CmdPlanWorkflow
from mdmflow.workflows.devinfolog import DevInfoLogWorkflow
from mdmflow.workflows.engine import MDMWorkflow
from mdmflow.workflows.event_handlers import MDMEventHandler
from mdmflow.workflows.fvenable import FileVaultEnableWorkflow
from mdmflow.workflows.fvrotate import FileVaultRotateWorkflow
from mdmflow.workflows.inventory import InventoryEventsWorkflow, InventoryWorkflow
from mdmflow.workflows.lock import LockWorkflow
from mdmflow.workflows.profile import ProfileWorkflow

WorkflowClass = type[MDMWorkflow[Any, Any]]

WORKFLOWS: dict[str, WorkflowClass] = {
    cls.config.name: cls
    for cls in (
        DevInfoLogWorkflow,
        InventoryWorkflow,
        ProfileWorkflow,
        CmdPlanWorkflow,
        CertProfWorkflow,
        LockWorkflow,
        FileVaultEnableWorkflow,
        FileVaultRotateWorkflow,
    )
}
"""The workflows the API, the CLI and event subscriptions can start, by NanoCMD name."""

EVENT_HANDLERS: tuple[type[MDMEventHandler], ...] = (InventoryEventsWorkflow,)
"""Event-handler workflows; the bridge starts one per event they declared."""


class UnknownWorkflowError(LookupError):
    def __init__(self, name: str) -> None:
        super().__init__(f"no such workflow: {name}")
        self.name = name


def workflow_class(name: str) -> WorkflowClass:
    try:
        return WORKFLOWS[name]
    except KeyError:
        raise UnknownWorkflowError(name) from None
