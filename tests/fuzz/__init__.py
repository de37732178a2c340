"""Seeded fuzzing of the webhook edge: one body generator for the property tests and for
``python -m tests.fuzz``, the runner that posts 10,000+ bodies to a running bridge."""
