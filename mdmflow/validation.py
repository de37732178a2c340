"""One sentence from a pydantic ValidationError, for every error a caller can cause.

Only the first problem is reported, as ``field.path: message``, and never the input value
(it may hold a secret such as a SCEP challenge).
"""

from __future__ import annotations

from pydantic import ValidationError


def first_error(exc: ValidationError) -> str:
    first = exc.errors(include_input=False, include_url=False)[0]
    where = ".".join(str(p) for p in first["loc"])
    return f"{where}: {first['msg']}" if where else first["msg"]
