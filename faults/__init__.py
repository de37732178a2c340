"""The fault suite: mdmflow's real processes started, killed with SIGKILL and restarted.

Temporal's promise is that nothing is lost; this package checks that mdmflow keeps it at the
edges Temporal does not cover (the MDM server's webhooks, the bridge, the app database) by
running the real ``temporal`` dev server, ``mdmflow worker`` and ``mdmflow bridge`` processes
against an in-process simulated MDM server and measuring what each fault costs. ``make
faults`` runs every scenario; ``tests/faults`` runs a short subset in ``make test``.
"""
