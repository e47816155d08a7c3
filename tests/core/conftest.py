"""Core tests run with Qt blocked: a core code path that reaches for PySide6 fails loudly."""

import importlib.abc
import sys

import pytest

BLOCKED = ("PySide6", "shiboken6", "pyqtgraph", "widgets")


class _QtBlocker(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError(f"{name} imported during a core test: app/ must stay Qt-free")
        return None


@pytest.fixture(autouse=True)
def block_qt():
    blocker = _QtBlocker()
    sys.meta_path.insert(0, blocker)
    yield
    sys.meta_path.remove(blocker)
