"""Command-line front: start workflows (one ID or a fleet) and run the local stack."""
