"""The custom search attributes every MDM workflow keeps current (registered by ``mdmflow dev``)."""

from __future__ import annotations

from temporalio.common import SearchAttributeKey, SearchAttributePair, TypedSearchAttributes

ENROLLMENT_ID = SearchAttributeKey.for_keyword("MdmEnrollmentId")
WORKFLOW_NAME = SearchAttributeKey.for_keyword("MdmWorkflowName")
INSTANCE_ID = SearchAttributeKey.for_keyword("MdmInstanceId")
STEP = SearchAttributeKey.for_keyword("MdmStep")

ALL = (ENROLLMENT_ID, WORKFLOW_NAME, INSTANCE_ID, STEP)


def start_attributes(
    workflow_name: str, enrollment_id: str, instance_id: str, first_step: str = ""
) -> TypedSearchAttributes:
    """What a starter sets on a device workflow: with ``first_step`` (its config's), the
    workflow upserts its step only when it changes."""
    pairs = [
        SearchAttributePair(ENROLLMENT_ID, enrollment_id),
        SearchAttributePair(WORKFLOW_NAME, workflow_name),
        SearchAttributePair(INSTANCE_ID, instance_id),
    ]
    if first_step:
        pairs.append(SearchAttributePair(STEP, first_step))
    return TypedSearchAttributes(pairs)
