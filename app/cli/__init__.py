"""The ``nnstudio`` command: its subcommands, headless runs with progress, and the benchmarks.

The top layer: may import every other package of ``app``. Its one import of ``widgets`` is the
lazy launch of the desktop app (``app.cli.main`` -> ``widgets.launch``), named in the contract.
"""
