"""``python -m bench``: mdmflow against bare Temporal, like for like, as ratios.

Every scenario runs both sides on this machine in the same run, so the ratios cancel out the
machine and whatever else it is running: (a) K steps in one workflow, (b) start → step →
complete, (c) a fleet start, (e) latency at N=1 in one process on one dev server; (d) memory
per parked device and CPU per round by process with every part its own process. Kept light:
the worker's sandbox imports this package whenever it loads a bench workflow.
"""
