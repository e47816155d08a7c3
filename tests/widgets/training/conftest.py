"""The window, shown and active (keyboard shortcuts go to the active window), on a session."""

from __future__ import annotations

import pytest

from widgets.main_window import MainWindow
from widgets.session import Session


@pytest.fixture
def window(qtbot):
    def make(session: Session) -> MainWindow:
        window = MainWindow(session, persist_layout=False)
        qtbot.addWidget(window)
        window.show()
        window.activateWindow()
        qtbot.waitActive(window)  # keyboard shortcuts go to the active window
        window.training.panel.wait_for_preview()
        return window

    return make
