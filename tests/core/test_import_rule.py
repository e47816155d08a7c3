"""The core never imports Qt: every module of app/, in every subpackage, imports with PySide6 and
pyqtgraph blocked."""

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


def core_modules() -> list[str]:
    return [m.name for m in pkgutil.walk_packages(app.__path__, "app.") if m.name != "app.__main__"]


def test_the_walk_reaches_every_subpackage():
    names = core_modules()
    packages = {name.split(".")[1] for name in names if name.count(".") >= 2}
    assert {"network", "data", "setup", "project", "training", "interop", "cli"} <= packages
    assert len(names) >= 60


def test_every_app_module_imports_without_qt():
    script = (
        BLOCKER
        + "".join(f"import {name}\n" for name in core_modules())
        + ("assert not any(m.split('.')[0] in ('PySide6', 'pyqtgraph', 'widgets') for m in sys.modules)\n")
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=Path(app.__file__).parent.parent
    )
    assert result.returncode == 0, result.stderr
