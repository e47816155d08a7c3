"""Training runs: a project prepared for a run, the engine (an iterator of events), probes and
their statistics, checkpoints, evaluation, devices in use (DataParallel, DDP), the live run a
window drives and the series it plots, and the decision boundary.

May import ``app.project`` and the layers below it; never interop or the CLI.
"""
