"""The network: the spec, the layer catalog and its argument types, the glue blocks, building a
spec into torch modules and recovering one from them, analysis on the meta device (shapes,
FLOPs, what autograd saves), lint, input shapes and a user's own Python module.

Imports only the standard library, torch and ``app``'s root modules (errors): the bottom layer.
"""
