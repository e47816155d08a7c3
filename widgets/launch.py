"""Start the desktop app (``nnstudio [PROJECT]``), or render it to a PNG (``--screenshot``)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

SCREENSHOT_SIZE = (1600, 1000)


def launch(project: str | None, screenshot: str | None = None) -> int:
    if screenshot is not None and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # no display needed for a screenshot
    from PySide6.QtWidgets import QApplication

    from app.project.project_file import load_project
    from widgets.main_window import MainWindow
    from widgets.session import Session
    from widgets.threads import serial_gui_thread

    serial_gui_thread()  # before any torch work on this thread: see widgets.threads
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setOrganizationName("nnstudio")
    app.setApplicationName("nnstudio")
    session = Session(load_project(project), Path(project)) if project else Session()
    window = MainWindow(session, persist_layout=screenshot is None, welcome=not project)
    if screenshot is None:
        window.show()
        return app.exec()
    return save_screenshot(app, window, Path(screenshot))


def bench_tree() -> dict:
    from widgets.bench.tree import bench_tree as measure

    return measure()


def save_screenshot(app, window, path: Path) -> int:
    window.resize(*SCREENSHOT_SIZE)
    window.show()
    window.training.panel.wait_for_preview()  # the data preview is generated on a worker thread
    for _ in range(5):  # layouts, the deferred analysis and the diagram settle over a few turns
        app.processEvents()
    image = window.grab()
    if not image.save(str(path)):
        raise OSError(f"cannot write the screenshot to {path}")
    print(f"screenshot: {path} ({image.width()}x{image.height()})")
    window.close()
    return 0


def bench_gui() -> dict:
    from widgets.bench.gui import bench_gui as measure

    return measure()
