"""Failures that end a workflow (never retried): the workflow cannot go on with this input."""

from __future__ import annotations


class ContextError(ValueError):
    """The start context is not valid for this workflow; starters check it before starting."""
