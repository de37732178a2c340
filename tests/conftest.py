"""Shared test configuration."""

pytest_plugins = ["tests.support.databases", "tests.support.temporal"]
