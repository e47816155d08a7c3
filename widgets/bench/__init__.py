"""Benchmarks of the window (``nnstudio bench gui``, ``nnstudio bench tree``): they print JSON.

The top of ``widgets``: they drive the main window or a panel offscreen.
"""
