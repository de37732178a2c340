"""Tell a Temporal outage (try again later) from a refusal (trying again cannot help).

Only an outage may keep a webhook in the intake for another attempt or make an API call
answer 503; a refusal (a payload Temporal will not take, a bad query) is the request's own
fault and is reported as what it is.
"""

from __future__ import annotations

from temporalio.service import RPCError, RPCStatusCode

_OUTAGE = frozenset(
    {
        RPCStatusCode.UNAVAILABLE,
        RPCStatusCode.DEADLINE_EXCEEDED,
        RPCStatusCode.RESOURCE_EXHAUSTED,
        RPCStatusCode.ABORTED,
        RPCStatusCode.CANCELLED,
        RPCStatusCode.INTERNAL,
        RPCStatusCode.UNKNOWN,
    }
)


def is_temporal_outage(exc: BaseException) -> bool:
    """True for RPC failures that say the server is down, overloaded or cut off."""
    return isinstance(exc, RPCError) and exc.status in _OUTAGE
