"""The core never imports Qt: every module of app/ imports with PySide6 and pyqtgraph blocked."""

import pkgutil
import subprocess
import sys
from pathlib import Path

import app

BLOCKER = """
import importlib.abc, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("PySide6", "shiboken6", "pyqtgraph", "widgets"):
            raise ImportError(f"{name} imported by the Qt-free core")
sys.meta_path.insert(0, Block())
"""


def test_every_app_module_imports_without_qt():
    names = [f"app.{m.name}" for m in pkgutil.iter_modules(app.__path__) if m.name != "__main__"]
    assert len(names) >= 10
    script = BLOCKER + "".join(f"import {name}\n" for name in names) + (
        "assert not any(m.split('.')[0] in ('PySide6', 'pyqtgraph', 'widgets') for m in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            cwd=Path(app.__file__).parent.parent)
    assert result.returncode == 0, result.stderr
