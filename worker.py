"""``python worker.py`` runs the mdmflow Temporal worker (the same as ``mdmflow worker``)."""

from mdmflow.cli.main import main

if __name__ == "__main__":
    main(["worker"])
