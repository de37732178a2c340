"""Temporal workflow definitions: the step engine and the NanoCMD workflows built on it."""
