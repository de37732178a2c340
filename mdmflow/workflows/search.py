"""The custom search attributes every MDM workflow keeps current (registered by ``mdmflow dev``)."""

from __future__ import annotations

from temporalio.common import SearchAttributeKey

ENROLLMENT_ID = SearchAttributeKey.for_keyword("MdmEnrollmentId")
WORKFLOW_NAME = SearchAttributeKey.for_keyword("MdmWorkflowName")
INSTANCE_ID = SearchAttributeKey.for_keyword("MdmInstanceId")
STEP = SearchAttributeKey.for_keyword("MdmStep")

ALL = (ENROLLMENT_ID, WORKFLOW_NAME, INSTANCE_ID, STEP)
