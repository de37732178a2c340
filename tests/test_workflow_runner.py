"""The compact runner hands the SDK's instance its own copy of each activation (a start's
without search attributes and memo, which ``workflow.info()`` already holds) and sends a copy
of the completion the instance returned, so the instance keeps no reference into the worker's
messages (each such reference keeps a whole protobuf message, payloads and all, alive)."""

from __future__ import annotations

from temporalio.api.common.v1 import Payload
from temporalio.bridge.proto.workflow_activation import WorkflowActivation
from temporalio.bridge.proto.workflow_completion import WorkflowActivationCompletion
from temporalio.converter import SerializationContext, StorageDriverStoreContext
from temporalio.worker import WorkflowInstance
from temporalio.worker._command_aware_visitor import CommandInfo
from temporalio.workflow import Info

from mdmflow.workflow_runner import CompactWorkflowInstance, compact_activation


class RecordingInstance(WorkflowInstance):
    """Keeps what it was given and what it returned, as the SDK's instance does."""

    def __init__(self) -> None:
        self.given: list[WorkflowActivation] = []
        self.returned: list[WorkflowActivationCompletion] = []

    def activate(self, act: WorkflowActivation) -> WorkflowActivationCompletion:
        self.given.append(act)
        completion = WorkflowActivationCompletion(run_id=act.run_id)
        completion.successful.commands.add().start_timer.seq = 1
        self.returned.append(completion)
        return completion

    def get_serialization_context(
        self, command_info: CommandInfo | None
    ) -> SerializationContext | None:
        return None

    def get_external_store_context(
        self, command_info: CommandInfo | None
    ) -> StorageDriverStoreContext:
        raise NotImplementedError

    def get_info(self) -> Info:
        raise NotImplementedError


def start_activation() -> WorkflowActivation:
    act = WorkflowActivation(run_id="run-1")
    init = act.jobs.add().initialize_workflow
    init.workflow_type = "io.micromdm.wf.devinfolog.v1"
    init.arguments.add().CopyFrom(Payload(data=b"start input"))
    init.search_attributes.indexed_fields["MdmEnrollmentId"].CopyFrom(Payload(data=b'"A"'))
    init.memo.fields["note"].CopyFrom(Payload(data=b"memo"))
    init.headers["trace"].CopyFrom(Payload(data=b"header"))
    return act


def test_a_start_is_copied_without_search_attributes_and_memo() -> None:
    original = start_activation()
    compact = compact_activation(original)
    init = compact.jobs[0].initialize_workflow
    assert compact is not original
    assert init.arguments[0].data == b"start input"
    assert init.headers["trace"].data == b"header"
    assert not init.HasField("search_attributes")
    assert not init.HasField("memo")
    assert original.jobs[0].initialize_workflow.HasField("search_attributes"), "left untouched"


def test_the_instance_keeps_copies_only() -> None:
    inner = RecordingInstance()
    instance = CompactWorkflowInstance(inner)
    signal = WorkflowActivation(run_id="run-1")
    signal.jobs.add().signal_workflow.signal_name = "mdm_command_report"
    for act in (start_activation(), signal):
        sent = instance.activate(act)
        assert inner.given[-1] is not act
        assert inner.given[-1].run_id == act.run_id
        assert len(inner.given[-1].jobs) == len(act.jobs)
        assert sent is not inner.returned[-1]
        assert sent == inner.returned[-1]
