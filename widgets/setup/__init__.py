"""The settings a run starts from: optimizer and scheduler, initialisation, train / eval mode and
the device.

May import ``app``, the session and the root helpers of ``widgets``; not the other view packages.
"""
