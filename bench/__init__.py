"""``python -m bench``: how much of bare Temporal's step-round budget our own path costs.

Everything runs against one Temporal dev server in one process, so the results are ratios
that cancel out the machine and whatever else it is running. Kept light: the worker's
sandbox imports this package whenever it loads the baseline workflow.
"""
