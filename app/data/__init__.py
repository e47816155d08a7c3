"""Training data: the built-in synthetic datasets, the user's CSV / NPZ files, the validation
split and deterministic mini-batches.

Imports only torch, numpy and ``app``'s root modules: a bottom layer, beside ``app.network``.
"""
