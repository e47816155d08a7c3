"""What PyTorch sees: the summary, the parameter and buffer tree, a module's internals, the code
view and the read-only view of a Python model.

May import ``app``, the session and the root helpers of ``widgets``; not the other view packages.
"""
