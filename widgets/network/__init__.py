"""Views of the network spec: the layer palette, the network tree, the properties form and the
block diagram.

May import ``app``, the session and the root helpers of ``widgets``; not the other view packages.
"""
