"""The document: the ``.nnproj`` file (JSON, validated, migrated, saved atomically), its weights
file, and the undoable commands that edit the network and the sections.

May import ``app.setup``, ``app.network`` and ``app.data``; never training, interop or the CLI.
"""
