"""nnstudio's PySide6 views: thin shells over the Qt-free core in ``app``."""
